package quantize

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/internal/onnxb"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
	"github.com/sentinelzer0/szrun/stages/quantize/qmath"
)

// StaticTensors returns the tensors static quantization of m with cfg needs
// calibrated, without changing m.
func StaticTensors(m *onnxpb.ModelProto, cfg Config) ([]string, error) {
	c := proto.Clone(m).(*onnxpb.ModelProto)
	opset, _ := onnxOpset(c)
	x := newIndex(c.Graph)
	x.dir = cfg.Dir
	q := &rewriter{cfg: &cfg, x: x, opset: opset, dec: map[*onnxpb.NodeProto]*Decision{}}
	p, err := q.planStatic()
	if err != nil {
		return nil, err
	}
	return p.CalibrationTensors(), nil
}

// static plans the INT8 region and writes it as QDQ: a QuantizeLinear →
// DequantizeLinear pair on each region tensor, DequantizeLinear of int8
// weights (per channel) and int32 biases, Relu/Clip folded into the
// producer's output quantization.
func (q *rewriter) static(ranges map[string]calib.Range) error {
	p, err := q.planStatic()
	if err != nil {
		return err
	}
	acts := map[string]qmath.Params{}
	qmin, qmax := q.cfg.Activation.Range(q.cfg.SymActs, false)
	for _, t := range p.qdq {
		r, ok := p.fixed[p.root(t)]
		if !ok {
			r, ok = ranges[p.root(t)]
		}
		if !ok {
			return fmt.Errorf("no calibrated range for tensor %q", p.root(t))
		}
		if b, ok := p.bounds[t]; ok {
			r = calib.Range{Min: max(r.Min, b.Min), Max: min(r.Max, b.Max)}
		}
		acts[t] = qmath.ComputeParams(r.Min, r.Max, qmin, qmax, q.cfg.SymActs)
	}
	for _, t := range p.qdq {
		acts[t] = acts[p.root(t)]
	}
	for n, r := range p.fold {
		n.Output[0] = r.Output[0]
		q.replace[r] = nil
		q.decide(r, true, "folded into "+n.GetName(), "exact: the output's QuantizeLinear saturates where it clamps")
	}
	bn := map[*onnxpb.NodeProto]bool{}
	for n := range p.core {
		if n.GetOpType() == "BatchNormalization" {
			bn[n] = true
			if err := q.bnAsConv(n); err != nil {
				return fmt.Errorf("node %q: %w", n.GetName(), err)
			}
		}
	}
	// Weight and bias quantization need each core node's input parameters,
	// looked up by the input's name before Q/DQ insertion renames it.
	coreIn := map[*onnxpb.NodeProto]qmath.Params{}
	for n := range p.core {
		coreIn[n] = acts[n.Input[0]]
	}
	inputOf := map[*onnxpb.NodeProto]string{}
	for _, n := range p.order {
		inputOf[n] = n.Input[0]
	}
	quantized := map[string]qtensor{}
	for _, t := range p.qdq {
		quantized[t] = q.insertQDQ(t, acts[t], p)
	}
	for _, n := range p.order {
		l, isCore := p.core[n]
		switch n.GetOpType() {
		case "HardSigmoid":
			q.replace[n] = q.hardSigmoid(n.GetName(), attrFloat(n, "alpha", 0.2), attrFloat(n, "beta", 0.5),
				quantized[inputOf[n]], acts[inputOf[n]], n.Output[0])
			q.decide(n, true, "QDQ Add", "written as an Add whose output quantization saturates at 0 and 1: runs as QLinearAdd")
			continue
		case "ReduceMean":
			q.meanAsPool(n, acts[p.out[n]])
			q.decide(n, true, "QDQ GlobalAveragePool", "the mean over the spatial axes is GlobalAveragePool (then Flatten without keepdims): runs as QLinearGlobalAveragePool")
			continue
		case "HardSwish":
			q.hardSwish(n, quantized[inputOf[n]], acts[inputOf[n]])
			q.decide(n, true, "QDQ Add, Mul", "x times HardSigmoid(x), written as an Add saturating at 0 and 1: runs as QLinearAdd and QLinearMul")
			continue
		}
		if !isCore {
			q.decide(n, true, "QDQ", "all inputs INT8: runs as an integer kernel between quantized neighbours")
			continue
		}
		padded := 0
		if l == nil && !bn[n] {
			padded = q.padStem(n, inputOf[n], quantized[inputOf[n]])
		}
		if err := q.staticWeights(n, l, coreIn[n], padded); err != nil {
			return fmt.Errorf("node %q: %w", n.GetName(), err)
		}
		why := "constant weight, per-tensor"
		if q.cfg.PerChannel {
			why = "constant weight, per channel"
		}
		if padded > 0 {
			why += fmt.Sprintf("; input channels padded with %d zero channel(s) to a multiple of 4, which ONNX Runtime's symmetric INT8 conv kernel needs", padded)
		}
		if bn[n] {
			why = "constant statistics: runs as a depthwise 1x1 Conv, " + why[len("constant weight, "):]
		}
		q.decide(n, true, "QDQ", why)
		if bn[n] {
			q.dec[n].OpType = "BatchNormalization"
		}
	}
	return nil
}

