//go:build slimexecutor

package executorbin

import _ "embed"

// image is the slim executor, copied here by `make build` (the file is not
// in git).
//
//go:embed kubemesos-executor
var image []byte
