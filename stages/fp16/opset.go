package fp16

import (
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// upgradeOpset lifts a model importing ai.onnx opset 1-5 to opset 6 when
// that changes no node's meaning: every op used binds to the same schema
// version at both opsets (Cast aside, whose `to` turns from a string into
// an int). ONNX Runtime's CPU provider runs float16 nodes it has no kernel
// for by inserting Casts with an int `to`, which opsets below 6 reject, so
// a float16 model at opset 1 often cannot load. It returns the old opset,
// or 0 when nothing changed.
func (c *converter) upgradeOpset() int64 {
	const target = 6
	if c.opset >= target {
		return 0
	}
	ok := true
	var casts []*onnxpb.NodeProto
	onnx.WalkGraphs(c.m.GetGraph(), func(s *onnx.Scope) error {
		for _, n := range s.Graph.GetNode() {
			if n.GetDomain() != "" && n.GetDomain() != onnx.DefaultDomain {
				continue
			}
			if n.GetOpType() == "Cast" {
				casts = append(casts, n)
				continue
			}
			old, ok1 := schemaFor(n.GetOpType(), c.opset)
			cur, ok2 := schemaFor(n.GetOpType(), target)
			if !ok1 || !ok2 || old.since != cur.since {
				ok = false
			}
		}
		return nil
	})
	if !ok {
		return 0
	}
	for _, n := range casts {
		if a := attr(n, "to"); a != nil && len(a.GetS()) > 0 {
			t := castTo(a)
			a.S = nil
			a.Type = onnxpb.AttributeProto_INT.Enum()
			a.I = proto.Int64(int64(t))
		}
	}
	for _, op := range c.m.GetOpsetImport() {
		if op.GetDomain() == "" || op.GetDomain() == onnx.DefaultDomain {
			op.Version = proto.Int64(target)
		}
	}
	old := c.opset
	c.opset = target
	return old
}
