package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/internal/s3test"
)

// finished returns the stage_finished events of a --json run by instance.
func finished(t *testing.T, stdout string) map[string]engine.Event {
	t.Helper()
	out := map[string]engine.Event{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e engine.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		if e.Event == engine.EventStageFinished {
			out[e.Stage] = e
		}
	}
	return out
}

// runRecord reads the run.json a run in dir wrote last.
func runRecord(t *testing.T, dir string) engine.Result {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(dir, ".szrun", "runs", "*", "run.json"))
	if len(ms) == 0 {
		t.Fatal("no run.json")
	}
	var newest string
	for _, m := range ms {
		if m > newest {
			newest = m
		}
	}
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	var r engine.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sameOutputs compares two out dirs file by file, outputs.json aside (it
// holds absolute paths).
func sameOutputs(t *testing.T, a, b string) {
	t.Helper()
	n := 0
	err := filepath.Walk(a, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "outputs.json" {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || string(x) != string(y) {
			t.Errorf("output %s differs between the two machines (%v)", rel, err)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("compare outputs: %d files, %v", n, err)
	}
}

// A second machine (a second process, an empty local cache) against a warm
// remote does no stage work: every instance is a remote hit and the
// outputs are byte-identical. Run over S3 (gofakes3 on loopback through the
// s3blob driver) and over a file:// shared folder.
func TestRemoteCacheSecondMachineDoesNoWork(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	for name, url := range map[string]string{
		"s3":   srv.URL("team"),
		"file": "file://" + filepath.Join(t.TempDir(), "shared"),
	} {
		t.Run(name, func(t *testing.T) {
			env := s3test.Env()
			first := copyTestdata(t, "remote.yaml")
			r := szrun(t, first, env, "run", "remote.yaml", "--remote-cache", url)
			if r.code != 0 {
				t.Fatalf("first machine: exit %d\n%s", r.code, r.stderr)
			}
			second := copyTestdata(t, "remote.yaml")
			r = szrun(t, second, env, "run", "remote.yaml", "--json", "--remote-cache", url)
			if r.code != 0 {
				t.Fatalf("second machine: exit %d\n%s", r.code, r.stderr)
			}
			evs := finished(t, r.stdout)
			if len(evs) != 3 {
				t.Fatalf("want 3 finished stages, got %v", evs)
			}
			for id, e := range evs {
				if e.Status != engine.StatusCached || e.CacheHit != engine.HitRemote {
					t.Errorf("stage %s: status %s from %q, want cached from remote", id, e.Status, e.CacheHit)
				}
			}
			rec := runRecord(t, second)
			if rec.Remote == nil || rec.Remote.Hits != 3 || rec.Remote.Uploads != 0 || rec.Remote.Error != "" {
				t.Errorf("run.json remote_cache = %+v, want 3 hits and no uploads", rec.Remote)
			}
			for _, st := range rec.Stages {
				if st.CacheHit != engine.HitRemote {
					t.Errorf("run.json: stage %s cache_hit %q", st.Instance, st.CacheHit)
				}
			}
			sameOutputs(t, filepath.Join(first, "out", "remote"), filepath.Join(second, "out", "remote"))
			// The summary says so too.
			r = szrun(t, copyTestdata(t, "remote.yaml"), env, "run", "remote.yaml", "--remote-cache", url)
			if !strings.Contains(r.stdout, "restored from the remote cache") || !strings.Contains(r.stdout, "3 hits") {
				t.Errorf("summary does not show remote hits:\n%s", r.stdout)
			}
		})
	}
}

// A remote that is down, or refuses the credentials, costs one warning and
// the run succeeds on the local cache.
func TestRemoteCacheUnavailableDegradesToLocal(t *testing.T) {
	srv := s3test.Start(t, "szrun-cache")
	cases := map[string]struct {
		env   []string
		setup func()
		want  string
	}{
		"server down":       {env: s3test.Env(), setup: srv.Kill, want: "remote cache unavailable"},
		"wrong credentials": {env: append(s3test.Env(), "AWS_ACCESS_KEY_ID=wrong"), setup: srv.Revive, want: "InvalidAccessKeyId"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.setup()
			dir := copyTestdata(t, "remote.yaml")
			r := szrun(t, dir, c.env, "run", "remote.yaml", "--remote-cache", srv.URL(""))
			if r.code != 0 {
				t.Fatalf("exit %d, want 0 (the remote is optional)\n%s", r.code, r.stderr)
			}
			if n := strings.Count(r.stderr, "remote cache unavailable"); n != 1 {
				t.Errorf("%d warnings about the remote, want exactly 1:\n%s", n, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("warning does not say %q:\n%s", c.want, r.stderr)
			}
			if rec := runRecord(t, dir); rec.Remote == nil || rec.Remote.Error == "" {
				t.Errorf("run.json remote_cache = %+v, want the error recorded", rec.Remote)
			}
		})
	}
}

// A record on the remote whose blob is gone is a miss for that stage only:
// it runs again, the others are remote hits, and its new result repairs
// the remote.
func TestRemoteCacheMissingBlobBehindRecord(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "shared")
	url := "file://" + remote
	first := copyTestdata(t, "remote.yaml")
	if r := szrun(t, first, nil, "run", "remote.yaml", "--remote-cache", url); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	// Remove the blob of combine's output (all.txt: "hello small\nhello big\n").
	all, err := os.ReadFile(filepath.Join(first, "out", "remote", "all.txt"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(remote, "cas", "*"))
	removed := false
	for _, b := range blobs {
		if data, _ := os.ReadFile(b); string(data) == string(all) {
			os.Remove(b)
			removed = true
		}
	}
	if !removed {
		t.Fatal("did not find the blob to remove")
	}
	second := copyTestdata(t, "remote.yaml")
	r := szrun(t, second, nil, "run", "remote.yaml", "--json", "--remote-cache", url)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	evs := finished(t, r.stdout)
	if evs["combine"].Status != engine.StatusSucceeded {
		t.Errorf("combine: %s, want run again (its blob is missing remotely)", evs["combine"].Status)
	}
	if evs["make[big]"].CacheHit != engine.HitRemote {
		t.Errorf("make[big]: %s/%s, want a remote hit", evs["make[big]"].Status, evs["make[big]"].CacheHit)
	}
	sameOutputs(t, filepath.Join(first, "out", "remote"), filepath.Join(second, "out", "remote"))
	third := copyTestdata(t, "remote.yaml")
	r = szrun(t, third, nil, "run", "remote.yaml", "--json", "--remote-cache", url)
	for id, e := range finished(t, r.stdout) {
		if e.CacheHit != engine.HitRemote {
			t.Errorf("after the repair, %s: %s/%q, want a remote hit", id, e.Status, e.CacheHit)
		}
	}
}

// read mode never uploads; a bad mode is a usage error.
func TestRemoteCacheModes(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "shared")
	url := "file://" + remote
	dir := copyTestdata(t, "remote.yaml")
	if r := szrun(t, dir, nil, "run", "remote.yaml", "--remote-cache", url, "--remote-cache-mode", "read"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if acs, _ := filepath.Glob(filepath.Join(remote, "ac", "*")); len(acs) != 0 {
		t.Fatalf("read mode uploaded %d action records", len(acs))
	}
	r := szrun(t, dir, nil, "run", "remote.yaml", "--remote-cache", url, "--remote-cache-mode", "sometimes")
	if r.code != 2 || !strings.Contains(r.stderr, "want read, write or readwrite") {
		t.Fatalf("bad mode: exit %d\n%s", r.code, r.stderr)
	}
	r = szrun(t, dir, nil, "run", "remote.yaml", "--remote-cache", "http://example.com/cache")
	if r.code != 2 || !strings.Contains(r.stderr, "unsupported scheme") {
		t.Fatalf("bad URL: exit %d\n%s", r.code, r.stderr)
	}
}

// Three shards started at once cover one run: every instance is computed
// by exactly one of them (the others fetch what they need from the remote
// cache), and a final plain run against the remote is all hits and
// materializes the outputs.
func TestShardsCoverOneRun(t *testing.T) {
	url := "file://" + filepath.Join(t.TempDir(), "shared")
	const n = 3
	dirs := make([]string, n)
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		dirs[i] = copyTestdata(t, "shard.yaml")
		cmds[i] = exec.Command(szrunBin, "run", "shard.yaml", "--json", "--shard", fmt.Sprintf("%d/%d", i, n), "--remote-cache", url)
		cmds[i].Dir = dirs[i]
		cmds[i].Env = append(os.Environ(), "CI=true", "GITHUB_STEP_SUMMARY=")
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout = outs[i]
		cmds[i].Stderr = outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	computed := map[string]int{}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, outs[i])
		}
		rec := runRecord(t, dirs[i])
		if rec.Shard != fmt.Sprintf("%d/%d", i, n) {
			t.Errorf("run.json shard = %q", rec.Shard)
		}
		for _, st := range rec.Stages {
			if st.Status == engine.StatusSucceeded {
				computed[st.Instance]++
			}
		}
	}
	if len(computed) != 13 {
		t.Errorf("the shards computed %d distinct instances, want all 13: %v", len(computed), computed)
	}
	for id, c := range computed {
		if c != 1 {
			t.Errorf("instance %s computed by %d shards, want 1", id, c)
		}
	}
	final := copyTestdata(t, "shard.yaml")
	r := szrun(t, final, nil, "run", "shard.yaml", "--json", "--remote-cache", url)
	if r.code != 0 {
		t.Fatalf("final run: exit %d\n%s", r.code, r.stderr)
	}
	for id, e := range finished(t, r.stdout) {
		if e.CacheHit != engine.HitRemote {
			t.Errorf("final run: %s %s/%q, want a remote hit", id, e.Status, e.CacheHit)
		}
	}
	got, err := os.ReadFile(filepath.Join(final, "out", "shard", "all.txt"))
	if err != nil || string(got) != "part 1\npart 5\npart 8\n" {
		t.Fatalf("final run's output = %q, %v", got, err)
	}
}

