package main

import (
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/runtime"
)

// torch-export comes first: `uses: plugin:torch` names it.
func main() {
	// Sessions run in a worker: this binary started again (see runtime.NewSession).
	runtime.MaybeServeWorker()
	sdk.Serve(&Export{}, &Prune{})
}
