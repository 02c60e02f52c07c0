package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkRerun20Stages1GiB times a whole `szrun run` process for a
// 20-stage recipe whose stages all take a 1 GiB file as input, when nothing
// changed since the previous run. Target: at most 100 ms.
func BenchmarkRerun20Stages1GiB(b *testing.B) {
	dir := b.TempDir()
	big := filepath.Join(dir, "big.bin")
	writeRandomFile(b, big, 1<<30)
	var sb strings.Builder
	sb.WriteString("version: 1\nname: rerun\nparams:\n  big: big.bin\nstages:\n")
	for i := range 20 {
		fmt.Fprintf(&sb, "  s%02d:\n    uses: shell\n    with:\n      run: \"test -s $BIG && echo %d > n.txt\"\n      inputs: { BIG: \"${{ params.big }}\" }\n      files: { n: n.txt }\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "rerun.yaml"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func() {
		cmd := exec.Command(szrunBin, "run", "rerun.yaml")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CI=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("szrun run: %v\n%s", err, out)
		}
	}
	run() // hashes the file once and fills the cache
	b.ResetTimer()
	for range b.N {
		run()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
}

func writeRandomFile(b *testing.B, path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for written := int64(0); written < size; written += int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			v := r.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
