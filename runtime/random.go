package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/x448/float16"
)

// RandomInputs makes one tensor per model input, in model order, filled with
// reproducible random values from seed. shapes fixes an input's full shape; otherwise
// its dynamic axis 0 becomes batch (1 when batch <= 0) and any other dynamic axis is an
// error naming the input and the axis. Floats are uniform in [-1, 1); integers in
// [0, 10), because integer inputs are usually indices or token ids and larger values
// would run off an embedding table; bools are fair coin flips.
func RandomInputs(info []IOInfo, shapes map[string][]int64, batch int64, seed int64) ([]*Tensor, error) {
	if batch <= 0 {
		batch = 1
	}
	known := make(map[string]bool, len(info))
	for _, in := range info {
		known[in.Name] = true
	}
	var unknown []string
	for name := range shapes {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("random inputs: shapes given for %q, which the model does not have", unknown)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5a52554e)) // "ZRUN": any fixed stream
	out := make([]*Tensor, 0, len(info))
	for _, in := range info {
		if in.Kind != "tensor" {
			return nil, fmt.Errorf("random inputs: input %q is a %s, not a tensor", in.Name, in.Kind)
		}
		shape, err := concreteShape(in, shapes[in.Name], batch)
		if err != nil {
			return nil, fmt.Errorf("random inputs: %w", err)
		}
		t, err := NewTensor(in.Name, in.DType, shape)
		if err != nil {
			return nil, fmt.Errorf("random inputs: input %q: %w", in.Name, err)
		}
		fill(t, rng)
		out = append(out, t)
	}
	return out, nil
}

func concreteShape(in IOInfo, fixed []int64, batch int64) ([]int64, error) {
	if fixed != nil {
		if len(fixed) != len(in.Shape) {
			return nil, fmt.Errorf("input %q: shapes gives rank %d %s, the model wants rank %d %s", in.Name, len(fixed), FormatShape(fixed), len(in.Shape), expectedShape(in.Shape))
		}
		for i, d := range in.Shape {
			if fixed[i] <= 0 || (d >= 0 && d != fixed[i]) {
				return nil, fmt.Errorf("input %q: shapes gives %s, the model wants %s", in.Name, FormatShape(fixed), expectedShape(in.Shape))
			}
		}
		return slices.Clone(fixed), nil
	}
	shape := slices.Clone(in.Shape)
	for i, d := range shape {
		switch {
		case d >= 0 && i == 0 && batch > 1 && d != batch:
			return nil, fmt.Errorf("input %q: batch %d requested but the model fixes axis 0 to %d", in.Name, batch, d)
		case d >= 0:
		case i == 0:
			shape[0] = batch
		default:
			return nil, fmt.Errorf("input %q: dimension %d of %s is dynamic; fix it under shapes:, e.g. %s: %s", in.Name, i, expectedShape(in.Shape), in.Name, FormatShape(example(in.Shape, batch)))
		}
	}
	return shape, nil
}

// example suggests a concrete shape, with 1 for every unknown non-batch axis.
func example(shape []int64, batch int64) []int64 {
	out := slices.Clone(shape)
	for i, d := range out {
		if d < 0 {
			out[i] = 1
			if i == 0 {
				out[i] = batch
			}
		}
	}
	return out
}

func fill(t *Tensor, rng *rand.Rand) {
	unif := func() float64 { return rng.Float64()*2 - 1 }
	switch s := t.Data.(type) {
	case []float32:
		for i := range s {
			s[i] = float32(unif())
		}
	case []float64:
		for i := range s {
			s[i] = unif()
		}
	case []uint16:
		for i := range s {
			switch t.DType {
			case "float16":
				s[i] = float16.Fromfloat32(float32(unif())).Bits()
			case "bfloat16":
				s[i] = uint16(math.Float32bits(float32(unif())) >> 16)
			default:
				s[i] = uint16(rng.IntN(10))
			}
		}
	case []bool:
		for i := range s {
			s[i] = rng.IntN(2) == 1
		}
	default:
		fillInts(t.Data, func() int { return rng.IntN(10) })
	}
}

func fillInts(data any, next func() int) {
	switch s := data.(type) {
	case []int8:
		for i := range s {
			s[i] = int8(next())
		}
	case []uint8:
		for i := range s {
			s[i] = uint8(next())
		}
	case []int16:
		for i := range s {
			s[i] = int16(next())
		}
	case []int32:
		for i := range s {
			s[i] = int32(next())
		}
	case []uint32:
		for i := range s {
			s[i] = uint32(next())
		}
	case []int64:
		for i := range s {
			s[i] = int64(next())
		}
	case []uint64:
		for i := range s {
			s[i] = uint64(next())
		}
	}
}
