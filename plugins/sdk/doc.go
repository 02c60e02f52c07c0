// Package sdk is what a Go plugin author imports to turn stages into a szrun
// plugin binary.
//
// A plugin implements stages.Stage (aliased here as sdk.Stage) exactly like a
// built-in stage and calls Serve from main:
//
//	func main() { sdk.Serve(&Engine{}) }
//
// Serve speaks szrun's plugin protocol (plugins/proto) over hashicorp/go-plugin:
// it answers Describe from each Stage's Spec, answers Validate with the
// stage's own checks (a stage that embeds stages.Typed checks the same
// parameter struct its Run decodes), and, for Run, rebuilds the typed
// Input (durations, int64s) from the request's JSON, turns the Input's Log and
// Progress into events streamed back to szrun, and sends the Output as a
// Result. A panic in Run is reported as the stage's error, with its stack on
// stderr. On SIGTERM (which Linux sends when szrun dies) it kills its process
// group, so helpers the stage started do not outlive it. Run by hand, the
// binary says it is a plugin and exits with status 1.
//
// A plugin is testable without a host: call Stage.Run directly, or RunLocal,
// which takes parameters and checks outputs through the same conversions the
// real protocol uses.
package sdk
