package fp16

// contribTable gives float16 signatures (codes as in schemaTable) for the
// com.microsoft ops ONNX Runtime's optimizer writes at level extended, so
// that an optimized model still converts. Their schemas allow float16 for
// T; LayerNorm variants keep their mean and inverse std-dev outputs float32.
var contribTable = map[string]opSchema{
	"FusedConv":                        {1, "hhhh", "h"},
	"FusedGemm":                        {1, "hhh", "h"},
	"FusedMatMul":                      {1, "hh", "h"},
	"Gelu":                             {1, "h", "h"},
	"FastGelu":                         {1, "hh", "h"},
	"BiasGelu":                         {1, "hh", "h"},
	"QuickGelu":                        {1, "h", "h"},
	"BiasAdd":                          {1, "hhh", "h"},
	"SkipLayerNormalization":           {1, "hhhhh", "hffh"},
	"SkipSimplifiedLayerNormalization": {1, "hhhh", "hffh"},
}

// msDomain is ONNX Runtime's contrib op domain.
const msDomain = "com.microsoft"

// signature returns the float16 signature of n, from the ONNX schemas or,
// for ONNX Runtime's contrib ops, contribTable.
func (c *converter) signature(domain, op string) (opSchema, bool) {
	switch domain {
	case "", "ai.onnx":
		if s, ok := schemaFor(op, c.opset); ok {
			return s, true
		}
		// ONNX Runtime registers its fused LayerNormalization in the ONNX
		// domain below opset 17, where ONNX has none.
		if op == "LayerNormalization" {
			return opSchema{1, "hhh", "hff"}, true
		}
		return opSchema{}, false
	case msDomain:
		s, ok := contribTable[op]
		return s, ok
	}
	return opSchema{}, false
}
