package monitor

import (
	"ironstar/features/feature"
	"ironstar/web/icons"
)

// Feature is the monitor page: the host's load, sampled while a page is open.
func Feature() feature.Feature {
	return feature.Stateless("monitor", &feature.Nav{Href: "/monitor", Label: "Monitor", Icon: icons.Monitor}, routes)
}
