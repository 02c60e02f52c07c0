package prune

import (
	"context"
	"math"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/stages/internal/evaluate"
)

func TestMagnitudeSmallAmountChangesOutputsALittle(t *testing.T) {
	testenv.RequireORT(t)
	for _, amount := range []float64{0.01, 0.05} {
		pruned, res := pruneFile(t, digitsModel, Options{Amount: amount}, false)
		if math.Abs(res.Sparsity-amount) > 0.001 {
			t.Errorf("amount %v: sparsity %v", amount, res.Sparsity)
		}
		checkModel(t, pruned)
		a, b := runData(t, digitsModel, digitsTest), runData(t, pruned, digitsTest)
		cmp := evaluate.Compare(a, b, nil).Output("logits")
		t.Logf("amount %v: max abs error %g, cosine %.6f, top-1 agreement %v", amount, cmp.MaxAbsError, cmp.Cosine, *cmp.Top1Agreement)
		if cmp.MaxAbsError == 0 || cmp.Cosine < 0.999 || *cmp.Top1Agreement < 0.99 {
			t.Errorf("amount %v: outputs changed by %g (cosine %v): want a small, non-zero change", amount, cmp.MaxAbsError, cmp.Cosine)
		}
	}
}

func TestUnstructuredSparsity(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"magnitude layer", Options{Amount: 0.4, Scope: "layer"}},
		{"magnitude global", Options{Amount: 0.4, Scope: "global"}},
		{"random layer", Options{Strategy: Random, Amount: 0.4, Scope: "layer", Seed: 3}},
		{"random global", Options{Strategy: Random, Amount: 0.4, Scope: "global", Seed: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m1 := loadProto(t, digitsModel)
			res, err := Apply(context.Background(), m1, c.o)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Sparsity-0.4) > 1e-4 {
				t.Errorf("sparsity %v, want 0.4", res.Sparsity)
			}
			for _, l := range res.Layers {
				if c.o.Scope != "global" && math.Abs(l.Sparsity-0.4) > 0.01 {
					t.Errorf("layer %s: sparsity %v, want 0.4", l.Name, l.Sparsity)
				}
			}
			// The same options give the same weights.
			m2 := loadProto(t, digitsModel)
			if _, err := Apply(context.Background(), m2, c.o); err != nil {
				t.Fatal(err)
			}
			for i, tns := range m1.GetGraph().GetInitializer() {
				a, _ := onnx.AsFloat32s(tns)
				b, _ := onnx.AsFloat32s(m2.GetGraph().GetInitializer()[i])
				for j := range a {
					if a[j] != b[j] {
						t.Fatalf("%s[%d]: %v then %v: not deterministic", tns.GetName(), j, a[j], b[j])
					}
				}
			}
		})
	}
}

func TestMagnitudeZeroesTheSmallest(t *testing.T) {
	m := loadProto(t, digitsModel)
	orig := map[string][]float32{}
	for _, tns := range m.GetGraph().GetInitializer() {
		orig[tns.GetName()], _ = onnx.AsFloat32s(tns)
	}
	if _, err := Apply(context.Background(), m, Options{Amount: 0.5, Exclude: []string{"/fc2/Gemm"}}); err != nil {
		t.Fatal(err)
	}
	for _, tns := range m.GetGraph().GetInitializer() {
		v, _ := onnx.AsFloat32s(tns)
		name := tns.GetName()
		if name == "fc2.weight" || len(tns.GetDims()) < 2 {
			if countZeros(v) != countZeros(orig[name]) {
				t.Errorf("%s was pruned but is excluded or not a weight", name)
			}
			continue
		}
		maxZeroed, minKept := 0.0, math.Inf(1)
		for i, x := range v {
			a := math.Abs(float64(orig[name][i]))
			if x == 0 {
				maxZeroed = max(maxZeroed, a)
			} else {
				minKept = min(minKept, a)
			}
		}
		if maxZeroed > minKept {
			t.Errorf("%s: zeroed |w| up to %g but kept %g", name, maxZeroed, minKept)
		}
	}
}

func TestNM(t *testing.T) {
	testenv.RequireORT(t)
	for _, pat := range []string{"2:4", "1:4", "3:8"} {
		t.Run(pat, func(t *testing.T) {
			pruned, res := pruneFile(t, resnetModel, Options{Strategy: NM, Pattern: pat}, false)
			checkModel(t, pruned)
			n, mm, _ := ParsePattern(pat)
			if len(res.Skipped) != 1 || res.Skipped[0] != "stem.0.weight" {
				t.Errorf("skipped %v: want the stem (3 input channels)", res.Skipped)
			}
			m := loadProto(t, pruned)
			ts := targets(m.GetGraph(), &Options{OpTypes: DefaultOpTypes})
			for _, tg := range ts {
				dims := tg.t.GetDims()
				if int(dims[tg.redAxis])%mm != 0 {
					continue
				}
				v, _ := onnx.AsFloat32s(tg.t)
				inner := 1
				for _, d := range dims[tg.redAxis+1:] {
					inner *= int(d)
				}
				k := int(dims[tg.redAxis])
				for o := 0; o < len(v)/(k*inner); o++ {
					for i := 0; i < inner; i++ {
						for g := 0; g < k; g += mm {
							nz := 0
							for j := g; j < g+mm; j++ {
								if v[(o*k+j)*inner+i] != 0 {
									nz++
								}
							}
							if nz > n {
								t.Fatalf("%s: group (%d, %d, %d) has %d non-zeros, pattern %s", tg.name, o, g, i, nz, pat)
							}
						}
					}
				}
			}
			runData(t, pruned, resnetData)
		})
	}
}
