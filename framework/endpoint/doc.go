// Package endpoint is the framework's own HTTP endpoint (`kubemesos framework
// --listen`): one port that answers plain HTTP and HTTPS alike, told apart by
// the first byte of each connection. Plain HTTP serves what agents and
// monitoring fetch without credentials (the executor binary, /healthz,
// /metrics); HTTPS serves the part of the kubelet API that kube-apiserver
// calls for `kubectl logs`, authenticated by client certificate, reading the
// containers' CRI-format log files through their agents' /files/read API.
package endpoint
