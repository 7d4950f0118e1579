package operator

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"ironstar/features/common/layouts"
)

// HomePath is where a signed-in operator lands: the event log.
const HomePath = "/events"

// maxSignInBody bounds the sign-in form's body.
const maxSignInBody = 4 << 10

// Routes mounts the sign-in form and sign-out, when operators sign in (a
// token is set); nothing otherwise.
func (g *Gate) Routes(r chi.Router, logger *slog.Logger) {
	if !g.SignIn() {
		return
	}
	r.Get(SignInPath, func(w http.ResponseWriter, r *http.Request) {
		g.renderSignIn(w, r, logger, http.StatusOK, "")
	})
	r.Post(SignInPath, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxSignInBody)
		token := strings.TrimSpace(r.PostFormValue("token"))
		if subtle.ConstantTimeCompare([]byte(token), g.token) != 1 {
			logger.WarnContext(r.Context(), "operator: sign-in refused")
			g.renderSignIn(w, r, logger, http.StatusForbidden, "That is not the token.")
			return
		}
		g.setCookie(w, r)
		logger.InfoContext(r.Context(), "operator: signed in")
		http.Redirect(w, r, HomePath, http.StatusSeeOther)
	})
	r.Post("/operator/sign-out", func(w http.ResponseWriter, r *http.Request) {
		dropCookies(w)
		http.Redirect(w, r, SignInPath, http.StatusSeeOther)
	})
}

func (g *Gate) renderSignIn(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page := layouts.Page{Title: "Operator sign-in", Path: r.URL.Path}
	if err := signInPage(page, g.Allows(r), problem).Render(r.Context(), w); err != nil {
		logger.WarnContext(r.Context(), "render sign-in", "err", err)
	}
}