func TestShardNeedsARemoteCache(t *testing.T) {
	dir := copyTestdata(t, "shard.yaml")
	for _, args := range [][]string{
		{"--shard", "0/2"},
		{"--shard", "2/2", "--remote-cache", "file:///tmp/x"},
		{"--shard", "0/2", "--remote-cache", "file://" + t.TempDir(), "--remote-cache-mode", "read"},
	} {
		r := szrun(t, dir, nil, append([]string{"run", "shard.yaml"}, args...)...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}

func TestExportCommand(t *testing.T) {
	dir := copyTestdata(t, "shard.yaml")
	r := szrun(t, dir, nil, "export", "shard.yaml", "--format", "k8s-job", "--remote-cache", "file:///mnt/cache", "--shards", "5", "-o", "job.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "job.yaml"))
	if err != nil || !strings.Contains(string(b), `--shard "$JOB_COMPLETION_INDEX/5"`) || !strings.Contains(string(b), "file:///mnt/cache") {
		t.Fatalf("job.yaml = %s, %v", b, err)
	}
	for _, args := range [][]string{
		{"export", "shard.yaml"},
		{"export", "shard.yaml", "--format", "jenkins"},
		{"export", "shard.yaml", "--format", "argo", "--shards", "0"},
		{"export", "missing.yaml", "--format", "argo"},
	} {
		if r := szrun(t, dir, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}
