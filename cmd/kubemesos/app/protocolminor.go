package app

import (
	"fmt"
	"strconv"

	"github.com/kubemesos/kubemesos/executor/protocol"
)

// ProtocolMinorEnv names a test-only environment variable: when set, every
// subcommand speaks that minor version of the executor protocol instead of
// this build's (protocol.Minor). The upgrade e2e test uses it to run a
// framework and executors that differ only in their minor version, as two
// builds of one major version would. It is not a user setting and is read
// nowhere else.
const ProtocolMinorEnv = "KUBEMESOS_PROTOCOL_MINOR"

// applyProtocolMinor applies ProtocolMinorEnv's value, if any (getenv is
// os.Getenv in the binary).
func applyProtocolMinor(getenv func(string) string) error {
	v := getenv(ProtocolMinorEnv)
	if v == "" {
		return nil
	}
	minor, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("%s=%q: want a minor version number: %w", ProtocolMinorEnv, v, err)
	}
	protocol.SetMinorForTesting(uint32(minor))
	return nil
}