// qtensor names a quantized activation: data, scale, zero point.
type qtensor struct{ data, scale, zp string }

// insertQDQ adds t → QuantizeLinear → DequantizeLinear and makes every
// reader of t read the dequantized value instead; a graph output keeps the
// producer's float value. A Shape or Size reads the quantized tensor, which
// has the same shape: read from the dequantized one, it would keep a whole
// DequantizeLinear running in float just for its shape (ShuffleNetV2's
// channel split and shuffle take the shape of every block's output).
func (q *rewriter) insertQDQ(t string, pr qmath.Params, p *staticPlan) qtensor {
	qt, dv, nodes := q.qdq(t, pr)
	q.extra = append(q.extra, nodes...)
	for _, c := range q.x.consumers[t] {
		if p.folded[c] {
			continue
		}
		to := dv
		if shapeOnlyOps[c.GetOpType()] {
			to = qt.data
		}
		for i, in := range c.Input {
			if in == t {
				c.Input[i] = to
			}
		}
	}
	return qt
}

// shapeOnlyOps read only their input's shape, never its values.
var shapeOnlyOps = map[string]bool{"Shape": true, "Size": true}

// qdq makes t → QuantizeLinear → DequantizeLinear with pr's scale and zero
// point (new initializers): the quantized tensor, the dequantized value's
// name and the two nodes.
func (q *rewriter) qdq(t string, pr qmath.Params) (qtensor, string, []*onnxpb.NodeProto) {
	base := q.namer.Name(t + "_q")
	scale := onnxb.Floats(base+"_scale", []float32{pr.Scale})
	zp := onnxb.Raw8(base+"_zero_point", q.cfg.Activation == qmath.Int8, []byte{byte(pr.ZeroPoint)})
	scale.Dims, zp.Dims = nil, nil
	q.addInits(scale, zp)
	qv, dv := q.namer.Name(t+"_quantized"), q.namer.Name(t+"_dequantized")
	return qtensor{qv, scale.GetName(), zp.GetName()}, dv, []*onnxpb.NodeProto{
		onnxb.Node("QuantizeLinear", q.namer.Name(t+"_QuantizeLinear"), []string{t, scale.GetName(), zp.GetName()}, []string{qv}),
		onnxb.Node("DequantizeLinear", q.namer.Name(t+"_DequantizeLinear"), []string{qv, scale.GetName(), zp.GetName()}, []string{dv}),
	}
}

