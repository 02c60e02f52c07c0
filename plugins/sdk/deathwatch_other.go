//go:build !unix

package sdk

// watchHostDeath does nothing where there are no process groups.
func watchHostDeath() {}
