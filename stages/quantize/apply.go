package quantize

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
)

// rewriter holds one quantization pass over a model's main graph.
type rewriter struct {
	cfg     *Config
	x       *index
	namer   *onnx.Namer
	opset   int64
	inits   []*onnxpb.TensorProto
	dec     map[*onnxpb.NodeProto]*Decision
	replace map[*onnxpb.NodeProto][]*onnxpb.NodeProto
	extra   []*onnxpb.NodeProto
	ms      bool // a com.microsoft node was emitted
	// warnings are facts worth a log line (saturated biases, ...).
	warnings []string
}

func (q *rewriter) addInits(ts ...*onnxpb.TensorProto) { q.inits = append(q.inits, ts...) }

func (q *rewriter) decide(n *onnxpb.NodeProto, quantized bool, as, reason string) {
	q.dec[n] = &Decision{Node: n.GetName(), OpType: n.GetOpType(), Quantized: quantized, As: as, Reason: reason}
}

// gate returns why the user's selection keeps n in float, or "".
func (q *rewriter) gate(n *onnxpb.NodeProto) string {
	switch {
	case q.cfg.Exclude[n.GetName()]:
		return "excluded by exclude"
	case q.cfg.Float[n.GetName()]:
		return "kept in float by the accuracy budget"
	case !q.cfg.selected(n.GetOpType()):
		if len(q.cfg.OpTypes) > 0 {
			return "op type not in op_types"
		}
		return fmt.Sprintf("%s is not an op %s quantizes by default (no faster INT8 kernel in ONNX Runtime's CPU engine)", n.GetOpType(), q.cfg.Mode)
	}
	return ""
}

// Apply quantizes m's main graph in place as cfg says; static mode needs
// ranges for every tensor StaticTensors named. It returns one decision per
// node of the graph as it was given, in graph order.
func Apply(m *onnxpb.ModelProto, cfg Config, ranges map[string]calib.Range) ([]Decision, []string, error) {
	g := m.Graph
	if g == nil {
		return nil, nil, errors.New("model has no graph")
	}
	// Unnamed nodes get names so that decisions and excludes can say which.
	namer := onnx.NewNamer(m)
	for i, n := range g.Node {
		if n.GetName() == "" {
			n.Name = proto.String(namer.Name(nodeName(n, i)))
		}
	}
	opset, _ := onnx.OpsetFor(m, "")
	x := newIndex(g)
	x.dir = cfg.Dir
	q := &rewriter{cfg: &cfg, x: x, namer: namer, opset: opset,
		dec: map[*onnxpb.NodeProto]*Decision{}, replace: map[*onnxpb.NodeProto][]*onnxpb.NodeProto{}}
	if cfg.PerChannel && opset < 13 {
		q.cfg.PerChannel = false
		q.warnings = append(q.warnings, fmt.Sprintf("opset %d < 13 has no per-axis DequantizeLinear: weights quantized per tensor", opset))
	}
	var err error
	if cfg.Mode == ModeDynamic {
		err = q.dynamic()
	} else {
		err = q.static(ranges)
	}
	if err != nil {
		return nil, nil, err
	}
	orig := g.Node
	var nodes []*onnxpb.NodeProto
	decisions := make([]Decision, 0, len(orig))
	for _, n := range orig {
		if d := q.dec[n]; d != nil {
			decisions = append(decisions, *d)
		} else {
			decisions = append(decisions, Decision{Node: n.GetName(), OpType: n.GetOpType(), Reason: "not a candidate"})
		}
		if r, ok := q.replace[n]; ok {
			nodes = append(nodes, r...)
			continue
		}
		nodes = append(nodes, n)
	}
	g.Node = append(nodes, q.extra...)
	if cfg.Mode == ModeStatic {
		g.Node = removeDeadDQ(g, g.Node) // a HardSigmoid's input may no longer need its own
	}
	g.Initializer = append(g.Initializer, q.inits...)
	if err := onnx.TopoSort(g); err != nil {
		return nil, nil, fmt.Errorf("sort quantized graph: %w", err)
	}
	if cfg.Mode == ModeStatic && cfg.Format == FormatQOp {
		converted := toQOperator(g, opset)
		for i, d := range decisions {
			if op, ok := converted[d.Node]; ok && d.Quantized {
				decisions[i].As = op
			}
		}
	}
	pruneInitializers(g)
	for _, n := range g.Node {
		if n.GetDomain() == "com.microsoft" {
			q.ms = true
		}
	}
	if q.ms {
		if _, ok := onnx.OpsetFor(m, "com.microsoft"); !ok {
			m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)})
		}
	}
	return decisions, q.warnings, nil
}

// dynamicConvReason is why int8-dynamic keeps a Conv in float. dynamic's
// own warning counts these Convs, so coverageWarning leaves them out.
const dynamicConvReason = "int8-dynamic keeps Conv in float: ONNX Runtime's CPU engine has no u8s8 ConvInteger kernel and its u8u8 one is slower than float Conv (use int8-static for CNNs)"

// dynamic rewrites every selected MatMul and Gemm with a constant weight into
// DynamicQuantizeMatMul and explains every other node.
func (q *rewriter) dynamic() error {
	defer func() {
		convs := 0
		for _, d := range q.dec {
			if d.OpType == "Conv" && !d.Quantized {
				convs++
			}
		}
		if convs > 0 {
			q.warnings = append(q.warnings, fmt.Sprintf("int8-dynamic keeps %d Conv layers in float (no fast dynamic INT8 Conv in ONNX Runtime's CPU engine): give calibration.data to quantize them with int8-static", convs))
		}
	}()
	for _, n := range q.x.g.Node {
		if q.dec[n] != nil {
			continue // an Add already absorbed as a bias
		}
		op := n.GetOpType()
		if why := q.gate(n); why != "" {
			if op == "Conv" && !q.cfg.Exclude[n.GetName()] && !q.cfg.Float[n.GetName()] {
				why = dynamicConvReason
			}
			q.decide(n, false, "", why)
			continue
		}
		if op == "Gather" {
			why, err := q.gather(n)
			if err != nil {
				return err
			}
			if why != "" {
				q.decide(n, false, "", why)
			}
			continue
		}
		if op != "MatMul" && op != "Gemm" {
			q.decide(n, false, "", fmt.Sprintf("int8-dynamic quantizes only MatMul, Gemm and Gather tables, not %s", op))
			continue
		}
		l, why, err := q.x.asLinear(n, true)
		if err != nil {
			return fmt.Errorf("node %q: %w", n.GetName(), err)
		}
		if l == nil {
			q.decide(n, false, "", why)
			continue
		}
		repl, err := q.dynamicMatMul(l)
		if err != nil {
			return err
		}
		q.replace[n] = repl
		reason := "constant weight, per-tensor"
		if q.cfg.PerChannel {
			reason = "constant weight, per output column"
		}
		q.decide(n, true, "DynamicQuantizeMatMul", reason)
		if l.biasNode != nil {
			q.replace[l.biasNode] = nil
			q.decide(l.biasNode, true, "bias of "+n.GetName(), "constant [N] Add absorbed as the float bias of DynamicQuantizeMatMul")
		}
	}
	return nil
}
