package about

import (
	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the about page, with the greeting round trip.
func Feature() feature.Feature {
	return feature.Stateless("about", &feature.Nav{Href: "/about", Label: "About", Icon: icons.About}, routes)
}
