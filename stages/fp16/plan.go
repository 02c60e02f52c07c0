package fp16

import (
	"fmt"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// DefaultOpBlockList is the op_block_list used when none is given: ops whose
// float inputs are indices, counts, boxes or thresholds that float16 cannot
// hold exactly (Range, CumSum, TopK, NonMaxSuppression, RoiAlign), and the
// ONNX-ML ops, which have no float16 kernels. Resize is not here: it runs in
// float16, but its roi and scales inputs always stay float32.
var DefaultOpBlockList = []string{
	"ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "CumSum", "DictVectorizer",
	"FeatureVectorizer", "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor",
	"NonMaxSuppression", "Normalizer", "OneHotEncoder", "RandomUniformLike", "Range", "RoiAlign",
	"SVMClassifier", "SVMRegressor", "Scaler", "TopK", "TreeEnsemble", "TreeEnsembleClassifier",
	"TreeEnsembleRegressor", "ZipMap",
	// Ops whose output type comes from an attribute and that ONNX Runtime's
	// CPU provider cannot produce in float16: generated in float32, then cast.
	"Bernoulli", "BlackmanWindow", "EyeLike", "HammingWindow", "HannWindow", "MelWeightMatrix",
	"RandomNormal", "RandomNormalLike", "RandomUniform",
	// ONNX Runtime expands this function with float32 constants, so its
	// float16 form does not type-check.
	"MeanVarianceNormalization",
}

// forcedFloat32 lists inputs that stay float32 in a converted node although
// the schema would allow float16: Resize's roi (its scales are float32 by
// schema already), as in onnxruntime's converter.
var forcedFloat32 = map[string][]int{"Resize": {1, 2}, "Upsample": {1}}

// shapeSlots are inputs that carry shapes, sizes, indices, counts or axes.
// Float maths that computes them (exporters emit Cast(Shape) / 2 and the
// like) must stay float32: float16 holds integers exactly only up to 2048.
var shapeSlots = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "Range": {0, 1, 2}, "Slice": {1, 2, 3, 4},
	"Resize": {1, 2, 3}, "Upsample": {1}, "ConstantOfShape": {0}, "TopK": {1}, "OneHot": {1},
	"Pad": {1}, "Unsqueeze": {1}, "Squeeze": {1}, "Split": {1}, "Gather": {1}, "GatherElements": {1},
	"GatherND": {1}, "ScatterElements": {1}, "ScatterND": {1}, "Scatter": {1}, "CumSum": {1},
	"Trilu": {1}, "Loop": {0}, "NonMaxSuppression": {2}, "CenterCropPad": {1}, "Col2Im": {1, 2},
	"STFT": {1, 3}, "DFT": {1, 2}, "Compress": {1}, "ReduceSum": {1}, "ReduceMean": {1},
	"ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1}, "ReduceL1": {1}, "ReduceL2": {1},
	"ReduceLogSum": {1}, "ReduceLogSumExp": {1}, "ReduceSumSquare": {1}, "RoiAlign": {2},
	"MaxUnpool": {2},
}

// shapeMath are the ops the walk back from a shape input goes through:
// arithmetic and plumbing that exporters use for shape computations.
// Anything else (a Conv, a Relu) is data and ends the walk.
var shapeMath = map[string]bool{
	"Cast": true, "CastLike": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Floor": true,
	"Ceil": true, "Round": true, "Neg": true, "Abs": true, "Min": true, "Max": true, "Concat": true,
	"Gather": true, "Slice": true, "Squeeze": true, "Unsqueeze": true, "Reshape": true, "Identity": true,
	"Pow": true, "Mod": true, "Sqrt": true, "Clip": true, "ReduceProd": true, "ReduceSum": true,
	"Where": true, "Equal": true, "Less": true, "Greater": true, "Not": true, "Expand": true,
	"Tile": true, "ConstantOfShape": true, "Constant": true, "Sign": true, "Reciprocal": true,
	"Flatten": true, "Range": true, "CumSum": true,
}

// shapeSources produce integers from data: the walk stops there.
var shapeSources = map[string]bool{"Shape": true, "Size": true, "NonZero": true, "ArgMax": true, "ArgMin": true}

// blockReason says why n must stay float32, or "" when it may convert.
func (c *converter) blockReason(s *scope, n *onnxpb.NodeProto) string {
	op := n.GetOpType()
	switch {
	case c.nodeBlock[n.GetName()] && n.GetName() != "":
		return "node_block_list"
	case c.opBlock[op]:
		return "op_block_list"
	}
	for _, name := range append(append([]string{}, n.GetInput()...), n.GetOutput()...) {
		if name != "" && s.origType(name) == nonTensor {
			return "sequence, map or optional values stay as they are"
		}
	}
	if a := attr(n, "reduction"); a != nil && string(a.GetS()) != "none" && (op == "ScatterElements" || op == "ScatterND") {
		return "ONNX Runtime has no float16 " + op + " with reduction " + string(a.GetS())
	}
	if _, ok := c.signature(n.GetDomain(), op); !ok {
		if d := n.GetDomain(); d != "" && d != onnx.DefaultDomain {
			return fmt.Sprintf("no float16 signature known for %s:%s", d, op)
		}
		return fmt.Sprintf("no float16 signature known for %s at opset %d", op, c.opset)
	}
	for _, a := range n.GetAttribute() {
		if a.GetG() == nil && len(a.GetGraphs()) == 0 {
			continue
		}
		if op != "If" && op != "Loop" && !(op == "Scan" && c.opset >= 9) {
			return "subgraphs of " + op + " are not converted"
		}
	}
	return ""
}

