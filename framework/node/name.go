package node

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
)

// Namer names agents' nodes. The rule: the agent's hostname, lowercased and
// made a DNS-1123 subdomain; when another agent already holds that name, the
// name gets "-" and the first 8 hex digits of the SHA-256 of the agent ID.
// Names once given (also those of existing Node objects, passed to Known)
// stay with their agent, so a restarted framework keeps them.
type Namer struct {
	mu      sync.Mutex
	byAgent map[string]string
	taken   map[string]string // name → agent ID
}

// NewNamer returns a namer with no names given.
func NewNamer() *Namer {
	return &Namer{byAgent: map[string]string{}, taken: map[string]string{}}
}

// Known records an existing node's name for an agent.
func (n *Namer) Known(agentID, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.byAgent[agentID] = name
	n.taken[name] = agentID
}

// Name returns the agent's node name, giving one if it has none.
func (n *Namer) Name(agentID, hostname string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byAgent[agentID]; ok {
		return name
	}
	name := Sanitize(hostname)
	if owner, ok := n.taken[name]; ok && owner != agentID {
		name = Sanitize(trimTo(name, 253-9) + "-" + Suffix(agentID))
	}
	n.byAgent[agentID] = name
	n.taken[name] = agentID
	return name
}

// Forget releases the name of a removed agent.
func (n *Namer) Forget(agentID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byAgent[agentID]; ok {
		delete(n.taken, name)
		delete(n.byAgent, agentID)
	}
}

// Suffix is the short stable suffix of an agent ID.
func Suffix(agentID string) string {
	sum := sha256.Sum256([]byte(agentID))
	return hex.EncodeToString(sum[:4])
}

// Sanitize makes s a DNS-1123 subdomain: lowercase alphanumerics, '-' and
// '.', each label starting and ending with an alphanumeric, at most 253
// characters; an empty result becomes "agent".
func Sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	var labels []string
	for _, l := range strings.Split(b.String(), ".") {
		l = strings.Trim(l, "-")
		if l != "" {
			labels = append(labels, trimTo(l, 63))
		}
	}
	out := strings.Trim(trimTo(strings.Join(labels, "."), 253), "-.")
	if out == "" {
		return "agent"
	}
	return out
}

// LabelValue makes s a valid label value: at most 63 characters of
// alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric.
func LabelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	return strings.Trim(trimTo(b.String(), 63), "-_.")
}

// LabelName makes s a valid label name (the part after a prefix).
func LabelName(s string) string {
	v := LabelValue(s)
	if v == "" {
		return "unnamed"
	}
	return v
}

func trimTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
