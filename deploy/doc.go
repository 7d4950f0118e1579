// Package deploy holds the deployment recipes: the Caddyfile that the
// cluster demo, the cluster tests and the compose file all run, the
// Dockerfile of the images, and compose.yaml. It holds no code; its test
// parses the recipes and checks them against the cluster task, go.mod and
// the settings the app reads, since Docker itself may not be at hand.
package deploy
