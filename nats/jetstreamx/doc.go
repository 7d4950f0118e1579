// Package jetstreamx holds what the app adds to nats.go's jetstream package:
// reading a key from its bucket's leader (KVGet) and telling an error worth
// asking again from an answer (Transient). It imports no server code, so the
// packages that use it do not link nats-server.
package jetstreamx
