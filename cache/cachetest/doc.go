// Package cachetest owns the conformance test every cache.Backend passes,
// so the local directory and each remote object store are held to one
// contract.
package cachetest
