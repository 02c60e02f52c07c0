package prune

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

// randomCNN builds a random graph of [N, C, 8, 8] tensors from the blocks the
// channel analysis knows (Conv, BN, Relu, residual Add, Concat, depthwise
// Conv, per-channel Mul, MaxPool) and some it must pin (Softmax over the
// channels, an intermediate graph output), ending in pooling or Flatten and a Gemm.
func randomCNN(seed uint64) *onnxpb.ModelProto {
	b := newBuilder()
	b.rng = rand.New(rand.NewPCG(seed, 1))
	r := b.rng
	type val struct {
		name string
		c    int64
	}
	vals := []val{{"x", 3}}
	id := 0
	name := func(p string) string { id++; return fmt.Sprintf("%s%d", p, id) }
	p1 := ais("pads", 1, 1, 1, 1)
	conv := func(in val, c int64) val {
		n := name("conv")
		b.node("Conv", n, []string{in.name, b.weight(n+".w", false, c, in.c, 3, 3), b.weight(n+".b", false, c)}, p1)
		return val{n, c}
	}
	var outputs []val
	for range 4 + r.IntN(6) {
		a := vals[r.IntN(len(vals))]
		if a.name == "x" {
			vals = append(vals, conv(a, 4+r.Int64N(9)))
			continue
		}
		switch r.IntN(9) {
		case 0, 1:
			vals = append(vals, conv(a, 4+r.Int64N(9)))
		case 2:
			n := name("bn")
			b.node("BatchNormalization", n, []string{a.name, b.weight(n+".s", false, a.c), b.weight(n+".b", false, a.c),
				b.weight(n+".m", false, a.c), b.weight(n+".v", true, a.c)})
			vals = append(vals, val{b.node("Relu", name("relu"), []string{n}), a.c})
		case 3:
			other := vals[r.IntN(len(vals))]
			if other.c != a.c || other.name == "x" {
				other = conv(other, a.c)
			}
			vals = append(vals, val{b.node("Add", name("add"), []string{a.name, other.name}), a.c})
		case 4:
			other := vals[r.IntN(len(vals))]
			if other.name == "x" {
				other = conv(other, 4)
			}
			vals = append(vals, val{b.node("Concat", name("cat"), []string{a.name, other.name}, ai("axis", 1)), a.c + other.c})
		case 5:
			n := name("dw")
			b.node("Conv", n, []string{a.name, b.weight(n+".w", false, a.c, 1, 3, 3)}, p1, ai("group", a.c))
			vals = append(vals, val{n, a.c})
		case 6:
			n := name("mul")
			vals = append(vals, val{b.node("Mul", n, []string{a.name, b.weight(n+".k", false, a.c, 1, 1)}), a.c})
		case 7:
			n := name("pool")
			vals = append(vals, val{b.node("MaxPool", n, []string{a.name}, ais("kernel_shape", 3, 3), p1), a.c})
		case 8:
			if r.IntN(2) == 0 {
				b.node("Softmax", name("softmax"), []string{a.name}, ai("axis", 1))
				outputs = append(outputs, val{fmt.Sprintf("softmax%d", id), a.c})
			} else {
				outputs = append(outputs, a)
			}
		}
	}
	last := vals[len(vals)-1]
	if last.name == "x" {
		last = conv(last, 6)
	}
	feat := last.c
	src := last.name
	var flat string
	switch r.IntN(3) {
	case 0:
		src = b.node("GlobalAveragePool", "gap", []string{src})
		flat = b.node("Flatten", "flat", []string{src})
	case 1:
		src = b.node("GlobalAveragePool", "gap", []string{src})
		flat = b.node("Squeeze", "flat", []string{src, b.ints("squeeze_axes", 2, 3)})
	default:
		feat *= 64
		flat = b.node("Flatten", "flat", []string{src})
	}
	b.node("Gemm", "logits", []string{flat, b.weight("fc.w", false, 5, feat), b.weight("fc.b", false, 5)}, ai("transB", 1))
	b.g.Input = []*onnxpb.ValueInfoProto{valueInfo("x", -1, 3, 8, 8)}
	b.g.Output = []*onnxpb.ValueInfoProto{valueInfo("logits", -1, 5)}
	for _, o := range outputs {
		b.g.Output = append(b.g.Output, valueInfo(o.name, -1, o.c, 8, 8))
	}
	return b.model()
}

// TestStructuredRandomGraphs checks the rewrite against channel masking on
// random graphs.
func TestStructuredRandomGraphs(t *testing.T) {
	testenv.RequireORT(t)
	for seed := uint64(1); seed <= 24; seed++ {
		for _, scope := range []string{"layer", "global"} {
			t.Run(fmt.Sprintf("seed%d/%s", seed, scope), func(t *testing.T) {
				orig := saveProto(t, randomCNN(seed), "orig.onnx")
				o := Options{Strategy: Structured, Amount: 0.5, Scope: scope, Multiple: 1}
				if seed%2 == 1 { // odd seeds also fold removed channels' means into biases
					d, err := randomData(context.Background(), orig)
					if err != nil {
						t.Fatal(err)
					}
					o.cal = &calibration{data: d}
				}
				pruned, res := pruneFile(t, orig, o, false)
				masked, _ := pruneFile(t, orig, o, true)
				if seed <= 2 {
					checkModel(t, orig)
					checkModel(t, pruned)
				}
				pinned := 0
				for _, g := range res.Groups {
					if g.Pinned != "" {
						pinned++
					}
				}
				t.Logf("%d nodes, %d groups, %d pinned, %d channels removed", len(randomCNN(seed).GetGraph().GetNode()), len(res.Groups), pinned, res.RemovedChannels)
				a, b := randomOutputs(t, pruned), randomOutputs(t, masked)
				for _, name := range a.Names {
					if cl := evaluate.AllClose(b.Tensors[name], a.Tensors[name], 1e-4, 1e-4); cl.Exceeding > 0 {
						for _, g := range res.Groups {
							t.Logf("group %v: %d/%d removed, pinned %q", g.Layers, g.Removed, g.Channels, g.Pinned)
						}
						t.Errorf("output %s: %d elements differ from the masked model (worst ratio %g)", name, cl.Exceeding, cl.Worst)
					}
				}
			})
		}
	}
}
