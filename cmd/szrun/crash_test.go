package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashRecipe has ten shell stages (a chain with a fan-out) writing files
// that depend on their inputs. The salt goes into every key (env) but not
// into any output, so each killed run starts new work while a finished run
// always produces the same bytes.
func crashRecipe() string {
	var b strings.Builder
	b.WriteString("version: 1\nname: crash\nparams:\n  salt: \"0\"\nstages:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  s%d:\n    uses: shell\n    with:\n      env: { SALT: \"${{ params.salt }}\" }\n", i)
		switch {
		case i == 0:
			b.WriteString("      run: sleep 0.05; head -c 300000 /dev/zero | tr '\\0' 'a' > f.bin\n")
		default:
			up := (i - 1) / 2 // a binary-tree fan-out
			fmt.Fprintf(&b, "      inputs: { IN: \"${{ stages.s%d.outputs.f }}\" }\n", up)
			fmt.Fprintf(&b, "      run: sleep 0.05; cat \"$IN\" > f.bin; printf 's%d' >> f.bin\n", i)
		}
		b.WriteString("      files: { f: f.bin }\n")
	}
	b.WriteString("outputs:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  o%d: ${{ stages.s%d.outputs.f }}\n", i, i)
	}
	return b.String()
}

// Crash safety: SIGKILL at 20 random moments of a ten-stage run. After each
// kill the cache verifies clean, and the next run's outputs are byte for
// byte those of a clean run.
func TestCrashSafetyKillAtRandomPoints(t *testing.T) {
	clean := t.TempDir()
	writeFiles(t, clean, map[string]string{"r.yaml": crashRecipe()})
	start := time.Now()
	mustRun(t, clean, "run", "r.yaml")
	full := time.Since(start)
	want := outFiles(t, filepath.Join(clean, "out", "crash"))

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": crashRecipe()})
	seed := time.Now().UnixNano()
	t.Logf("seed %d; a clean run took %s", seed, full)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	for i := range 20 {
		salt := fmt.Sprint(i + 1)
		cmd := exec.Command(szrunBin, "run", "r.yaml", "-p", "salt="+salt)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CI=true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		after := time.Duration(rng.Int64N(int64(full) + 1))
		time.Sleep(after)
		cmd.Process.Kill()
		cmd.Wait()
		// A kill before the run created its cache leaves nothing to verify
		// (cache verify refuses a folder that does not exist); the rerun
		// below still has to produce a clean run's outputs.
		if _, err := os.Stat(filepath.Join(dir, ".szrun", "cache")); errors.Is(err, fs.ErrNotExist) {
			t.Logf("kill %d after %s: before the cache existed", i, after)
		} else if r := szrun(t, dir, nil, "cache", "verify", "r.yaml"); r.code != 0 || !strings.Contains(r.stdout, "cache is clean") {
			t.Fatalf("kill %d after %s: cache verify: exit %d\n%s%s", i, after, r.code, r.stdout, r.stderr)
		}
		mustRun(t, dir, "run", "r.yaml", "-p", "salt="+salt)
		got := outFiles(t, filepath.Join(dir, "out", "crash"))
		for name, w := range want {
			if got[name] != w {
				t.Fatalf("kill %d after %s: out/crash/%s differs from a clean run's", i, after, name)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("kill %d after %s: out/crash holds %d files, a clean run %d", i, after, len(got), len(want))
		}
	}
}

// outFiles reads every file under dir except outputs.json (which holds
// absolute paths).
func outFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "outputs.json" {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = readFile(t, p)
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no outputs under %s", dir)
	}
	return out
}
