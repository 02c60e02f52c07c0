package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildTestPlugin builds plugins/internal/testplugin as szrun-plugin-<mode>
// in dir for each mode.
func buildTestPlugin(t *testing.T, dir string, modes ...string) {
	t.Helper()
	first := filepath.Join(dir, "szrun-plugin-"+modes[0])
	if out, err := exec.Command("go", "build", "-o", first, "../../plugins/internal/testplugin").CombinedOutput(); err != nil {
		t.Fatalf("build test plugin: %v\n%s", err, out)
	}
	for _, m := range modes[1:] {
		if err := os.Link(first, filepath.Join(dir, "szrun-plugin-"+m)); err != nil {
			t.Fatal(err)
		}
	}
}

// Item 5: shell stages and plugins start from a minimal environment plus
// the recipe's env: allow-list; allow-listed values enter keys and records
// as digests, and plan says "changed" without printing them.
func TestIssue10StagesGetAMinimalEnvironment(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	os.Mkdir(plugins, 0o755)
	buildTestPlugin(t, plugins, "env")
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
name: r
env: [ALLOWED]
stages:
  sh:
    uses: shell
    with:
      run: env > env.txt
      files: { env: env.txt }
  plug:
    uses: plugin:env
    with: { text: x }
`})
	secrets := []string{"AWS_SECRET_ACCESS_KEY=s3cr3t-not-listed", "ALLOWED=first-allowed-value"}
	r := szrun(t, dir, secrets, "run", "r.yaml", "--plugin-dir", plugins)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"sh/env.txt", "plug/out.txt"} {
		matches, _ := filepath.Glob(filepath.Join(dir, ".szrun", "cache", "view", "*", filepath.Base(f)))
		if len(matches) == 0 {
			t.Fatalf("no %s in the cache", f)
		}
		for _, m := range matches {
			env := readFile(t, m)
			if strings.Contains(env, "s3cr3t") {
				t.Errorf("%s: a variable the recipe does not list reached the stage:\n%s", f, env)
			}
			if !strings.Contains(env, "ALLOWED=first-allowed-value") || !strings.Contains(env, "PATH=") {
				t.Errorf("%s: allow-listed or base variables missing:\n%s", f, env)
			}
		}
	}
	filepath.Walk(filepath.Join(dir, ".szrun", "cache", "ac"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.Contains(readFile(t, p), "first-allowed-value") {
			t.Errorf("action record %s holds an env value in clear text", p)
		}
		return nil
	})
	r = szrun(t, dir, []string{"ALLOWED=second-allowed-value"}, "plan", "r.yaml", "--plugin-dir", plugins)
	if r.code != 0 || !strings.Contains(r.stdout, "env.ALLOWED: changed") || strings.Contains(r.stdout+r.stderr, "allowed-value") {
		t.Errorf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Item 6: shellquote() makes a value one shell word, so a param pasted into
// a script cannot run as code.
func TestIssue10ShellQuote(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
name: r
params:
  msg: hello
stages:
  a:
    uses: shell
    with:
      run: printf '%s' ${{ shellquote(params.msg) }} > out.txt
      files: { f: out.txt }
outputs:
  f: ${{ stages.a.outputs.f }}
`})
	hostile := `it's "$(touch pwned)"; touch pwned2 #`
	mustRun(t, dir, "run", "r.yaml", "-p", "msg="+hostile)
	if got := readFile(t, filepath.Join(dir, "out", "r", "f.txt")); got != hostile {
		t.Errorf("out.txt = %q, want %q", got, hostile)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".szrun", "work", "*", "*", "pwned*")); len(m) > 0 {
		t.Errorf("the value ran as code: %v", m)
	}
}

