// Package e2e tests Ironstar from the outside: it builds the real binary,
// starts it on a random port with a temporary DATA_DIR (embedded NATS with
// file storage), and drives it over HTTP and through Debian's Chromium.
package e2e
