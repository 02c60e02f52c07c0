package onnx

import (
	"fmt"
	"sort"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Stats summarizes a model for the inspect stage. Every map marshals to JSON
// with sorted keys and every slice is sorted, so the output is
// deterministic.
type Stats struct {
	IRVersion       int64            `json:"ir_version"`
	Producer        string           `json:"producer"`
	ProducerVersion string           `json:"producer_version"`
	Opsets          map[string]int64 `json:"opsets"` // domain ("" shown as "ai.onnx") -> version
	Nodes           int              `json:"nodes"`  // in all graphs, subgraphs included
	Subgraphs       int              `json:"subgraphs"`
	// Ops counts nodes by op type; ops outside ai.onnx are keyed
	// "domain:OpType".
	Ops     map[string]int `json:"ops"`
	Inputs  []ValueStats   `json:"inputs"` // graph inputs that are not initializers
	Outputs []ValueStats   `json:"outputs"`

	Initializers int   `json:"initializers"` // dense and sparse, all graphs
	Parameters   int64 `json:"parameters"`   // elements in initializers
	ParamBytes   int64 `json:"param_bytes"`  // their data size
	// ByType breaks parameters down by data type name ("FLOAT").
	ByType map[string]TypeStats `json:"by_type"`
	// Zeros and Sparsity (zeros/parameters) cover numeric initializers.
	Zeros    int64   `json:"zeros"`
	Sparsity float64 `json:"sparsity"`
	// Tensors lists each initializer, sorted by name.
	Tensors []TensorStats `json:"tensors"`
}

// ValueStats describes a graph input or output.
type ValueStats struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`  // element type, or "sequence"/"map"/... for non-tensors
	Shape []string `json:"shape"` // nil when unranked
}

// TypeStats totals initializers of one data type.
type TypeStats struct {
	Tensors  int   `json:"tensors"`
	Elements int64 `json:"elements"`
	Bytes    int64 `json:"bytes"`
}

// TensorStats describes one initializer.
type TensorStats struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Dims     []int64 `json:"dims"`
	Elements int64   `json:"elements"`
	Bytes    int64   `json:"bytes"`
	Zeros    int64   `json:"zeros"`
	Sparsity float64 `json:"sparsity"`
	Sparse   bool    `json:"sparse,omitempty"` // a sparse initializer
}

// ComputeStats summarizes m. Tensor data must be in memory (as after Load) for
// zeros to be counted; tensors left in external files count none.
func ComputeStats(m *onnxpb.ModelProto) (*Stats, error) {
	s := &Stats{
		IRVersion: m.GetIrVersion(), Producer: m.GetProducerName(), ProducerVersion: m.GetProducerVersion(),
		Opsets: map[string]int64{}, Ops: map[string]int{}, ByType: map[string]TypeStats{},
		Inputs: []ValueStats{}, Outputs: []ValueStats{}, Tensors: []TensorStats{},
	}
	for _, op := range m.GetOpsetImport() {
		d := op.GetDomain()
		if d == "" {
			d = DefaultDomain
		}
		if op.GetVersion() > s.Opsets[d] {
			s.Opsets[d] = op.GetVersion()
		}
	}
	g := m.GetGraph()
	for _, vi := range graphInputs(g) {
		s.Inputs = append(s.Inputs, valueStats(vi))
	}
	for _, vi := range g.GetOutput() {
		s.Outputs = append(s.Outputs, valueStats(vi))
	}
	err := WalkGraphs(g, func(sc *Scope) error {
		if sc.Parent != nil {
			s.Subgraphs++
		}
		for _, n := range sc.Graph.GetNode() {
			s.Nodes++
			key := n.GetOpType()
			if d := normDomain(n.GetDomain()); d != "" {
				key = d + ":" + key
			}
			s.Ops[key]++
		}
		for _, t := range sc.Graph.GetInitializer() {
			ts, err := tensorStats(t)
			if err != nil {
				return err
			}
			s.add(ts, DataTypeName(t.GetDataType()))
		}
		for _, sp := range sc.Graph.GetSparseInitializer() {
			v := sp.GetValues()
			n, err := NumElements(sp.GetDims())
			if err != nil {
				return fmt.Errorf("sparse initializer %q: %w", v.GetName(), err)
			}
			nnz, _ := NumElements(v.GetDims())
			b := RawSize(DataType(v.GetDataType()), nnz)
			ts := TensorStats{Name: v.GetName(), Type: DataTypeName(v.GetDataType()), Dims: sp.GetDims(),
				Elements: n, Bytes: max(b, 0), Zeros: n - nnz, Sparse: true}
			s.add(ts, ts.Type)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model stats: %w", err)
	}
	if s.Parameters > 0 {
		s.Sparsity = float64(s.Zeros) / float64(s.Parameters)
	}
	sort.Slice(s.Tensors, func(i, j int) bool { return s.Tensors[i].Name < s.Tensors[j].Name })
	return s, nil
}

func (s *Stats) add(ts TensorStats, typ string) {
	if ts.Elements > 0 {
		ts.Sparsity = float64(ts.Zeros) / float64(ts.Elements)
	}
	s.Tensors = append(s.Tensors, ts)
	s.Initializers++
	s.Parameters += ts.Elements
	s.ParamBytes += ts.Bytes
	s.Zeros += ts.Zeros
	bt := s.ByType[typ]
	bt.Tensors++
	bt.Elements += ts.Elements
	bt.Bytes += ts.Bytes
	s.ByType[typ] = bt
}

func tensorStats(t *onnxpb.TensorProto) (TensorStats, error) {
	n, err := NumElements(t.GetDims())
	if err != nil {
		return TensorStats{}, fmt.Errorf("initializer %q: %w", t.GetName(), err)
	}
	ts := TensorStats{Name: t.GetName(), Type: DataTypeName(t.GetDataType()), Dims: t.GetDims(), Elements: n}
	if ts.Dims == nil {
		ts.Dims = []int64{}
	}
	ts.Bytes = max(RawSize(DataType(t.GetDataType()), n), 0)
	if DataType(t.GetDataType()) == String {
		for _, b := range t.GetStringData() {
			ts.Bytes += int64(len(b))
		}
		return ts, nil
	}
	if IsExternal(t) {
		return ts, nil // kept in its file (LoadOptions.KeepExternal): zeros not counted
	}
	if z, ok := rawZeros(t, n); ok {
		ts.Zeros = z
	} else if v, err := AsFloat32s(t); err == nil {
		for _, x := range v {
			if x == 0 {
				ts.Zeros++
			}
		}
	}
	return ts, nil
}

// rawZeros counts the zero elements of a tensor held in raw_data straight from
// its bytes, so that statistics of a multi-GiB weight cost no decoded copy of
// it. A float's sign bit is ignored (-0 is zero). ok is false for types and
// layouts it does not cover (typed fields, sub-byte and 8-bit float types).
func rawZeros(t *onnxpb.TensorProto, n int64) (zeros int64, ok bool) {
	raw := t.GetRawData()
	dt := DataType(t.GetDataType())
	var signMask byte
	switch dt {
	case Float, Double, Float16, BFloat16:
		signMask = 0x7f // the last (most significant) byte holds the sign
	case Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64, Bool:
		signMask = 0xff
	default:
		return 0, false
	}
	size := int64(ElemSize(dt))
	if raw == nil || size == 0 || int64(len(raw)) != n*size {
		return 0, false
	}
	for off := int64(0); off < int64(len(raw)); off += size {
		e := raw[off : off+size]
		zero := e[size-1]&signMask == 0
		for i := int64(0); zero && i < size-1; i++ {
			zero = e[i] == 0
		}
		if zero {
			zeros++
		}
	}
	return zeros, true
}

// graphInputs returns g's inputs that are not also initializers (before IR
// 4 every initializer had to be listed as an input too).
func graphInputs(g *onnxpb.GraphProto) []*onnxpb.ValueInfoProto {
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var out []*onnxpb.ValueInfoProto
	for _, vi := range g.GetInput() {
		if !inits[vi.GetName()] {
			out = append(out, vi)
		}
	}
	return out
}

func valueStats(vi *onnxpb.ValueInfoProto) ValueStats {
	vs := ValueStats{Name: vi.GetName()}
	tp := vi.GetType()
	switch {
	case tp.GetTensorType() != nil:
		tt := tensorTypeOf(tp.GetTensorType())
		vs.Type = DataTypeName(tt.Elem)
		vs.Shape = tt.ShapeStrings()
	case tp.GetSequenceType() != nil:
		vs.Type = "sequence"
	case tp.GetMapType() != nil:
		vs.Type = "map"
	case tp.GetOptionalType() != nil:
		vs.Type = "optional"
	case tp.GetSparseTensorType() != nil:
		vs.Type = "sparse_tensor"
	case tp.GetOpaqueType() != nil:
		vs.Type = "opaque"
	default:
		vs.Type = "unknown"
	}
	return vs
}
