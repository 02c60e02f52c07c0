package plugins

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sentinelzer0/szrun/stages"
)

func TestDefaultDirs(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	sep := string(os.PathListSeparator)
	t.Setenv("SZRUN_PLUGIN_PATH", "/env/a"+sep+sep+"/flag"+sep+"relative/dir")
	got := DefaultDirs([]string{"/flag", "/flag2", "rel"})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	// Every entry absolute: a relative --plugin-dir against the current
	// directory, a relative $SZRUN_PLUGIN_PATH entry dropped, no ./plugins/bin.
	want := []string{"/flag", "/flag2", filepath.Join(wd, "rel"), "/env/a", filepath.Join(home, ".szrun", "plugins"), filepath.Dir(exe)}
	if !slices.Equal(got, want) {
		t.Fatalf("DefaultDirs = %q, want %q", got, want)
	}
}

func TestDiscover(t *testing.T) {
	first := pluginDir(t, "good", "exit")
	second := pluginDir(t, "good", "fail")
	if err := os.WriteFile(filepath.Join(first, "README"), []byte("not a plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, testBin, filepath.Join(first, "szrun-plugin-noexec"), 0o644)
	h := NewHost(Options{Dirs: []string{first, filepath.Join(first, "missing"), second}})
	defer h.Close()

	found, err := h.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range found {
		names = append(names, p.Name)
	}
	if want := []string{"exit", "fail", "good", "noexec"}; !slices.Equal(names, want) {
		t.Fatalf("plugins = %q, want %q", names, want)
	}
	good := found[2]
	if good.Err != nil {
		t.Fatalf("good: %v", good.Err)
	}
	if good.Path != filepath.Join(first, "szrun-plugin-good") {
		t.Errorf("good.Path = %s, want the first directory's", good.Path)
	}
	if good.Version != "1.2.3" || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(good.Digest) {
		t.Errorf("good: version %q digest %q", good.Version, good.Digest)
	}
	if len(good.Specs) != 2 || good.Specs[0].Name != "good" || good.Specs[1].Name != "echo" {
		t.Fatalf("good.Specs = %+v", good.Specs)
	}
	wait, _ := good.Specs[0].Param("wait")
	if wait.Default != 90*time.Second {
		t.Errorf("duration default came back as %#v", wait.Default)
	}
	opts, _ := good.Specs[0].Param("opts")
	if len(opts.Fields) != 1 || opts.Fields[0].Default != "fp16" || len(opts.Fields[0].Enum) != 2 {
		t.Errorf("nested fields came back as %+v", opts.Fields)
	}
	if noexec := found[3]; !errors.Is(noexec.Err, ErrNotExecutable) {
		t.Errorf("noexec.Err = %v, want ErrNotExecutable", noexec.Err)
	}

	// The same binary under the same name is described once per Host.
	before := h.launches.Load()
	if _, err := h.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.launches.Load() - before; n != 0 {
		t.Errorf("second Discover started %d processes, want 0 (cached)", n)
	}
}

func TestLookup(t *testing.T) {
	dir := pluginDir(t, "good", "badspec", "stdout")
	copyFile(t, testBin, filepath.Join(dir, "szrun-plugin-noexec"), 0o644)
	h := NewHost(Options{Dirs: []string{dir}})
	defer h.Close()
	digest, err := hashFile(filepath.Join(dir, "szrun-plugin-good"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uses    string
		stage   string // Spec().Summary's stage, for a success
		wantErr error
		msg     []string // substrings of the error
	}{
		{uses: "plugin:good", stage: "good"},
		{uses: "plugin:good/echo", stage: "echo"},
		{uses: "plugin:goood", wantErr: ErrNotFound, msg: []string{`did you mean "good"?`, dir}},
		{uses: "plugin:good/ecko", wantErr: ErrNotFound, msg: []string{`did you mean "echo"?`}},
		{uses: "good", wantErr: ErrBadUses},
		{uses: "plugin:good/", wantErr: ErrBadUses},
		{uses: "plugin:noexec", wantErr: ErrNotExecutable, msg: []string{"chmod +x"}},
		{uses: "plugin:badspec", wantErr: ErrProtocol, msg: []string{"plugin badspec", `unknown type "tensor"`}},
		{uses: "plugin:stdout", wantErr: ErrStart, msg: []string{"plugin stdout", `"hello from a careless plugin"`, "before the go-plugin handshake"}},
	}
	for _, tt := range tests {
		t.Run(tt.uses, func(t *testing.T) {
			st, err := h.Lookup(context.Background(), tt.uses)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				t.Log(err)
				for _, m := range tt.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error lacks %q:\n%s", m, err.Error())
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			spec := st.Spec()
			if spec.Name != tt.uses || spec.Version != "7+"+digest || spec.Summary != "test stage "+tt.stage {
				t.Errorf("spec name %q version %q summary %q", spec.Name, spec.Version, spec.Summary)
			}
			if err := spec.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestStandalone: run by hand, a plugin says what it is instead of hanging.
func TestStandalone(t *testing.T) {
	path := linkPlugin(t, t.TempDir(), "good")
	cmd := exec.Command(path)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("err = %v, want exit status 1", err)
	}
	if !strings.Contains(string(out), "This binary is a szrun plugin; it is started by szrun, not by hand") ||
		!strings.Contains(string(out), "uses: plugin:good") {
		t.Errorf("message:\n%s", out)
	}
}

// lookupStage is Lookup for a test that expects it to work.
func lookupStage(t *testing.T, h *Host, uses string) stages.Stage {
	t.Helper()
	st, err := h.Lookup(context.Background(), uses)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStartFailures: a plugin that never gets to the handshake.
func TestStartFailures(t *testing.T) {
	h := NewHost(Options{Dirs: []string{pluginDir(t, "early", "sleepy")}, StartTimeout: time.Second})
	defer h.Close()
	tests := []struct {
		mode string
		msg  []string
	}{
		{mode: "early", msg: []string{"exited (exit status 4) before the handshake", "| early: cannot find libnvinfer.so.10"}},
		{mode: "sleepy", msg: []string{"no go-plugin handshake on stdout within 1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			_, err := h.Lookup(context.Background(), "plugin:"+tt.mode)
			if !errors.Is(err, ErrStart) {
				t.Fatalf("err = %v, want ErrStart", err)
			}
			for _, m := range append([]string{"plugin " + tt.mode + " ("}, tt.msg...) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error lacks %q:\n%s", m, err.Error())
				}
			}
		})
	}
}
