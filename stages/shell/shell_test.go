package shell

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
)

// syncBuffer is a log sink the test can read while the stage writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// input coerces with through the real Spec, as the engine does, and gives
// the stage a fresh work dir; relative input paths resolve against base.
func input(t *testing.T, base string, with map[string]any) (*stages.Input, *syncBuffer) {
	t.Helper()
	params, err := New().Spec().Coerce(with, stages.CoerceOptions{BaseDir: base})
	if err != nil {
		t.Fatalf("coerce: %v", err)
	}
	logs := &syncBuffer{}
	return &stages.Input{
		Instance: "eval[int8]",
		Params:   params,
		WorkDir:  t.TempDir(),
		Log:      log.New(logs),
	}, logs
}

func TestSpecRegisters(t *testing.T) {
	if err := stages.NewRegistry().Register(New()); err != nil {
		t.Fatal(err)
	}
	if _, err := New().Spec().Coerce(map[string]any{}, stages.CoerceOptions{}); err == nil {
		t.Error("missing run: want an error")
	}
}

func TestOutputs(t *testing.T) {
	base := t.TempDir()
	if err := os.WriteFile(filepath.Join(base, "model.txt"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, logs := input(t, base, map[string]any{
		"inputs": map[string]any{"MODEL": "model.txt"},
		"run": `cp "$MODEL" copy.txt
mkdir -p reports/sub
echo ok > reports/sub/r.txt
echo '{"accuracy": 0.98, "count": 3, "nested": {"xs": [1, 2.5]}, "name": "int8"}' > metrics.json
echo "done in $PWD"`,
		"files":  map[string]any{"model": "copy.txt", "reports": "reports"},
		"values": "metrics.json",
	})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string]string{
		"model":   filepath.Join(in.WorkDir, "copy.txt"),
		"reports": filepath.Join(in.WorkDir, "reports"),
	}
	if !reflect.DeepEqual(out.Files, wantFiles) {
		t.Errorf("Files = %v, want %v", out.Files, wantFiles)
	}
	wantValues := map[string]any{
		"accuracy": 0.98,
		"count":    int64(3),
		"nested":   map[string]any{"xs": []any{int64(1), 2.5}},
		"name":     "int8",
	}
	if !reflect.DeepEqual(out.Values, wantValues) {
		t.Errorf("Values = %#v, want %#v", out.Values, wantValues)
	}
	if b, _ := os.ReadFile(out.Files["model"]); string(b) != "weights" {
		t.Errorf("copy.txt = %q", b)
	}
	if !strings.Contains(logs.String(), "done in "+in.WorkDir) {
		t.Errorf("log lacks the script's output in its work dir:\n%s", logs)
	}
	if strings.Contains(logs.String(), "background processes") {
		t.Errorf("spurious warning about background processes:\n%s", logs)
	}
}

func TestEnvironment(t *testing.T) {
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Only what Input.Env holds is inherited: the engine puts PATH, HOME,
	// TMPDIR, LANG and the recipe's env: allow-list there.
	t.Setenv("SZRUN_TEST_INHERITED", "yes")
	t.Setenv("SZRUN_TEST_SECRET", "no")
	in, _ := input(t, base, map[string]any{
		"inputs": map[string]any{"DATA": "data"},
		"env": map[string]any{
			"BATCH": float64(32), "RATE": 0.5, "TINY": 1e-7, "ON": true, "NAME": "int8 static",
			"LABELS": []any{"cat", 1.0}, "CFG": map[string]any{"b": 1.0, "a": "x"},
		},
		"run": `for v in BATCH RATE TINY ON NAME LABELS CFG DATA SZRUN_WORK_DIR SZRUN_STAGE SZRUN_TEST_INHERITED SZRUN_TEST_SECRET; do
  eval "printf '%s=%s\n' $v \"\$$v\""
done > env.txt`,
		"files": map[string]any{"env": "env.txt"},
	})
	in.Env = stages.MinimalEnv(os.LookupEnv, []string{"SZRUN_TEST_INHERITED"})
	out, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out.Files["env"])
	want := strings.Join([]string{
		"BATCH=32", "RATE=0.5", "TINY=0.0000001", "ON=true", "NAME=int8 static",
		`LABELS=["cat",1]`, `CFG={"a":"x","b":1}`,
		"DATA=" + filepath.Join(base, "data"), "SZRUN_WORK_DIR=" + in.WorkDir,
		"SZRUN_STAGE=eval[int8]", "SZRUN_TEST_INHERITED=yes", "SZRUN_TEST_SECRET=",
	}, "\n") + "\n"
	if string(got) != want {
		t.Errorf("env.txt:\n%s\nwant:\n%s", got, want)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"s", "s"}, {nil, ""}, {false, "false"}, {int64(-4), "-4"}, {7, "7"},
		{3.0, "3"}, {-2.25, "-2.25"}, {1e21, "1000000000000000000000"}, {1.5e-9, "0.0000000015"},
		{90 * time.Second, "1m30s"}, {[]any{}, "[]"}, {map[string]any{"z": []any{true}}, `{"z":[true]}`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.v), func(t *testing.T) {
			got, err := render(tt.v)
			if err != nil || got != tt.want {
				t.Errorf("render(%#v) = %q, %v; want %q", tt.v, got, err, tt.want)
			}
		})
	}
}

func TestFailureTail(t *testing.T) {
	in, logs := input(t, "", map[string]any{
		"run": `i=1
while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); done
echo "to stderr" >&2
exit 3`,
	})
	_, err := New().Run(context.Background(), in)
	var lines []string
	for i := 12; i <= 30; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	want := "shell: script exited with status 3; last lines of output:\n" + strings.Join(lines, "\n") + "\nto stderr"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if !strings.Contains(logs.String(), "line 1\n") || !strings.Contains(logs.String(), "to stderr") {
		t.Errorf("log lacks streamed lines:\n%s", logs)
	}
}

func TestShellOption(t *testing.T) {
	tests := []struct {
		name, shell, run, wantErr string
	}{
		{"default sh stops at the first failure", "", "false\necho after", "shell: script exited with status 1 and printed nothing"},
		{"bare sh by name gets -e", "sh", "false\necho after", "status 1 and printed nothing"},
		{"extra arguments run as given, without -e", "sh -x", "false\nexit 4", "+ false\n+ exit 4"},
		{"missing interpreter", "/no/such/shell", "true", "shell: start /no/such/shell"},
		{"line numbers name the script", "", "true\nno_such_command_xyz", "script.sh: 2:"},
		{"another interpreter", "python3", "print('hi')\nraise SystemExit(5)", "status 5; last lines of output:\nhi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]any{"run": tt.run}
			if tt.shell != "" {
				with["shell"] = tt.shell
			}
			in, _ := input(t, "", with)
			_, err := New().Run(context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLongLineIsCut(t *testing.T) {
	in, _ := input(t, "", map[string]any{"run": "head -c 70000 /dev/zero | tr '\\0' a\necho\necho next\nexit 1"})
	_, err := New().Run(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "a [line cut]\nnext") {
		t.Errorf("err = %.200v", err)
	}
}
