//ironstar:needs template

package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"unicode/utf8"
)

// tree is a repository's files by slash-separated path.
type tree map[string]file

// file is one file's content and permissions.
type file struct {
	data []byte
	mode fs.FileMode
}

// text reports whether f is text new may edit (UTF-8, no NUL), not an
// image or other binary file it copies as is.
func (f file) text() bool {
	return utf8.Valid(f.data) && !bytes.Contains(f.data, []byte{0})
}

// readTracked reads the files git tracks in root, as they are in the
// working tree: build outputs, node_modules and data never come along.
func readTracked(ctx context.Context, root string) (tree, error) {
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	t := tree{}
	for name := range bytes.SplitSeq(bytes.TrimSuffix(out, []byte{0}), []byte{0}) {
		p := string(name)
		info, err := os.Lstat(filepath.Join(root, p))
		if os.IsNotExist(err) {
			continue // deleted in the working tree, not yet committed
		}
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: only regular files can be copied", p)
		}
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return nil, err
		}
		t[p] = file{data: data, mode: info.Mode().Perm()}
	}
	return t, nil
}

// write puts every file under dir.
func (t tree) write(dir string) error {
	for p, f := range t {
		out := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// exists reports whether p names a file or a folder of the tree.
func (t tree) exists(p string) bool {
	p = filepath.ToSlash(filepath.Clean(p))
	if _, ok := t[p]; ok {
		return true
	}
	prefix := p + "/"
	if p == "." {
		return true
	}
	for name := range t {
		if len(name) > len(prefix) && name[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