// hardSigmoid writes HardSigmoid(x) = clip(alpha*x + beta, 0, 1) into out
// as DequantizeLinear(x_q, alpha*x_scale, x_zp) + beta. Quantized on [0, 1]
// (hardSigmoidRange), the output QuantizeLinear saturates exactly where the
// clip clamps, and ONNX Runtime fuses the group into one QLinearAdd (a
// float HardSigmoid would need a DequantizeLinear and a QuantizeLinear
// around it). beta is an exactly representable quantized constant.
func (q *rewriter) hardSigmoid(name string, alpha, beta float32, x qtensor, in qmath.Params, out string) []*onnxpb.NodeProto {
	signed := q.cfg.Activation == qmath.Int8
	base := q.namer.Name(name + "_x")
	xs := onnxb.Floats(base+"_scale", []float32{in.Scale * alpha})
	xs.Dims = nil
	q.addInits(xs)
	xa := q.namer.Name(base + "_scaled")
	// beta = scale * (v - zp) with v at the end of the type's range.
	v, zp, bs := byte(255), byte(0), beta/255
	switch {
	case signed:
		v, bs = 127, beta/127
		if beta < 0 {
			v, bs = 0x81, -beta/127 // -127
		}
	case beta < 0:
		v, zp, bs = 0, 255, -beta/255
	}
	bbase := q.namer.Name(name + "_beta")
	bq := onnxb.Raw8(bbase+"_quantized", signed, []byte{v})
	bsc := onnxb.Floats(bbase+"_scale", []float32{bs})
	bzp := onnxb.Raw8(bbase+"_zero_point", signed, []byte{zp})
	bq.Dims, bsc.Dims, bzp.Dims = nil, nil, nil
	q.addInits(bq, bsc, bzp)
	bout := q.dequantize(bbase, bq.GetName(), bsc.GetName(), bzp.GetName(), -1)
	return []*onnxpb.NodeProto{
		onnxb.Node("DequantizeLinear", q.namer.Name(base+"_DequantizeLinear"), []string{x.data, xs.GetName(), x.zp}, []string{xa}),
		onnxb.Node("Add", q.namer.Name(name), []string{xa, bout}, []string{out}),
	}
}

// hardSigmoidRange is the fixed range of a HardSigmoid output.
var hardSigmoidRange = calib.Range{Min: 0, Max: 1}

// hardSwish replaces HardSwish(x) = x * HardSigmoid(x) (alpha 1/6, beta
// 1/2) by the HardSigmoid above, quantized on [0, 1], times x: two integer
// kernels (QLinearAdd, QLinearMul) instead of a float op between
// conversions.
func (q *rewriter) hardSwish(n *onnxpb.NodeProto, x qtensor, in qmath.Params) {
	hs := q.namer.Name(n.GetName() + "_hardsigmoid")
	nodes := q.hardSigmoid(n.GetName()+"_hardsigmoid", 1.0/6, 0.5, x, in, hs)
	qmin, qmax := q.cfg.Activation.Range(false, false)
	pr := qmath.ComputeParams(hardSigmoidRange.Min, hardSigmoidRange.Max, qmin, qmax, false)
	_, dv, pair := q.qdq(hs, pr)
	nodes = append(append(nodes, pair...),
		onnxb.Node("Mul", n.GetName(), []string{n.Input[0], dv}, []string{n.Output[0]}))
	q.replace[n] = nodes
}

// meanAsPool replaces a ReduceMean over the spatial axes (checked by
// spatialMean) by the GlobalAveragePool that computes it; without keepdims,
// a Flatten then drops the two 1s, its input quantized as its output (out's
// parameters) so that ONNX Runtime runs it on the integers.
func (q *rewriter) meanAsPool(n *onnxpb.NodeProto, out qmath.Params) {
	if attrInt(n, "keepdims", 1) != 0 {
		q.replace[n] = []*onnxpb.NodeProto{onnxb.Node("GlobalAveragePool", n.GetName(), n.Input[:1], n.Output)}
		return
	}
	pooled := q.namer.Name(n.GetName() + "_pooled")
	_, dv, pair := q.qdq(pooled, out)
	q.replace[n] = append(append([]*onnxpb.NodeProto{onnxb.Node("GlobalAveragePool", n.GetName(), n.Input[:1], []string{pooled})}, pair...),
		onnxb.Node("Flatten", q.namer.Name(n.GetName()+"_flatten"), []string{dv}, n.Output, onnxb.Int("axis", 1)))
}

