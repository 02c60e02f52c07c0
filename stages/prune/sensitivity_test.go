package prune

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// TestSensitivityAllocation prunes the digits CNN's channels with uniform
// (global) and sensitivity allocation, measured on the calibration split and
// scored on the test split, and prints both for docs/pruning.md. It checks
// what must hold: every free group has a sensitivity, the less sensitive of
// two groups loses the larger share, and about amount of the channels go.
func TestSensitivityAllocation(t *testing.T) {
	testenv.RequireORT(t)
	labels := loadLabels(t, digitsTest)
	calib, err := evaluate.LoadData(digitsCalib)
	if err != nil {
		t.Fatal(err)
	}
	cal := &calibration{data: calib, opts: evaluate.Options{Threads: 1}}
	var tab strings.Builder
	fmt.Fprintf(&tab, "| allocation | 30%% | 40%% | 50%% | 60%% |\n|---|---|---|---|---|\n")
	for _, alloc := range []string{Uniform, Sensitivity} {
		fmt.Fprintf(&tab, "| %s |", alloc)
		for _, amount := range []float64{0.3, 0.4, 0.5, 0.6} {
			o := Options{Strategy: Structured, Amount: amount, Multiple: 1, Allocation: alloc, cal: cal, sens: cal}
			pruned, res := pruneFile(t, digitsModel, o, false)
			acc := evaluate.Accuracy(runData(t, pruned, digitsTest), "logits", labels)
			fmt.Fprintf(&tab, " %.2f |", 100*acc)
			if alloc != Sensitivity {
				continue
			}
			removed, total := 0, 0
			var free []*Group
			for _, g := range res.Groups {
				if g.Pinned != "" {
					continue
				}
				free = append(free, g)
				removed += g.Removed
				total += g.Channels
				if g.Sensitivity == nil {
					t.Errorf("%.1f: group %v has no sensitivity", amount, g.Layers)
					continue
				}
				t.Logf("%.1f: group %v sensitivity %.4g, removed %d of %d", amount, g.Layers, *g.Sensitivity, g.Removed, g.Channels)
			}
			if got := float64(removed) / float64(total); math.Abs(got-amount) > 0.05 {
				t.Errorf("%.1f: %d of %d free channels removed (%.3f)", amount, removed, total, got)
			}
			for _, x := range free {
				for _, y := range free {
					if *x.Sensitivity < *y.Sensitivity && x.Removed*y.Channels < y.Removed*x.Channels {
						t.Errorf("%.1f: %v (sensitivity %.3g) lost %d/%d, less than %v (%.3g) %d/%d", amount,
							x.Layers, *x.Sensitivity, x.Removed, x.Channels, y.Layers, *y.Sensitivity, y.Removed, y.Channels)
					}
				}
			}
		}
		tab.WriteString("\n")
	}
	t.Logf("digits_cnn test accuracy, structured, channel_multiple 1, compensated; sensitivity measured on digits_calib:\n%s", tab.String())
}
