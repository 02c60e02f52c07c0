package quantize

import (
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
)

// qparams are a quantized value's three names: data, scale, zero point.
type qparams struct{ data, scale, zp string }

// toQOperator rewrites a QDQ graph into explicit integer operators wherever
// a node reads only DequantizeLinear outputs and writes only into one
// QuantizeLinear: Conv → QLinearConv, MatMul → QLinearMatMul, Gemm → QGemm,
// Add → QLinearAdd, Mul → QLinearMul, Sigmoid → QLinearSigmoid, LeakyRelu →
// QLinearLeakyRelu, Concat → QLinearConcat, GlobalAveragePool →
// QLinearGlobalAveragePool, and the
// pass-through ops (MaxPool, Flatten, Reshape, ...) run on the quantized
// values directly. What does not match stays QDQ. It returns the converted
// nodes' names with their new op types.
func toQOperator(g *onnxpb.GraphProto, opset int64) map[string]string {
	producer := onnx.Producers(g)
	consumers := onnx.Consumers(g)
	inits := onnx.Initializers(g)
	outputs := map[string]bool{}
	for _, o := range g.Output {
		outputs[o.GetName()] = true
	}
	// dq returns the quantized source of a DequantizeLinear output.
	dq := func(name string, wantInit bool) (qparams, bool) {
		p := producer[name]
		if p == nil || p.GetOpType() != "DequantizeLinear" || len(p.Input) < 3 {
			return qparams{}, false
		}
		if (inits[p.Input[0]] != nil) != wantInit {
			return qparams{}, false
		}
		return qparams{p.Input[0], p.Input[1], p.Input[2]}, true
	}
	// q returns the QuantizeLinear that alone reads out.
	q := func(out string) (*onnxpb.NodeProto, qparams, bool) {
		cs := consumers[out]
		if outputs[out] || len(cs) != 1 || cs[0].GetOpType() != "QuantizeLinear" || len(cs[0].Input) < 3 {
			return nil, qparams{}, false
		}
		c := cs[0]
		return c, qparams{c.Output[0], c.Input[1], c.Input[2]}, true
	}
	drop := map[*onnxpb.NodeProto]bool{}
	replace := map[*onnxpb.NodeProto]*onnxpb.NodeProto{}
	for _, n := range g.Node {
		op := n.GetOpType()
		if len(n.Input) == 0 || len(n.Output) != 1 && op != "MaxPool" {
			continue
		}
		x, ok := dq(n.Input[0], false)
		if !ok {
			continue
		}
		qn, y, ok := q(n.Output[0])
		if !ok {
			continue
		}
		var r *onnxpb.NodeProto
		switch {
		case op == "Conv" || op == "MatMul" || op == "Gemm":
			w, ok := dq(n.Input[1], true)
			if !ok {
				continue
			}
			in := []string{x.data, x.scale, x.zp, w.data, w.scale, w.zp}
			var bias string
			if len(n.Input) > 2 && n.Input[2] != "" {
				b, ok := dq(n.Input[2], true)
				if !ok {
					continue
				}
				bias = b.data
			}
			switch op {
			case "Conv":
				in = append(in, y.scale, y.zp)
				if bias != "" {
					in = append(in, bias)
				}
				r = onnxb.Node("QLinearConv", n.GetName(), in, []string{y.data})
				r.Attribute = n.Attribute
			case "MatMul":
				r = onnxb.Node("QLinearMatMul", n.GetName(), append(in, y.scale, y.zp), []string{y.data})
			case "Gemm":
				r = onnxb.MSNode("QGemm", n.GetName(), append(in, bias, y.scale, y.zp), []string{y.data})
				for _, a := range n.Attribute {
					if a.GetName() != "beta" { // QGemm has none: beta is folded into the bias
						r.Attribute = append(r.Attribute, a)
					}
				}
			}
		case op == "Add" || op == "Mul":
			if len(n.Input) != 2 {
				continue
			}
			b, ok := dq(n.Input[1], false)
			if !ok {
				if b, ok = dq(n.Input[1], true); !ok { // a HardSigmoid's beta
					continue
				}
			}
			r = onnxb.MSNode("QLinear"+op, n.GetName(), []string{x.data, x.scale, x.zp, b.data, b.scale, b.zp, y.scale, y.zp}, []string{y.data})
		case op == "Sigmoid":
			r = onnxb.MSNode("QLinearSigmoid", n.GetName(), []string{x.data, x.scale, x.zp, y.scale, y.zp}, []string{y.data})
		case op == "LeakyRelu":
			r = onnxb.MSNode("QLinearLeakyRelu", n.GetName(), []string{x.data, x.scale, x.zp, y.scale, y.zp}, []string{y.data})
			r.Attribute = n.Attribute
		case op == "Concat":
			in := []string{y.scale, y.zp}
			all := true
			for _, name := range n.Input {
				v, ok := dq(name, false)
				if !ok {
					all = false
					break
				}
				in = append(in, v.data, v.scale, v.zp)
			}
			if !all {
				continue
			}
			r = onnxb.MSNode("QLinearConcat", n.GetName(), in, []string{y.data})
			r.Attribute = n.Attribute
		case op == "GlobalAveragePool":
			r = onnxb.MSNode("QLinearGlobalAveragePool", n.GetName(), []string{x.data, x.scale, x.zp, y.scale, y.zp}, []string{y.data},
				onnxb.Int("channels_last", 0))
		case passthroughOps[op]:
			if !sameTensor(inits, x.scale, y.scale) || !sameTensor(inits, x.zp, y.zp) || (op == "MaxPool" && (opset < 12 || len(n.Output) > 1)) {
				continue
			}
			r = onnxb.Node(op, n.GetName(), append([]string{x.data}, n.Input[1:]...), []string{y.data})
			r.Attribute = n.Attribute
		default:
			continue
		}
		replace[n], drop[qn] = r, true
	}
	var nodes []*onnxpb.NodeProto
	for _, n := range g.Node {
		if drop[n] {
			continue
		}
		if r := replace[n]; r != nil {
			n = r
		}
		nodes = append(nodes, n)
	}
	g.Node = removeDeadDQ(g, nodes)
	done := map[string]string{}
	for n, r := range replace {
		done[n.GetName()] = r.GetOpType()
		if passthroughOps[r.GetOpType()] {
			done[n.GetName()] = r.GetOpType() + " on " + "INT8"
		}
	}
	return done
}

