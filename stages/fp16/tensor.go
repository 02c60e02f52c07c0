package fp16

import (
	"encoding/binary"
	"fmt"
	"math"
	goruntime "runtime"
	"sync"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// Float16's range: the largest finite value and the smallest subnormal.
const (
	maxHalf = 65504
	minHalf = 5.960464477539063e-08 // 2^-24
)

// Clamp moves finite values outside float16's range to its edge: beyond
// ±65504 to ±65504 (rather than infinity), and non-zero values below 2^-24
// in magnitude to ±2^-24 (rather than zero, so that an epsilon stays an
// epsilon). NaN, infinities and zeros are kept. It returns the counts.
func Clamp(v []float32) (overflow, underflow int64) {
	for i, x := range v {
		a := math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
		if a >= minHalf && a <= maxHalf || a == 0 || a != a || a > math.MaxFloat32 {
			continue
		}
		edge := float32(minHalf)
		if a > maxHalf {
			edge = maxHalf
			overflow++
		} else {
			underflow++
		}
		if x < 0 {
			edge = -edge
		}
		v[i] = edge
	}
	return overflow, underflow
}

// ToFloat16 converts float32 values to float16 bits after clamping them.
func ToFloat16(dst []float16.Float16, src []float32) (overflow, underflow int64) {
	overflow, underflow = Clamp(src)
	onnx.Float32ToFloat16(dst, src)
	return overflow, underflow
}

// toFloat16 stores float32 tensor src as float16 into dst (which may be
// src), counting clamped values under name.
func (c *converter) toFloat16(name string, src, dst *onnxpb.TensorProto) {
	var (
		raw         []byte
		over, under int64
	)
	if onnx.IsExternal(src) {
		n, err := onnx.NumElements(src.GetDims())
		if err != nil {
			c.fail(fmt.Errorf("tensor %q: %w", name, err))
			return
		}
		raw = make([]byte, 2*n)
		off := 0
		err = onnx.ReadExternal(src, c.opts.Dir, 16<<20, func(chunk []byte) error {
			o, u := rawToFloat16(raw[off:off+len(chunk)/2], chunk)
			over, under, off = over+o, under+u, off+len(chunk)/2
			return nil
		})
		if err != nil {
			c.fail(fmt.Errorf("convert %q to float16: %w", name, err))
			return
		}
	} else if r := src.GetRawData(); len(r) > 0 && len(src.GetFloatData()) == 0 {
		raw = make([]byte, len(r)/2)
		over, under = rawToFloat16(raw, r)
	} else {
		v, err := onnx.Float32s(src)
		if err != nil { // Load validated every tensor; keep going with what there is
			c.warn("tensor %q: %v", name, err.Error())
			return
		}
		h := make([]float16.Float16, len(v))
		over, under = ToFloat16(h, v)
		raw = make([]byte, 2*len(h))
		for i, x := range h {
			binary.LittleEndian.PutUint16(raw[2*i:], uint16(x))
		}
	}
	if over+under > 0 {
		c.res.Clamped = append(c.res.Clamped, Clamped{Tensor: name, Overflow: over, Underflow: under})
	}
	dst.FloatData = nil
	dst.DataType = proto.Int32(int32(onnx.Float16))
	dst.RawData = raw
	dst.ExternalData, dst.DataLocation = nil, nil
}

// rawBlock is how many values rawToFloat16 converts per step: small enough
// for the stack buffers to stay in L1.
const rawBlock = 2048

// rawToFloat16 converts little-endian float32 bytes to float16 bytes in
// blocks, spread over the CPUs for big tensors: one pass over the data,
// no tensor-sized temporaries.
func rawToFloat16(dst, src []byte) (overflow, underflow int64) {
	n := len(src) / 4
	workers := min(goruntime.GOMAXPROCS(0), n/(1<<20)+1)
	if workers <= 1 {
		return rawRange(dst, src, 0, n)
	}
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	overs, unders := make([]int64, workers), make([]int64, workers)
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			overs[w], unders[w] = rawRange(dst, src, lo, hi)
		}()
	}
	wg.Wait()
	for w := range workers {
		overflow += overs[w]
		underflow += unders[w]
	}
	return overflow, underflow
}

func rawRange(dst, src []byte, lo, hi int) (overflow, underflow int64) {
	var f [rawBlock]float32
	var h [rawBlock]float16.Float16
	for start := lo; start < hi; start += rawBlock {
		k := min(rawBlock, hi-start)
		in := src[4*start : 4*(start+k)]
		for i := range k {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:]))
		}
		o, u := ToFloat16(h[:k], f[:k])
		overflow += o
		underflow += u
		out := dst[2*start : 2*(start+k)]
		for i := range k {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(h[i]))
		}
	}
	return overflow, underflow
}

func floatTensor(t *onnxpb.TensorProto) bool {
	return t != nil && onnx.DataType(t.GetDataType()) == onnx.Float
}

// rewriteAttrs makes a converted node produce float16 where its output type
// comes from an attribute or an attribute tensor.
func (c *converter) rewriteAttrs(n *onnxpb.NodeProto) {
	label := n.GetName()
	if label == "" && len(n.GetOutput()) > 0 {
		label = n.GetOutput()[0]
	}
	switch op := n.GetOpType(); op {
	case "Cast":
		if a := attr(n, "to"); castTo(a) == onnx.Float {
			setType(a, onnx.Float16)
		}
	case "Constant":
		for _, a := range n.GetAttribute() {
			switch a.GetName() {
			case "value":
				if floatTensor(a.GetT()) {
					c.toFloat16(label, a.GetT(), a.GetT())
				}
			case "sparse_value":
				if floatTensor(a.GetSparseTensor().GetValues()) {
					c.toFloat16(label, a.GetSparseTensor().GetValues(), a.GetSparseTensor().GetValues())
				}
			case "value_float", "value_floats":
				t := &onnxpb.TensorProto{}
				if a.GetName() == "value_float" {
					onnx.SetFloat32s(t, []float32{a.GetF()})
				} else {
					onnx.SetFloat32s(t, a.GetFloats())
					t.Dims = []int64{int64(len(a.GetFloats()))}
				}
				c.toFloat16(label, t, t)
				*a = onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
			}
		}
	case "ConstantOfShape":
		a := attr(n, "value")
		if a == nil {
			t := &onnxpb.TensorProto{Dims: []int64{1}}
			onnx.SetFloat16s(t, []float16.Float16{0})
			n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: proto.String("value"),
				Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t})
		} else if floatTensor(a.GetT()) {
			c.toFloat16(label, a.GetT(), a.GetT())
		}
	default:
		d, ok := dtypeAttrOps[op]
		if !ok {
			return
		}
		a := attr(n, d.attr)
		switch {
		case a != nil && castTo(a) == onnx.Float:
			setType(a, onnx.Float16)
		case a == nil && d.def == onnx.Float:
			n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: proto.String(d.attr),
				Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(onnx.Float16))})
		}
	}
}

func setType(a *onnxpb.AttributeProto, t onnx.DataType) {
	if len(a.GetS()) > 0 {
		a.S = []byte(onnx.DataTypeName(int32(t)))
		return
	}
	a.I = proto.Int64(int64(t))
}
