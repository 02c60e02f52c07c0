package onnx

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// roundTrip stores v with set, checks the raw bytes, and decodes it back.
func roundTrip[T any](t *testing.T, name string, v []T, set func(*onnxpb.TensorProto, []T),
	get func(*onnxpb.TensorProto) ([]T, error), wantRaw []byte) {
	t.Run(name, func(t *testing.T) {
		tp := &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}}
		set(tp, v)
		if wantRaw != nil && string(tp.RawData) != string(wantRaw) {
			t.Errorf("raw = %x, want %x", tp.RawData, wantRaw)
		}
		if err := ValidateTensor(tp); err != nil {
			t.Fatal(err)
		}
		got, err := get(tp)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("got %v, want %v", got, v)
		}
	})
}

func TestCodecsRoundTrip(t *testing.T) {
	roundTrip(t, "float32", []float32{1, -2.5, float32(math.Inf(1))}, SetFloat32s, Float32s,
		[]byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 0, 0, 0x80, 0x7f})
	roundTrip(t, "float64", []float64{1, -2.5}, SetFloat64s, Float64s, nil)
	roundTrip(t, "int8", []int8{-128, 0, 127}, SetInt8s, Int8s, []byte{0x80, 0, 0x7f})
	roundTrip(t, "int16", []int16{-2, 300}, SetInt16s, Int16s, []byte{0xfe, 0xff, 0x2c, 0x01})
	roundTrip(t, "int32", []int32{-1, 1 << 30}, SetInt32s, Int32s, nil)
	roundTrip(t, "int64", []int64{-1, 1 << 40}, SetInt64s, Int64s, nil)
	roundTrip(t, "uint8", []uint8{0, 255}, SetUint8s, Uint8s, []byte{0, 255})
	roundTrip(t, "uint16", []uint16{65535}, SetUint16s, Uint16s, nil)
	roundTrip(t, "uint32", []uint32{1 << 31}, SetUint32s, Uint32s, nil)
	roundTrip(t, "uint64", []uint64{1 << 63}, SetUint64s, Uint64s, nil)
	roundTrip(t, "bool", []bool{true, false, true}, SetBools, Bools, []byte{1, 0, 1})
	roundTrip(t, "float16", []float16.Float16{float16.Fromfloat32(1), float16.Fromfloat32(-0.5)},
		SetFloat16s, Float16s, []byte{0x00, 0x3c, 0x00, 0xb8})
	roundTrip(t, "bfloat16", []BF16{BF16FromFloat32(1), BF16FromFloat32(-2)}, SetBF16s, BF16s,
		[]byte{0x80, 0x3f, 0x00, 0xc0})
	roundTrip(t, "int4", []int8{1, -1, -8, 7, 3}, SetInt4s, Int4s, []byte{0xf1, 0x78, 0x03})
	roundTrip(t, "uint4", []uint8{15, 0, 9}, SetUint4s, Uint4s, []byte{0x0f, 0x09})
	roundTrip(t, "string", [][]byte{[]byte("a"), []byte("bc")}, SetStrings, Strings, nil)
}

// ONNX writers may use the typed fields instead of raw_data.
func TestCodecsTypedFields(t *testing.T) {
	tp := func(dt DataType, f func(*onnxpb.TensorProto)) *onnxpb.TensorProto {
		t := &onnxpb.TensorProto{Name: proto.String("t"), Dims: []int64{2}, DataType: proto.Int32(int32(dt))}
		f(t)
		return t
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	f32, err := Float32s(tp(Float, func(t *onnxpb.TensorProto) { t.FloatData = []float32{1, 2} }))
	check("float_data", f32, []float32{1, 2}, err)
	f64, err := Float64s(tp(Double, func(t *onnxpb.TensorProto) { t.DoubleData = []float64{1, 2} }))
	check("double_data", f64, []float64{1, 2}, err)
	i8, err := Int8s(tp(Int8, func(t *onnxpb.TensorProto) { t.Int32Data = []int32{-3, 4} }))
	check("int8 in int32_data", i8, []int8{-3, 4}, err)
	u16, err := Uint16s(tp(Uint16, func(t *onnxpb.TensorProto) { t.Int32Data = []int32{65535, 1} }))
	check("uint16 in int32_data", u16, []uint16{65535, 1}, err)
	i64, err := Int64s(tp(Int64, func(t *onnxpb.TensorProto) { t.Int64Data = []int64{-1, 1 << 40} }))
	check("int64_data", i64, []int64{-1, 1 << 40}, err)
	u32, err := Uint32s(tp(Uint32, func(t *onnxpb.TensorProto) { t.Uint64Data = []uint64{7, 1 << 31} }))
	check("uint32 in uint64_data", u32, []uint32{7, 1 << 31}, err)
	h, err := Float16s(tp(Float16, func(t *onnxpb.TensorProto) { t.Int32Data = []int32{0x3c00, 0xb800} }))
	check("fp16 bits in int32_data", h, []float16.Float16{0x3c00, 0xb800}, err)
	b, err := Bools(tp(Bool, func(t *onnxpb.TensorProto) { t.Int32Data = []int32{0, 1} }))
	check("bool in int32_data", b, []bool{false, true}, err)
	i4, err := Int4s(tp(Int4, func(t *onnxpb.TensorProto) { t.Int32Data = []int32{0x9f} }))
	check("int4 packed in int32_data", i4, []int8{-1, -7}, err)
	wide, err := AsFloat32s(tp(Float16, func(t *onnxpb.TensorProto) { t.Int32Data = []int32{0x3c00, 0xb800} }))
	check("AsFloat32s fp16", wide, []float32{1, -0.5}, err)
}

func TestCodecErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() error
		want string
	}{
		{"wrong type", func() error {
			_, err := Int8s(floatInit("w", []float32{1}, 1))
			return err
		}, `tensor "w": data type is FLOAT`},
		{"raw size", func() error {
			_, err := Float32s(floatInit("w", []float32{1, 2}, 3))
			return err
		}, `tensor "w": tensor data size does not match dims`},
		{"odd raw", func() error {
			tp := floatInit("w", []float32{1}, 1)
			tp.RawData = tp.RawData[:3]
			_, err := Float32s(tp)
			return err
		}, "not a multiple of 4"},
		{"external", func() error {
			tp := floatInit("w", nil, 0)
			tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			_, err := Float32s(tp)
			return err
		}, "external"},
		{"negative dim", func() error {
			_, err := Float32s(floatInit("w", nil, -1))
			return err
		}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fn()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNumElementsAndSizes(t *testing.T) {
	tests := []struct {
		dims []int64
		want int64
		err  bool
	}{
		{nil, 1, false}, {[]int64{0, 5}, 0, false}, {[]int64{2, 3, 4}, 24, false},
		{[]int64{-1}, 0, true}, {[]int64{1 << 40, 1 << 40}, 0, true},
	}
	for _, tc := range tests {
		got, err := NumElements(tc.dims)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("NumElements(%v) = %d, %v", tc.dims, got, err)
		}
	}
	sizes := map[DataType]int{Float: 4, Double: 8, Int8: 1, Float16: 2, BFloat16: 2, Int64: 8, Bool: 1, Int4: 1, String: 0, Complex128: 16}
	for dt, want := range sizes {
		if got := ElemSize(dt); got != want {
			t.Errorf("ElemSize(%s) = %d, want %d", dt, got, want)
		}
	}
	if RawSize(Int4, 5) != 3 || RawSize(Int2, 5) != 2 || RawSize(String, 1) != -1 {
		t.Error("RawSize of packed types is wrong")
	}
}
