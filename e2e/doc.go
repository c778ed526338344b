// Package e2e holds end-to-end tests that build the kubemesos binary once
// and run it as a person would: `kubemesos up`, `kubemesos kubectl`,
// restarts, signals. It imports nothing of kubemesos, so `go test -race`
// does not build Kubernetes a second time; the binary inside is a plain
// `go build`. `go test -short` skips them.
package e2e
