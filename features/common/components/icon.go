package components

import (
	"bytes"
	"context"
	"io"
	"regexp"

	"github.com/a-h/templ"

	"ironstar/web/resources"
)

// Icon inlines a Lucide icon (a name from package icons), sized by CSS
// (.lucide) and hidden from screen readers: put the meaning in the text
// or an aria-label next to it.
func Icon(name string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		svg, err := resources.ReadFile("dist/icons/" + name + ".svg")
		if err != nil {
			return err
		}
		_, err = w.Write(compactSVG(svg))
		return err
	})
}

var (
	svgComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	svgSpace   = regexp.MustCompile(`\s+`)
)

// compactSVG drops comments and folds white space, and hides the icon from
// assistive technology.
func compactSVG(svg []byte) []byte {
	svg = svgComment.ReplaceAll(svg, nil)
	svg = bytes.TrimSpace(svgSpace.ReplaceAll(svg, []byte(" ")))
	svg = bytes.ReplaceAll(svg, []byte("> <"), []byte("><"))
	return bytes.Replace(svg, []byte("<svg "), []byte(`<svg aria-hidden="true" focusable="false" `), 1)
}
