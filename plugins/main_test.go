package plugins

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ortruntime "github.com/sentinelzer0/szrun/runtime"
	"github.com/sentinelzer0/szrun/stages"
)

// testBin is the test plugin built once for the whole test binary; linkPlugin
// puts it in a directory under the name that selects its behaviour.
var testBin string

func TestMain(m *testing.M) {
	ortruntime.MaybeServeWorker()
	if dir := os.Getenv(hostModeEnv); dir != "" {
		runHost(dir) // a child of TestHostDies
		return
	}
	dir, err := os.MkdirTemp("", "szrun-plugins-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBin = filepath.Join(dir, "testplugin")
	build := exec.Command("go", "build", "-o", testBin, "./internal/testplugin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build test plugin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// linkPlugin installs the test plugin as szrun-plugin-<mode> in dir.
func linkPlugin(t *testing.T, dir, mode string) string {
	t.Helper()
	path := filepath.Join(dir, "szrun-plugin-"+mode)
	if err := linkOrCopy(testBin, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// linkOrCopy hard-links from to to, copying where links are not possible.
func linkOrCopy(from, to string) error {
	if os.Link(from, to) == nil {
		return nil
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// pluginDir returns a directory holding the test plugin under each mode.
func pluginDir(t *testing.T, modes ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, m := range modes {
		linkPlugin(t, dir, m)
	}
	return dir
}

// syncBuffer is a bytes.Buffer safe for the concurrent writers a plugin's
// output has.
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

var _ io.Writer = (*syncBuffer)(nil)

// processGone reports whether pid has exited (a zombie counts: in a container
// nobody may reap it).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// hostModeEnv makes the test binary act as a szrun host that runs the hang
// plugin in the directory it names, so TestHostDies can kill a host.
const hostModeEnv = "SZRUN_PLUGINS_TEST_HOST"

func runHost(dir string) {
	h := NewHost(Options{Dirs: []string{dir}})
	st, err := h.Lookup(context.Background(), "plugin:hang")
	if err == nil {
		work := filepath.Join(dir, "work")
		if err = os.Mkdir(work, 0o755); err == nil {
			var params map[string]any
			params, err = st.Spec().Coerce(map[string]any{"text": "x"}, stages.CoerceOptions{})
			if err == nil {
				_, err = st.Run(context.Background(), &stages.Input{Params: params, WorkDir: work})
			}
		}
	}
	fmt.Fprintln(os.Stderr, "host:", err)
	os.Exit(1)
}
