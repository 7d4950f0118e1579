package router

import (
	"net/http"

	"ironstar/session"
)

// streamOwner is the key a stream counts against for the per-session cap:
// the session's public ID, or none on pages without a session (whose
// streams count against the process's cap only).
func streamOwner(r *http.Request) string {
	sess, _ := session.FromContext(r.Context())
	return sess.PublicID
}