// padStem pads the quantized input of a Conv that reads a model input
// with fewer channels than a multiple of 4 (an image's 3) to that multiple,
// with the zero point, and returns how many channels it added (0: none).
// MLAS's symmetric INT8 conv kernel needs a multiple of 4 input channels;
// without it ONNX Runtime's QLinearConv falls back to im2col and a GEMM
// with K = 27, 1.7-2.6x slower than fp32's NCHWc stem (MNASNet 183 µs, 90
// with the pad; MobileNetV2 252, 123; the Pad itself 16 µs). Exact: the
// added channels dequantize to 0 and their weights are 0.
func (q *rewriter) padStem(n *onnxpb.NodeProto, in string, x qtensor) int {
	w := q.x.floatInit(n.Input[1])
	if q.opset < 11 || !q.x.inputs[in] || x.data == "" || w == nil || len(w.Dims) != 4 || attrInt(n, "group", 1) != 1 || w.Dims[1]%4 == 0 {
		return 0
	}
	add := int(4 - w.Dims[1]%4)
	base := q.namer.Name(n.GetName() + "_input_pad")
	pads := onnxb.Int64s(base+"s", []int64{0, 0, 0, 0, 0, int64(add), 0, 0}, 8)
	q.addInits(pads)
	out := q.namer.Name(base + "ded")
	dv := q.namer.Name(out + "_dequantized")
	q.extra = append(q.extra,
		onnxb.Node("Pad", base, []string{x.data, pads.GetName(), x.zp}, []string{out}),
		onnxb.Node("DequantizeLinear", q.namer.Name(out+"_DequantizeLinear"), []string{out, x.scale, x.zp}, []string{dv}))
	n.Input[0] = dv
	return add
}

// staticWeights replaces a core node's weight (and bias) by DequantizeLinear
// of its int8 (int32) form; a Conv weight gets pad zero input channels
// (padStem).
func (q *rewriter) staticWeights(n *onnxpb.NodeProto, l *linear, in qmath.Params, pad int) error {
	var w []float32
	var dims []int64
	axis := 0
	var bias []float32
	if l == nil { // Conv
		wt := q.x.floatInit(n.Input[1])
		var err error
		if w, err = q.x.floatData(wt); err != nil {
			return err
		}
		dims = wt.Dims
		if pad > 0 {
			w, dims = padChannels(w, dims, pad)
		}
		if len(n.Input) > 2 && n.Input[2] != "" {
			if bias, err = q.x.floatData(q.x.floatInit(n.Input[2])); err != nil {
				return err
			}
		}
	} else {
		w, dims, axis, bias = l.w, []int64{int64(l.k), int64(l.n)}, 1, l.bias
		if n.GetOpType() == "Gemm" {
			if attrInt(n, "transB", 0) != 0 {
				// Keep B as [N, K]: one scale per output row, axis 0.
				w, dims, axis = transpose2D(l.w, l.k, l.n), []int64{int64(l.n), int64(l.k)}, 0
			}
			setAttr(n, onnxb.Float("alpha", 1))
			setAttr(n, onnxb.Float("beta", 1))
		}
	}
	qw, err := quantizeWeight(w, dims, axis, q.cfg.PerChannel, q.cfg.weightOptions())
	if err != nil {
		return fmt.Errorf("quantize weight: %w", err)
	}
	if bias != nil && q.widenForBias(qw, w, bias, in.Scale) {
		q.warnings = append(q.warnings, fmt.Sprintf("node %q: weight scales widened so that the int32 bias does not saturate", n.GetName()))
	}
	base := q.namer.Name(n.GetName() + "_W")
	wq, ws, wz := qw.initializers(base, q.cfg.Weight)
	q.addInits(wq, ws, wz)
	n.Input[1] = q.dequantize(base, wq.GetName(), ws.GetName(), wz.GetName(), qw.axis)
	if bias == nil {
		return nil
	}
	scales := make([]float32, len(qw.params))
	for i, p := range qw.params {
		scales[i] = qmath.BiasScale(in.Scale, p.Scale)
	}
	bq, sat := qmath.Bias(bias, scales)
	if sat > 0 {
		q.warnings = append(q.warnings, fmt.Sprintf("node %q: %d bias values saturated int32", n.GetName(), sat))
	}
	bbase := q.namer.Name(n.GetName() + "_bias")
	var pd []int64
	baxis := -1
	if len(scales) > 1 {
		pd, baxis = []int64{int64(len(scales))}, 0
	}
	bt := onnxb.Int32s(bbase+"_quantized", bq, int64(len(bq)))
	st := onnxb.Floats(bbase+"_scale", scales, pd...)
	zt := onnxb.Int32s(bbase+"_zero_point", make([]int32, len(scales)), pd...)
	q.addInits(bt, st, zt)
	bout := q.dequantize(bbase, bt.GetName(), st.GetName(), zt.GetName(), baxis)
	if len(n.Input) > 2 {
		n.Input[2] = bout
	} else {
		n.Input = append(n.Input, bout)
	}
	return nil
}

