package prune

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/runtime"
)

// TestPruneAfterExtendedOptimize prunes the digits CNN after ONNX Runtime's
// extended optimizer fused its Conv+Relu into FusedConv: the weights are
// found again (the stage splits the fused ops), sparsity reaches the amount
// and the pruned model verifies against the labelled data.
func TestPruneAfterExtendedOptimize(t *testing.T) {
	testenv.RequireORT(t)
	ext := filepath.Join(t.TempDir(), "extended.onnx")
	if err := runtime.Optimize(context.Background(), digitsModel, ext, "extended", 1); err != nil {
		t.Fatal(err)
	}
	out, err := runStage(t, map[string]any{"model": ext, "amount": 0.3, "data": digitsTest})
	if err != nil {
		t.Fatal(err)
	}
	checkModel(t, out.Files["model"])
	if sp := out.Values["sparsity"].(float64); sp < 0.299 || sp > 0.301 {
		t.Errorf("sparsity %v after optimize(extended), want 0.3", sp)
	}
	if ls := out.Values["layer_sparsity"].(map[string]any); len(ls) != 4 {
		t.Errorf("layer_sparsity %v: want the four layers", ls)
	}
	if acc := out.Values["accuracy"].(float64); acc < 0.95 {
		t.Errorf("accuracy %v", acc)
	}
}
