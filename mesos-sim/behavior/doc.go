// Package behavior declares, as data, what mesos-sim's simulated agents do
// with the tasks launched on them: how long each task takes to reach
// TASK_STARTING and TASK_RUNNING, whether its launch fails, whether and when
// it finishes or fails, and how it answers a kill. A Config (loaded from the
// YAML or JSON file given to --sim-config, or built in Go) holds a default
// Behavior and an ordered list of Rules; the first rule whose Match fits a
// Task decides its Behavior. PlanLaunch and PlanKill turn that behaviour into
// the ordered status updates (Steps) the agent then sends. The package is a
// pure, deterministic core: it keeps no state, reads no clock, starts no
// goroutine, and draws randomness only from the *rand.Rand its caller passes,
// so a seed reproduces a simulation exactly; timers and status update
// delivery belong to the agent simulation (package simagent).
package behavior
