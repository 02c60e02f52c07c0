package plugins

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
)

// TestValidateRPC: the host asks a real plugin binary (sdk, typed params)
// to check parameters; a rule that reads a value not known yet is skipped.
func TestValidateRPC(t *testing.T) {
	h := NewHost(Options{Dirs: []string{pluginDir(t, "good")}})
	defer h.Close()
	st := lookupStage(t, h, "plugin:good")
	c, ok := st.(stages.ParamChecker)
	if !ok {
		t.Fatal("plugin stage is not a ParamChecker")
	}
	ctx := context.Background()
	errs := c.CheckParams(ctx, map[string]any{"text": nil, "count": int64(2), "ratio": 2.0, "opts": map[string]any{"precision": "int8"}}, true)
	if len(errs) != 1 || errs[0].Path != "ratio" || errs[0].Msg != "2: int8 needs a ratio of at most 1" {
		t.Errorf("problems = %v", errs)
	}
	if errs := c.CheckParams(ctx, map[string]any{"text": "x", "ratio": nil, "opts": map[string]any{"precision": "int8"}}, true); len(errs) != 0 {
		t.Errorf("ratio unknown: problems = %v", errs)
	}
	if errs := c.CheckParams(ctx, map[string]any{"text": "x", "ratio": 2.0, "opts": map[string]any{"precision": "int8"}}, false); len(errs) != 0 {
		t.Errorf("before the run the plugin's Run checks, not Validate: %v", errs)
	}
}

// checkOldPlugin: a plugin without Validate (the Python protocol test plugin
// implements only Describe and Run) is skipped with a note.
func checkOldPlugin(t *testing.T, dirs []string) {
	var logs bytes.Buffer
	h := NewHost(Options{Dirs: dirs, Logger: log.New(&logs), Env: os.Environ()}) // PYTHONPATH reaches the plugin
	defer h.Close()
	st := lookupStage(t, h, "plugin:py")
	if errs := st.(stages.ParamChecker).CheckParams(context.Background(), map[string]any{"who": "world"}, true); len(errs) != 0 {
		t.Errorf("old plugin: problems = %v", errs)
	}
	if !bytes.Contains(logs.Bytes(), []byte("plugin has no Validate")) {
		t.Errorf("no note about the missing Validate:\n%s", logs.String())
	}
}
