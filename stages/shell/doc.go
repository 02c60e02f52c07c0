// Package shell owns the `shell` stage: it runs a user's script with /bin/sh
// (or another interpreter) in the stage's work dir, hands it its inputs as
// environment variables, streams its output to the stage log, and turns the
// files and JSON values it writes into stage outputs.
//
// It is the escape hatch of a recipe: anything szrun has no built-in stage
// for (a Python evaluation script, a vendor converter, a custom check) runs
// here and still gets caching, since the engine hashes the script, every
// `inputs` path's content and every `env` value into the cache key.
//
// The script runs in its own process group. Cancellation (Ctrl-C, a stage
// timeout) sends SIGTERM to the whole group and SIGKILL five seconds later,
// and background processes still alive when the script exits are stopped the
// same way, so a stage never leaves stray processes behind. A guard shell
// (guard.go) starts the script and, on the parent-death signal Linux sends
// when szrun dies, stops the group too. The script sees only a minimal
// environment plus the recipe's env: allow-list (Input.Env).
package shell
