// Package inventory follows the agents a Mesos master has registered, with
// their total resources, through the master's v1 operator API: SUBSCRIBE
// gives the state (GET_STATE's agents), then AGENT_ADDED and AGENT_REMOVED
// as they happen. Offers tell the framework what an agent has free now, and
// only while it does not suppress them; the inventory tells it which agents
// exist and what they have at all. The framework uses it to refuse, before
// launch, a pod no registered agent could ever run (a host port outside
// every agent's ports), and to give a node to an agent that registers while
// offers are suppressed. Inventory is the state and its decisions, with no
// I/O; Follow is the loop that feeds it from a master.
package inventory
