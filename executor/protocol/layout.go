package protocol

import (
	"path"
	"strconv"
)

// The layout of a pod's files in its executor's sandbox, shared by the
// executor (which writes them) and the framework (which serves them through
// the agent's /files API, and after a restart knows them before the
// executor's next status says where they are).
const (
	// PodsDir is the directory of the pods under the sandbox.
	PodsDir = "pods"
	// LogsDir is the directory of container logs under a pod's directory.
	LogsDir = "logs"
)

// PodDir is a pod's directory, relative to the executor's sandbox.
func PodDir(namespace, name, uid string) string {
	if namespace == "" {
		namespace = "default"
	}
	return path.Join(PodsDir, namespace+"_"+name+"_"+uid)
}

// LogFile is the log of a container's instance-th run (0 for the first, as
// Kubernetes' restartCount), relative to the pod's directory.
func LogFile(container string, instance int) string {
	return path.Join(LogsDir, container, strconv.Itoa(instance)+".log")
}
