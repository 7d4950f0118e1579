package reverse

import (
	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the reverse page: a web component and signals, both ways.
func Feature() feature.Feature {
	return feature.Stateless("reverse", &feature.Nav{Href: "/reverse", Label: "Reverse", Icon: icons.Reverse}, routes)
}
