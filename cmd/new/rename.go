//ironstar:needs template

package main

import "strings"

// keptAsIs are files whose text names the template on purpose: the MIT
// licence's copyright notice must travel with the code it covers.
var keptAsIs = map[string]bool{"LICENSE": true}

// rename rewrites the module path in imports and go.mod, then the product
// name in its three spellings: Ironstar where it is shown, ironstar and
// IRONSTAR where it names something (cookies, JavaScript helpers, the NATS
// server). One pass, longest patterns first, so the new module path is
// never renamed again.
func rename(t tree, fromModule, toModule, name string) {
	title := strings.ToUpper(fromModule[:1]) + fromModule[1:]
	r := strings.NewReplacer(
		"module "+fromModule+"\n", "module "+toModule+"\n",
		`"`+fromModule+"/", `"`+toModule+"/",
		title, name,
		fromModule, strings.ToLower(name),
		strings.ToUpper(fromModule), strings.ToUpper(name),
	)
	for p, f := range t {
		if keptAsIs[p] || !f.text() {
			continue
		}
		f.data = []byte(r.Replace(string(f.data)))
		t[p] = f
	}
}