// removeDeadDQ drops DequantizeLinear nodes nobody reads any more.
func removeDeadDQ(g *onnxpb.GraphProto, nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	for {
		used := map[string]bool{}
		for _, n := range nodes {
			for _, in := range n.Input {
				used[in] = true
			}
		}
		for _, o := range g.Output {
			used[o.GetName()] = true
		}
		kept := nodes[:0:0]
		for _, n := range nodes {
			if n.GetOpType() == "DequantizeLinear" && !used[n.Output[0]] {
				continue
			}
			kept = append(kept, n)
		}
		if len(kept) == len(nodes) {
			return kept
		}
		nodes = kept
	}
}

// sameTensor reports whether two initializers hold the same values (Q/DQ
// parameters are written as raw data or float_data by this package).
func sameTensor(inits map[string]*onnxpb.TensorProto, a, b string) bool {
	if a == b {
		return true
	}
	ta, tb := inits[a], inits[b]
	if ta == nil || tb == nil || ta.GetDataType() != tb.GetDataType() || len(ta.Dims) != len(tb.Dims) ||
		onnx.IsExternal(ta) || onnx.IsExternal(tb) {
		return false
	}
	if string(ta.GetRawData()) != string(tb.GetRawData()) || len(ta.FloatData) != len(tb.FloatData) {
		return false
	}
	for i := range ta.FloatData {
		if ta.FloatData[i] != tb.FloatData[i] {
			return false
		}
	}
	return true
}
