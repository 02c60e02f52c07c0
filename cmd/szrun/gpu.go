package main

import (
	"github.com/sentinelzer0/szrun/recipe"
)

// detectGPU says what `gpu.count` and `gpu.names` see.
func detectGPU() recipe.GPU {
	return recipe.GPU{}
}

// fingerprint adds runtime facts to environment-sensitive cache keys.
func fingerprint() map[string]string {
	return map[string]string{}
}
