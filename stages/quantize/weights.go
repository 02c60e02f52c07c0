package quantize

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/qmath"
)

// qweight is a quantized weight ready to become initializers.
type qweight struct {
	data   []byte
	dims   []int64
	params []qmath.Params // one, or one per channel
	axis   int
}

// quantizeWeight quantizes w (shape dims) per channel along axis when
// perChannel, else per tensor.
func quantizeWeight(w []float32, dims []int64, axis int, perChannel bool, o qmath.Options) (*qweight, error) {
	if !perChannel {
		q, p := qmath.Tensor(w, o)
		return &qweight{data: q, dims: dims, params: []qmath.Params{p}, axis: -1}, nil
	}
	q, ps, err := qmath.PerChannel(w, dims, axis, o)
	if err != nil {
		return nil, err
	}
	return &qweight{data: q, dims: dims, params: ps, axis: axis}, nil
}

func (w *qweight) scales() []float32 {
	s := make([]float32, len(w.params))
	for i, p := range w.params {
		s[i] = p.Scale
	}
	return s
}

// initializers returns the quantized data, scale and zero point tensors;
// per-tensor parameters are scalars.
func (w *qweight) initializers(base string, t qmath.Type) (q, scale, zp *onnxpb.TensorProto) {
	zps := make([]byte, len(w.params))
	for i, p := range w.params {
		zps[i] = byte(p.ZeroPoint)
	}
	var pd []int64
	if w.axis >= 0 {
		pd = []int64{int64(len(w.params))}
	}
	q = onnxb.Raw8(base+"_quantized", t == qmath.Int8, w.data, w.dims...)
	scale = onnxb.Floats(base+"_scale", w.scales(), pd...)
	zp = onnxb.Raw8(base+"_zero_point", t == qmath.Int8, zps, pd...)
	return q, scale, zp
}

// transpose2D returns the [c, r] transpose of a row-major [r, c] matrix.
func transpose2D(w []float32, r, c int) []float32 {
	out := make([]float32, len(w))
	for i := range r {
		for j := range c {
			out[j*r+i] = w[i*c+j]
		}
	}
	return out
}

// floatData reads a float initializer, naming it in the error. One whose data
// is still in its external file (onnx.LoadOptions.KeepExternal) is decoded
// from the file chunk by chunk, never held as raw bytes beside its values.
func (x *index) floatData(t *onnxpb.TensorProto) ([]float32, error) {
	if onnx.IsExternal(t) {
		n, err := onnx.NumElements(t.GetDims())
		if err != nil {
			return nil, fmt.Errorf("read initializer %q: %w", t.GetName(), err)
		}
		v := make([]float32, n)
		off := 0
		err = onnx.ReadExternal(t, x.dir, 16<<20, func(chunk []byte) error {
			for i := 0; i+4 <= len(chunk); i += 4 {
				v[off] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[i:]))
				off++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read initializer %q: %w", t.GetName(), err)
		}
		return v, nil
	}
	v, err := onnx.Float32s(t)
	if err != nil {
		return nil, fmt.Errorf("read initializer %q: %w", t.GetName(), err)
	}
	return v, nil
}

// scaled returns a copy of v times k (k == 1 returns v itself).
func scaled(v []float32, k float32) []float32 {
	if k == 1 {
		return v
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * k
	}
	return out
}

// pruneInitializers drops initializers (and their graph-input entries) that no
// node, subgraph or graph output reads any more.
func pruneInitializers(g *onnxpb.GraphProto) {
	used := map[string]bool{}
	_ = onnx.WalkGraphs(g, func(s *onnx.Scope) error {
		for _, n := range s.Graph.Node {
			for _, in := range n.Input {
				used[in] = true
			}
		}
		for _, o := range s.Graph.Output {
			used[o.GetName()] = true
		}
		return nil
	})
	removed := map[string]bool{}
	kept := g.Initializer[:0]
	for _, t := range g.Initializer {
		if used[t.GetName()] {
			kept = append(kept, t)
		} else {
			removed[t.GetName()] = true
		}
	}
	g.Initializer = kept
	ins := g.Input[:0]
	for _, vi := range g.Input {
		if !removed[vi.GetName()] {
			ins = append(ins, vi)
		}
	}
	g.Input = ins
}
