package selectstage

import (
	"os"
	"testing"
)

// FuzzReaders feeds arbitrary bytes to the file readers and everything built
// on what they accept: no input may panic.
func FuzzReaders(f *testing.F) {
	for _, p := range []string{"testdata/metrics.json", "testdata/compare.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"models":[{"name":"a","results":[]}]}`))
	f.Add([]byte(`{"reference":"r","candidates":[{"name":"a","outputs":[{"name":"o","top1_agreement":null}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bm, err := parseBenchmark("f.json", b); err == nil {
			for _, batch := range []int64{0, 1, 8} {
				if tb, err := bm.Table(batch); err == nil {
					Front(tb, tb.Metrics(), []string{"p95_ms", "size_bytes"})
				}
			}
		}
		if c, err := parseComparison("f.json", b); err == nil {
			c.Table()
		}
	})
}