// Item 7: plugins are searched only in absolute folders: a plugins/bin
// under the current directory is never executed (not even by validate or
// schema), a relative --plugin-dir is made absolute once (so a stage can
// run from it), and relative $SZRUN_PLUGIN_PATH entries are ignored.
func TestIssue10PluginSearchPathsAreAbsolute(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"r.yaml":                        "version: 1\nname: r\nstages:\n  a:\n    uses: plugin:good\n    with: { text: hi }\n",
		"plugins/bin/szrun-plugin-evil": "#!/bin/sh\ntouch \"$(dirname \"$0\")/../../evil-ran\"\nexit 1\n",
	})
	os.Chmod(filepath.Join(dir, "plugins", "bin", "szrun-plugin-evil"), 0o755)
	for _, args := range [][]string{{"validate", "r.yaml"}, {"schema"}, {"plugins", "list"}} {
		szrun(t, dir, nil, args...)
		if _, err := os.Stat(filepath.Join(dir, "evil-ran")); err == nil {
			t.Fatalf("szrun %s executed ./plugins/bin/szrun-plugin-evil", strings.Join(args, " "))
		}
	}
	buildTestPlugin(t, filepath.Join(dir, "rel"), "good")
	r := szrun(t, dir, nil, "run", "r.yaml", "--plugin-dir", "rel")
	if r.code != 0 {
		t.Errorf("relative --plugin-dir: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = szrun(t, dir, []string{"SZRUN_PLUGIN_PATH=rel"}, "validate", "r.yaml")
	if r.code != 2 {
		t.Errorf("relative SZRUN_PLUGIN_PATH entry was searched: exit %d\n%s", r.code, r.stderr)
	}
}

// Item 12: expressions run under a budget: a nested for over range() is an
// error at the expression's position, not minutes and gigabytes.
func TestIssue10ExpressionBudget(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
name: r
params:
  n: 1000
stages:
  a:
    uses: shell
    with:
      run: echo ${{ length([for x in range(params.n) : [for y in range(params.n) : [for z in range(params.n) : x]]]) }}
`})
	for _, cmd := range []string{"plan", "validate", "run"} {
		r := szrun(t, dir, nil, cmd, "r.yaml")
		if r.code != 2 || !strings.Contains(r.stderr, "r.yaml:9:21: expression exceeds its evaluation budget") {
			t.Errorf("%s: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
}

// Item 10: a shell stage's children do not survive szrun's death: killed
// with SIGKILL, szrun leaves no script process behind, also when started
// under nohup (which makes SIGHUP ignored in szrun and all it starts).
func TestIssue10ShellChildrenDieWithSzrun(t *testing.T) {
	t.Run("plain", func(t *testing.T) { shellChildrenDie(t, nil) })
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Fatalf("nohup (coreutils) is needed: %v", err)
	}
	t.Run("nohup", func(t *testing.T) { shellChildrenDie(t, []string{nohup}) })
}

func shellChildrenDie(t *testing.T, prefix []string) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	writeFiles(t, dir, map[string]string{"r.yaml": `version: 1
name: r
stages:
  a:
    uses: shell
    with:
      run: |
        sleep 300 &
        echo $! >> ` + pids + `
        sh -c 'echo $$ >> ` + pids + `; exec sleep 300'
`})
	argv := append(append([]string(nil), prefix...), szrunBin, "run", "r.yaml")
	cmd := exec.Command(argv[0], argv[1:]...) // nohup execs szrun: same pid
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var list []string
	for start := time.Now(); len(list) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			cmd.Process.Kill()
			t.Fatal("the script did not start its children")
		}
		b, _ := os.ReadFile(pids)
		list = strings.Fields(string(b))
	}
	cmd.Process.Kill()
	cmd.Wait()
	for _, p := range list {
		for start := time.Now(); alive(p); time.Sleep(50 * time.Millisecond) {
			if time.Since(start) > 20*time.Second {
				syscall.Kill(atoi(p), syscall.SIGKILL)
				t.Fatalf("process %s of the script outlived szrun", p)
			}
		}
	}
}

// alive reports whether pid runs and is not a zombie (an orphan in a
// container whose init does not reap).
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
