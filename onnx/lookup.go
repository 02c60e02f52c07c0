package onnx

import (
	"strconv"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// DefaultDomain is the standard operator set's domain; "" means the same.
const DefaultDomain = "ai.onnx"

// OpsetFor returns the version m imports for domain ("" and "ai.onnx" are
// the same domain) and whether it imports it at all. With several entries
// for one domain, the highest wins, as nodes bind to it.
func OpsetFor(m *onnxpb.ModelProto, domain string) (int64, bool) {
	want := normDomain(domain)
	var v int64
	found := false
	for _, op := range m.GetOpsetImport() {
		if normDomain(op.GetDomain()) == want && (!found || op.GetVersion() > v) {
			v, found = op.GetVersion(), true
		}
	}
	return v, found
}

func normDomain(d string) string {
	if d == DefaultDomain {
		return ""
	}
	return d
}

// Initializer returns g's initializer called name, or nil.
func Initializer(g *onnxpb.GraphProto, name string) *onnxpb.TensorProto {
	for _, t := range g.GetInitializer() {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}

// Initializers maps g's initializer names to their tensors, for transforms
// that look many up.
func Initializers(g *onnxpb.GraphProto) map[string]*onnxpb.TensorProto {
	m := make(map[string]*onnxpb.TensorProto, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		m[t.GetName()] = t
	}
	return m
}

// ValueInfo returns the declared ValueInfoProto of name in g, looking at
// inputs, outputs and value_info in that order, or nil.
func ValueInfo(g *onnxpb.GraphProto, name string) *onnxpb.ValueInfoProto {
	for _, list := range [][]*onnxpb.ValueInfoProto{g.GetInput(), g.GetOutput(), g.GetValueInfo()} {
		for _, vi := range list {
			if vi.GetName() == name {
				return vi
			}
		}
	}
	return nil
}

// Dim is one dimension of a shape: a known size, a symbolic name, or
// neither (unknown).
type Dim struct {
	Value int64  `json:"value,omitempty"`
	Param string `json:"param,omitempty"`
	Known bool   `json:"known"`
}

// String renders d as its size, its symbol, or "?".
func (d Dim) String() string {
	switch {
	case d.Known:
		return strconv.FormatInt(d.Value, 10)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// TensorType is the element type and shape of a tensor value. Shape is nil
// when the rank is unknown.
type TensorType struct {
	Elem  int32 `json:"elem_type"`
	Shape []Dim `json:"shape"`
	// Ranked is false when no shape was declared at all.
	Ranked bool `json:"ranked"`
}

// ValueType returns the tensor type of name in g from its declaration
// (inputs, outputs, value_info) or, failing that, from an initializer. ok
// is false when name is not declared or is not a tensor.
func ValueType(g *onnxpb.GraphProto, name string) (TensorType, bool) {
	if vi := ValueInfo(g, name); vi != nil {
		if tt := vi.GetType().GetTensorType(); tt != nil {
			return tensorTypeOf(tt), true
		}
		return TensorType{}, false
	}
	if t := Initializer(g, name); t != nil {
		tt := TensorType{Elem: t.GetDataType(), Ranked: true, Shape: make([]Dim, len(t.GetDims()))}
		for i, d := range t.GetDims() {
			tt.Shape[i] = Dim{Value: d, Known: true}
		}
		return tt, true
	}
	return TensorType{}, false
}

func tensorTypeOf(tt *onnxpb.TypeProto_Tensor) TensorType {
	out := TensorType{Elem: tt.GetElemType()}
	if tt.Shape == nil {
		return out
	}
	out.Ranked = true
	out.Shape = make([]Dim, len(tt.Shape.GetDim()))
	for i, d := range tt.Shape.GetDim() {
		switch v := d.GetValue().(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			out.Shape[i] = Dim{Value: v.DimValue, Known: true}
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			out.Shape[i] = Dim{Param: v.DimParam}
		}
	}
	return out
}

// ShapeStrings renders a shape as strings ("1", "batch", "?"), nil when
// unranked.
func (t TensorType) ShapeStrings() []string {
	if !t.Ranked {
		return nil
	}
	s := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		s[i] = d.String()
	}
	return s
}