// dequantize adds a DequantizeLinear of an initializer and returns its output.
func (q *rewriter) dequantize(base, data, scale, zp string, axis int) string {
	out := q.namer.Name(base + "_dequantized")
	var attrs []*onnxpb.AttributeProto
	if axis >= 0 {
		attrs = append(attrs, onnxb.Int("axis", int64(axis)))
	}
	q.extra = append(q.extra, onnxb.Node("DequantizeLinear", q.namer.Name(base+"_DequantizeLinear"),
		[]string{data, scale, zp}, []string{out}, attrs...))
	return out
}

// widenForBias enlarges weight scales whose bias would not fit int32 at
// scale inputScale*weightScale (a tiny input range times tiny weights), and
// requantizes the weight; as ONNX Runtime does unless told not to. It
// reports whether anything changed.
func (q *rewriter) widenForBias(qw *qweight, w, bias []float32, inputScale float32) bool {
	const limit = float64(math.MaxInt32) * 0.999
	changed := false
	for c := range qw.params {
		need := 0.0
		if len(qw.params) == 1 {
			for _, b := range bias {
				need = max(need, math.Abs(float64(b)))
			}
		} else {
			need = math.Abs(float64(bias[c]))
		}
		bs := float64(inputScale) * float64(qw.params[c].Scale)
		if bs > 0 && need/bs <= limit {
			continue
		}
		if inputScale == 0 {
			continue
		}
		qw.params[c].Scale = float32(need / limit / float64(inputScale) * 1.0001)
		changed = true
	}
	if changed {
		axis := max(qw.axis, 0)
		outer, ch, inner, err := qmath.Layout(qw.dims, axis)
		if err == nil && ch == len(qw.params) {
			qmath.QuantizeAxis(qw.data, w, qw.params, outer, ch, inner, q.cfg.Weight)
		} else {
			qmath.Quantize(qw.data, w, qw.params[0], q.cfg.Weight)
		}
	}
	return changed
}

// padChannels appends pad zero input channels to an [O, C, ...] weight.
func padChannels(w []float32, dims []int64, pad int) ([]float32, []int64) {
	o, c := int(dims[0]), int(dims[1])
	inner := 1
	for _, d := range dims[2:] {
		inner *= int(d)
	}
	out := make([]float32, o*(c+pad)*inner)
	for i := range o {
		copy(out[i*(c+pad)*inner:], w[i*c*inner:(i+1)*c*inner])
	}
	nd := append([]int64{dims[0], dims[1] + int64(pad)}, dims[2:]...)
	return out, nd
}
