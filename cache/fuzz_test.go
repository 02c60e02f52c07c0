package cache

import (
	"bytes"
	"testing"
)

// FuzzParseManifest: parsing never panics, never accepts a path that could
// escape a destination, and what it accepts re-encodes to the same bytes.
func FuzzParseManifest(f *testing.F) {
	f.Add(encodeManifest([]TreeEntry{{Path: "a/b.onnx", Digest: dA, Size: 3}, {Path: "run.sh", Digest: dA, Exec: true}}))
	f.Add([]byte(treeHeader + "\n"))
	f.Add([]byte(treeHeader + "\n" + string(dA) + " 1 f \"../x\"\n"))
	f.Add([]byte(treeHeader + "\n" + string(dA) + " 1 f \"x\"\n" + string(dA) + " 1 f \"x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := parseManifest(data)
		if err != nil {
			return
		}
		for _, e := range es {
			if !safeRelPath(e.Path) {
				t.Fatalf("accepted unsafe path %q", e.Path)
			}
		}
		if !isSortedUnique(es) {
			t.Fatalf("accepted unsorted or repeated paths: %q", data)
		}
		if re := encodeManifest(es); !bytes.Equal(re, data) {
			t.Fatalf("accepted a non-canonical manifest:\n%q\nre-encodes as\n%q", data, re)
		}
	})
}

func isSortedUnique(es []TreeEntry) bool {
	for i := 1; i < len(es); i++ {
		if es[i-1].Path >= es[i].Path {
			return false
		}
	}
	return true
}
