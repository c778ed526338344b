//go:build !slimexecutor

package executorbin

// image is empty: this build embeds no slim executor (build with
// -tags slimexecutor after building cmd/kubemesos-executor into this
// package's folder as kubemesos-executor; `make build` does).
var image []byte
