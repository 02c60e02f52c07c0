package zoo

import (
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/engine"
)

// TestCrashRow: a model whose run took szrun down (ONNX Runtime segfaulting
// in-process) gets a row naming the signal and the stage, and its other cells
// say they were not reached, instead of stopping the zoo.
func TestCrashRow(t *testing.T) {
	stderr := "18:08:06 INFO stage started stage=opt_all[x]\n18:08:06 INFO stage started stage=fp16[x] uses=fp16\nSIGSEGV: segmentation violation\nPC=0x7f\n"
	if !crashed(stderr) {
		t.Fatal("crash not recognized")
	}
	res := crashResult("x", stderr)
	cells := Cells(res)
	if c := cells["fp16"]; c.Status != "failed" || !strings.Contains(c.Reason, "SIGSEGV") || !strings.Contains(c.Reason, "fp16[x]") {
		t.Errorf("fp16 cell %+v", c)
	}
	if c := cells["q_static"]; c.OK() || !strings.Contains(c.Reason, "not reached") {
		t.Errorf("q_static cell %+v", c)
	}
	md := Markdown(map[string]*engine.Result{"x": res}, []string{"x"}, "")
	if !strings.Contains(md, "| x | ⏭ skip") || !strings.Contains(md, "szrun died (SIGSEGV) in fp16[x]") {
		t.Errorf("table:\n%s", md)
	}
}

// TestCells reads sizes, timings and errors from a record.
func TestCells(t *testing.T) {
	res := &engine.Result{Stages: []*engine.StageResult{
		{Stage: "q_static", Status: "succeeded", Outputs: map[string]any{"size_ratio": 0.26, "max_rel_error": 0.01}},
		{Stage: "bench_q_static", Status: "succeeded", Outputs: map[string]any{"speedup": map[string]any{"q_static": 2.5, "opt_extended": 1.25}}},
		{Stage: "fp16", Status: "failed", Error: "fp16: boom\nmore"},
	}}
	c := Cells(res)
	if q := c["q_static"]; !q.OK() || q.Size != 0.26 || q.Speedup != 2.5 || q.Err != 0.01 {
		t.Errorf("q_static %+v", q)
	}
	if f := c["fp16"]; f.OK() || f.Reason != "fp16: boom" {
		t.Errorf("fp16 %+v", f)
	}
	rows := INT8Results(map[string]*engine.Result{"m": res}, []string{"m"}, map[string]string{"m": "cnn"}, "cnn")
	if len(rows) != 1 || rows[0].Static != 2 {
		t.Errorf("int8 rows %+v", rows)
	}
}

func TestFirstLineDropsPaths(t *testing.T) {
	got := firstLine("optimize: verify: run original /root/.cache/szrun-zoo/recipe/18739/.szrun/work/20261204T185247Z-5e7359/opt_basic_M_-52134254/normalized.onnx: read /root/.cache/szrun-zoo/models/td_x.onnx: boom\nmore")
	want := "optimize: verify: run original normalized.onnx: read models/td_x.onnx: boom"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
