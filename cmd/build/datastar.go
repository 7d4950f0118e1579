package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// The Datastar browser client comes from the Go module proxy: the module
// github.com/starfederation/datastar carries bundles/datastar.js, and npm
// has no v1 client. Since v1.0 that module holds no Go package (its Go SDK
// moved to datastar-go), so nothing can keep it in go.mod across
// `go mod tidy`; its version and the hash of its zip (the line go.sum would
// hold) are pinned here instead, and every download is checked against the
// hash. `go tool task datastar:update -- v1.0.2` moves both to another
// version the proxy serves.
const (
	datastarMod     = "github.com/starfederation/datastar"
	datastarVersion = "v1.0.2"
	datastarSum     = "h1:v32nHpEFoAcHV+LqO/KdWmbh5M7UQp6SQLCn0l8HqsQ="
	datastarFile    = "bundles/datastar.js"
)

// downloadDatastar fetches version of the client's module, if the module
// cache lacks it, and returns its directory and the hash of its zip. The
// checksum database is not asked (it may not know the module: this package
// checks the hash itself).
func downloadDatastar(ctx context.Context, version string) (dir, sum string, err error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", datastarMod+"@"+version)
	cmd.Env = append(os.Environ(), "GONOSUMDB="+datastarMod, "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var mod struct{ Dir, Sum, Error string }
	if jsonErr := json.Unmarshal(out, &mod); jsonErr == nil && mod.Error != "" {
		return "", "", fmt.Errorf("go mod download %s@%s: %s", datastarMod, version, mod.Error)
	}
	if err != nil {
		if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
			return "", "", fmt.Errorf("go mod download %s@%s: %s", datastarMod, version, exitErr.Stderr)
		}
		return "", "", fmt.Errorf("go mod download %s@%s: %w", datastarMod, version, err)
	}
	if mod.Dir == "" || mod.Sum == "" {
		return "", "", fmt.Errorf("go mod download %s@%s: no directory or hash in %s", datastarMod, version, out)
	}
	return mod.Dir, mod.Sum, nil
}

// copyDatastar copies the pinned client into the static folder, after
// checking its module against the pinned hash. Its source map comes along
// in dev builds only; production drops the map and the comment pointing to
// it.
func copyDatastar(ctx context.Context, dev bool) error {
	dir, sum, err := downloadDatastar(ctx, datastarVersion)
	if err != nil {
		return err
	}
	if sum != datastarSum {
		return fmt.Errorf("datastar %s: the module's hash is %s, not the pinned %s: refusing it", datastarVersion, sum, datastarSum)
	}
	names := []string{datastarFile}
	if dev {
		names = append(names, datastarFile+".map")
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("datastar %s: %w", datastarVersion, err)
		}
		if !dev {
			data = sourceMapComment.ReplaceAll(data, nil)
		}
		if err := os.WriteFile(filepath.Join(outDir, filepath.Base(name)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sourceMapComment is a bundle's closing pointer to its source map.
var sourceMapComment = regexp.MustCompile(`(?m)^//# sourceMappingURL=\S+\s*$`)

// updateDatastar pins version: it downloads it, checks that it carries the
// bundle, and rewrites datastarVersion and datastarSum in this file (the
// hash is taken on first use, as go.sum takes it; review the diff).
func updateDatastar(ctx context.Context, version, file string) error {
	dir, sum, err := downloadDatastar(ctx, version)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, datastarFile)); err != nil {
		return fmt.Errorf("datastar %s has no %s: %w", version, datastarFile, err)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	src = pinnedVersion.ReplaceAll(src, []byte(`${1}"`+version+`"`))
	src = pinnedSum.ReplaceAll(src, []byte(`${1}"`+sum+`"`))
	return os.WriteFile(file, src, 0o644)
}

var (
	pinnedVersion = regexp.MustCompile(`(?m)^(\tdatastarVersion\s*=\s*)"[^"]*"`)
	pinnedSum     = regexp.MustCompile(`(?m)^(\tdatastarSum\s*=\s*)"[^"]*"`)
)
