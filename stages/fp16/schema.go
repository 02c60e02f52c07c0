package fp16

//go:generate /usr/bin/python3 gen_schemas.py

// opSchema is one version of an operator's signature, reduced to what the
// converter needs: whether each formal input and output may be float32 and,
// if so, whether float16 is allowed there too (see schemaTable).
type opSchema struct {
	since   int64
	inputs  string
	outputs string
}

// Parameter codes of schemaTable.
const (
	codeHalf   = 'h' // float32 or float16 allowed
	codeFloat  = 'f' // float32, never float16: stays float32 in a converted node
	codeNone   = '-' // not a float32 slot
	codeUnseen = 0   // past the declared parameters (non-variadic)
)

// schemaFor returns the version of op that a model importing opset binds to.
func schemaFor(op string, opset int64) (opSchema, bool) {
	versions := schemaTable[op]
	var best opSchema
	ok := false
	for _, v := range versions {
		if v.since <= opset {
			best, ok = v, true
		}
	}
	return best, ok
}

// code returns the code of parameter i in a code string, repeating a
// variadic last parameter.
func code(codes string, i int) byte {
	variadic := len(codes) > 0 && codes[len(codes)-1] == '*'
	if variadic {
		codes = codes[:len(codes)-1]
	}
	switch {
	case i < len(codes):
		return codes[i]
	case variadic && len(codes) > 0:
		return codes[len(codes)-1]
	}
	return codeUnseen
}

func (s opSchema) in(i int) byte  { return code(s.inputs, i) }
func (s opSchema) out(i int) byte { return code(s.outputs, i) }
