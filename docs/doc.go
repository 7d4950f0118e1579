// Package docs is Ironstar's manual: Markdown pages a newcomer reads in
// order (README.md is the map). It holds no code; its test checks that every
// path, task, test and setting the pages name still exists, so the docs cannot
// drift from the repository unnoticed.
package docs