// plan decides which nodes stay float32 in s and below; inherited is set
// inside the subgraphs of a blocked node.
func (c *converter) plan(s *scope, inherited string) {
	for _, n := range s.g.GetNode() {
		reason := inherited
		if reason == "" {
			reason = c.blockReason(s, n)
		}
		if reason != "" {
			c.blocked[n] = reason
		}
		inner := inherited
		if reason != "" && inner == "" {
			inner = fmt.Sprintf("inside %s %q, which stays float32", n.GetOpType(), n.GetName())
		}
		for _, child := range c.children[n] {
			c.plan(child, inner)
		}
	}
}

// markShapeMath walks back from every shape input in s and below and
// blocks the float maths that computes it.
func (c *converter) markShapeMath(s *scope) {
	seen := map[*onnxpb.NodeProto]bool{}
	for _, n := range s.g.GetNode() {
		for _, i := range shapeSlots[n.GetOpType()] {
			if i < len(n.GetInput()) && n.GetInput()[i] != "" {
				why := fmt.Sprintf("integer-valued float maths feeding %s %q input %d", n.GetOpType(), n.GetName(), i)
				c.walkShape(s, n.GetInput()[i], why, seen)
			}
		}
		for _, child := range c.children[n] {
			c.markShapeMath(child)
		}
	}
}

func (c *converter) walkShape(s *scope, name, why string, seen map[*onnxpb.NodeProto]bool) {
	d := s.resolve(name)
	if d == nil {
		return
	}
	p := d.producer[name]
	if p == nil || seen[p] || shapeSources[p.GetOpType()] || !shapeMath[p.GetOpType()] {
		return
	}
	seen[p] = true
	if _, done := c.blocked[p]; !done && c.touchesFloat(d, p) {
		c.blocked[p] = why
	}
	for _, in := range p.GetInput() {
		if in != "" {
			c.walkShape(d, in, why, seen)
		}
	}
}

// touchesFloat reports whether n reads or writes a float32 tensor.
func (c *converter) touchesFloat(s *scope, n *onnxpb.NodeProto) bool {
	for _, names := range [][]string{n.GetInput(), n.GetOutput()} {
		for _, name := range names {
			if name != "" && s.origType(name) == onnx.Float {
				return true
			}
		}
	}
	return false
}

// markShapeDerived blocks float maths computed purely from shapes: values
// that come from Shape or Size through ops whose other inputs are small
// constants (Cast(Shape) / 2, Range(0, Cast(dim)), ConstantOfShape, a
// sinusoidal position table from Range...). They are integers, or functions
// of integers, that float16 would round above 2048, and they are as small as
// a shape, so float32 costs nothing. The first node that mixes in data ends
// the region and converts.
func (c *converter) markShapeDerived(s *scope, derived map[string]bool) {
	// Shape maths uses scalars and short vectors; a bigger constant is data
	// (a position table sliced to the sequence length is not shape maths).
	isConst := func(name string) bool {
		d := s.resolve(name)
		if d == nil {
			return false
		}
		if t := d.inits[name]; t != nil {
			n, err := onnx.NumElements(t.GetDims())
			return err == nil && n <= smallConst
		}
		p := d.producer[name]
		if p == nil || p.GetOpType() != "Constant" {
			return false
		}
		if a := attr(p, "value"); a != nil && a.GetT() != nil {
			n, err := onnx.NumElements(a.GetT().GetDims())
			return err == nil && n <= smallConst
		}
		return len(attr0(p).GetFloats()) <= smallConst && len(attr0(p).GetInts()) <= smallConst
	}
	for _, n := range s.g.GetNode() {
		op := n.GetOpType()
		switch {
		case op == "Shape" || op == "Size":
			for _, o := range n.GetOutput() {
				derived[o] = true
			}
		case op != "Constant" && (n.GetDomain() == "" || n.GetDomain() == onnx.DefaultDomain):
			any, ok := false, true
			for _, in := range n.GetInput() {
				switch {
				case in == "":
				case derived[in]:
					any = true
				case !isConst(in):
					ok = false
				}
			}
			if !any || !ok {
				break
			}
			for _, o := range n.GetOutput() {
				derived[o] = true
			}
			if _, done := c.blocked[n]; !done && c.touchesFloat(s, n) {
				c.blocked[n] = "integer-valued float maths computed from Shape/Size"
			}
		}
		for _, child := range c.children[n] {
			c.markShapeDerived(child, derived)
		}
	}
}

// smallConst is the most elements a constant of shape maths has.
const smallConst = 64

func attr0(n *onnxpb.NodeProto) *onnxpb.AttributeProto {
	if len(n.GetAttribute()) == 0 {
		return nil
	}
	return n.GetAttribute()[0]
}

// markConstants blocks float Constant nodes that only float32 nodes read,
// so that their value is not rounded to float16 on the way.
func (c *converter) markConstants(s *scope) {
	users := onnx.Consumers(s.g)
	for _, n := range s.g.GetNode() {
		if _, done := c.blocked[n]; !done && n.GetOpType() == "Constant" && len(n.GetOutput()) == 1 && c.touchesFloat(s, n) {
			readers := users[n.GetOutput()[0]]
			all := len(readers) > 0
			for _, r := range readers {
				if _, b := c.blocked[r]; !b {
					all = false
				}
			}
			if all {
				c.blocked[n] = "constant read only by float32 nodes"
			}
		}
		for _, child := range c.children[n] {
			c.markConstants(child)
		}
	}
}
