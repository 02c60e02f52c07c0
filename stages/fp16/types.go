package fp16

import (
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// nonTensor marks a value that is a sequence, map or optional: the
// converter never changes those, and nodes touching them stay float32.
const nonTensor = onnx.DataType(-1)

// scope is one graph of the model with the names it defines, kept up to
// date as the converter adds values (onnx.Scope caches its names).
type scope struct {
	g       *onnxpb.GraphProto
	parent  *scope
	defined map[string]bool
	// orig holds each value's element type in the original model; actual
	// its type after conversion, filled as the conversion goes.
	orig, actual map[string]onnx.DataType
	producer     map[string]*onnxpb.NodeProto
	inits        map[string]*onnxpb.TensorProto
}

func newScope(g *onnxpb.GraphProto, parent *scope) *scope {
	s := &scope{g: g, parent: parent, defined: map[string]bool{}, orig: map[string]onnx.DataType{},
		actual: map[string]onnx.DataType{}, producer: map[string]*onnxpb.NodeProto{}, inits: map[string]*onnxpb.TensorProto{}}
	for _, vi := range g.GetInput() {
		s.defined[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		s.defined[t.GetName()] = true
		s.inits[t.GetName()] = t
	}
	for _, sp := range g.GetSparseInitializer() {
		s.defined[sp.GetValues().GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" {
				s.defined[o] = true
				s.producer[o] = n
			}
		}
	}
	return s
}

// resolve returns the innermost scope defining name, or nil.
func (s *scope) resolve(name string) *scope {
	for c := s; c != nil; c = c.parent {
		if c.defined[name] {
			return c
		}
	}
	return nil
}

func (s *scope) origType(name string) onnx.DataType {
	if d := s.resolve(name); d != nil {
		return d.orig[name]
	}
	return onnx.Undefined
}

// declaredType reads a value's element type from g's declarations.
func declaredType(g *onnxpb.GraphProto, name string) onnx.DataType {
	vi := onnx.ValueInfo(g, name)
	if vi == nil || vi.GetType() == nil {
		return onnx.Undefined
	}
	return typeOfProto(vi.GetType())
}

func typeOfProto(tp *onnxpb.TypeProto) onnx.DataType {
	if tt := tp.GetTensorType(); tt != nil {
		return onnx.DataType(tt.GetElemType())
	}
	if tp.GetSequenceType() != nil || tp.GetMapType() != nil || tp.GetOptionalType() != nil || tp.GetSparseTensorType() != nil {
		return nonTensor
	}
	return onnx.Undefined
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// sameAsInput lists ops whose float outputs take the type of a given input
// rather than input 0.
var sameAsInput = map[string]int{"Where": 1, "OneHot": 2, "CastLike": 1, "DequantizeLinear": 1}

// fixedOutputs lists ops whose outputs have fixed types; Undefined means
// "as input 0".
var fixedOutputs = map[string][]onnx.DataType{
	"Shape": {onnx.Int64}, "Size": {onnx.Int64}, "NonZero": {onnx.Int64}, "ArgMax": {onnx.Int64}, "ArgMin": {onnx.Int64},
	"NonMaxSuppression": {onnx.Int64}, "Equal": {onnx.Bool}, "Less": {onnx.Bool}, "LessOrEqual": {onnx.Bool},
	"Greater": {onnx.Bool}, "GreaterOrEqual": {onnx.Bool}, "Not": {onnx.Bool}, "And": {onnx.Bool}, "Or": {onnx.Bool},
	"Xor": {onnx.Bool}, "IsNaN": {onnx.Bool}, "IsInf": {onnx.Bool}, "TopK": {onnx.Undefined, onnx.Int64},
	"MaxPool": {onnx.Undefined, onnx.Int64}, "Unique": {onnx.Undefined, onnx.Int64, onnx.Int64, onnx.Int64},
	"MatMulInteger": {onnx.Int32}, "ConvInteger": {onnx.Int32}, "SequenceLength": {onnx.Int64},
	"OptionalHasElement": {onnx.Bool}, "StringNormalizer": {onnx.String}, "TfIdfVectorizer": {onnx.Float},
	"DynamicQuantizeLinear": {onnx.Uint8, onnx.Float, onnx.Uint8}, "Dropout": {onnx.Undefined, onnx.Bool},
	"RegexFullMatch": {onnx.Bool}, "ImageDecoder": {onnx.Uint8}, "StringSplit": {onnx.String, onnx.Int64},
	"StringConcat": {onnx.String},
}

// nonTensorOps produce sequences or optionals.
var nonTensorOps = map[string]bool{"SequenceConstruct": true, "SequenceEmpty": true, "SequenceInsert": true,
	"SequenceErase": true, "SplitToSequence": true, "Optional": true, "SequenceMap": true}

// dtypeAttrOps take their output type from an attribute (name, default;
// Undefined default = as input 0).
var dtypeAttrOps = map[string]struct {
	attr string
	def  onnx.DataType
}{
	"Cast": {"to", onnx.Undefined}, "RandomNormal": {"dtype", onnx.Float}, "RandomUniform": {"dtype", onnx.Float},
	"RandomNormalLike": {"dtype", onnx.Undefined}, "RandomUniformLike": {"dtype", onnx.Undefined},
	"EyeLike": {"dtype", onnx.Undefined}, "Bernoulli": {"dtype", onnx.Undefined}, "Multinomial": {"dtype", onnx.Int32},
	"HannWindow": {"output_datatype", onnx.Float}, "HammingWindow": {"output_datatype", onnx.Float},
	"BlackmanWindow": {"output_datatype", onnx.Float}, "MelWeightMatrix": {"output_datatype", onnx.Float},
}

// castTo reads a Cast's target type; before opset 6 it was a string.
func castTo(a *onnxpb.AttributeProto) onnx.DataType {
	if a == nil {
		return onnx.Undefined
	}
	if len(a.GetS()) > 0 {
		if v, ok := onnxpb.TensorProto_DataType_value[string(a.GetS())]; ok {
			return onnx.DataType(v)
		}
		return onnx.Undefined
	}
	return onnx.DataType(a.GetI())
}

// inferOutputs returns the element type of each output of n, given its
// input types, its subgraphs' output types (If, Loop, Scan), and declared
// types as the fallback for what the rules do not cover.
func inferOutputs(s *scope, n *onnxpb.NodeProto, sub [][]onnx.DataType) []onnx.DataType {
	outs := make([]onnx.DataType, len(n.GetOutput()))
	in := func(i int) onnx.DataType {
		if i < len(n.GetInput()) && n.GetInput()[i] != "" {
			return s.origType(n.GetInput()[i])
		}
		return onnx.Undefined
	}
	op := n.GetOpType()
	std := n.GetDomain() == "" || n.GetDomain() == onnx.DefaultDomain
	for j := range outs {
		var t onnx.DataType
		switch {
		case !std:
			// Unknown ops: the declared type if any (below), else input 0's,
			// which holds for the layout and fused ops ONNX Runtime writes.
			t = in(0)
			if sch, ok := contribTable[op]; ok && n.GetDomain() == msDomain && sch.out(j) == codeFloat {
				t = onnx.Float
			}
		case op == "Constant":
			t = constantType(n)
		case op == "ConstantOfShape":
			t = onnx.Float
			if a := attr(n, "value"); a != nil && a.GetT() != nil {
				t = onnx.DataType(a.GetT().GetDataType())
			}
		case op == "LayerNormalization" && j > 0:
			t = onnx.Float
			if a := attr(n, "stash_type"); a != nil {
				t = onnx.DataType(a.GetI())
			}
		case op == "QuantizeLinear":
			t = in(2)
			if t == onnx.Undefined {
				t = onnx.Uint8
			}
		case op == "QLinearConv" || op == "QLinearMatMul":
			t = in(7)
		case op == "If" || op == "Loop" || op == "Scan":
			t = subOutput(op, sub, j)
		case nonTensorOps[op]:
			t = nonTensor
		default:
			if d, ok := dtypeAttrOps[op]; ok {
				t = d.def
				if a := attr(n, d.attr); a != nil {
					t = castTo(a)
				}
				if t == onnx.Undefined && op != "Cast" {
					t = in(0)
				}
			} else if f, ok := fixedOutputs[op]; ok {
				if j < len(f) {
					t = f[j]
				}
				if t == onnx.Undefined && j < len(f) {
					t = in(0)
				}
			} else if k, ok := sameAsInput[op]; ok {
				t = in(k)
			} else {
				t = in(0)
			}
		}
		if t == onnx.Undefined || t == nonTensor || !std {
			if d := declaredType(s.g, n.GetOutput()[j]); d != onnx.Undefined {
				t = d
			}
		}
		outs[j] = t
	}
	return outs
}

func subOutput(op string, sub [][]onnx.DataType, j int) onnx.DataType {
	if len(sub) == 0 {
		return onnx.Undefined
	}
	b := sub[0]
	if op == "Loop" { // body outputs: cond, carried..., scan outputs...
		j++
	}
	if j < len(b) {
		return b[j]
	}
	return onnx.Undefined
}

func constantType(n *onnxpb.NodeProto) onnx.DataType {
	for _, a := range n.GetAttribute() {
		switch a.GetName() {
		case "value":
			return onnx.DataType(a.GetT().GetDataType())
		case "sparse_value":
			return onnx.DataType(a.GetSparseTensor().GetValues().GetDataType())
		case "value_float", "value_floats":
			return onnx.Float
		case "value_int", "value_ints":
			return onnx.Int64
		case "value_string", "value_strings":
			return onnx.String
		}
	}
	return onnx.Undefined
}
