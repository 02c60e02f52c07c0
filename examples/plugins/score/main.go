package main

import "github.com/sentinelzer0/szrun/plugins/sdk"

func main() { sdk.Serve(&Score{}) }
