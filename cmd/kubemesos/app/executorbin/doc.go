// Package executorbin is the slim executor carried inside the kubemesos
// binary: `kubemesos executor` built on its own (cmd/kubemesos-executor,
// without the embedded Kubernetes components, whose package initialisation
// costs an executor some 60 MiB of resident pages). `make build` builds it
// first and embeds it with the build tag slimexecutor; a plain `go build`
// embeds nothing, and the kubemesos binary then runs and serves itself as the
// executor. Image is what the framework serves to agents; Executable is the
// file `kubemesos up` runs, the image extracted once into its data directory.
package executorbin
