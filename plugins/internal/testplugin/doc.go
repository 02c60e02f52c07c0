// Command testplugin is a szrun plugin that misbehaves on purpose, for the
// host's tests. One binary serves every case: it acts by the name it is run
// as (szrun-plugin-<mode>), so the tests build it once and link it under each
// name.
//
//	good      stages "good" and "echo": writes a file, returns values, logs
//	stdout    prints to stdout before the handshake
//	early     exits with status 4 before the handshake
//	sleepy    never completes the handshake
//	exit      logs, then os.Exit(3) mid-run
//	panic     logs, then panics in a goroutine (not recoverable)
//	hang      starts a helper process, then ignores cancellation forever
//	missing   returns an output file that does not exist
//	symlink   returns an output that is a symbolic link to the path in text
//	env       returns its own environment as the output file
//	garbage   returns values that are not JSON
//	badspec   describes a parameter of an unknown type
//	fail      the stage returns an error
package main
