package main

import "github.com/sentinelzer0/szrun/plugins/sdk"

// torch-export comes first: `uses: plugin:torch` names it.
func main() { sdk.Serve(&Export{}, &Prune{}) }
