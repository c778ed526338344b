// Package wire is mesos-sim's HTTP encoding layer for the Mesos v1 APIs: it
// negotiates request and response media types exactly as Apache Mesos does
// (application/json or application/x-protobuf), decodes calls, encodes
// responses, and writes RecordIO event streams. It knows nothing of what the
// calls mean; the master and agents build on it.
package wire
