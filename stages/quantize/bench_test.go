package quantize

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
	"github.com/sentinelzer0/szrun/stages/quantize/calib"
	"github.com/sentinelzer0/szrun/stages/quantize/qmath"
)

// BenchmarkApply measures the graph rewrite with weight quantization on the
// fixtures (MB/s of float weights in): the part of the stage that is szrun's
// own code rather than ONNX Runtime.
func BenchmarkApply(b *testing.B) {
	cases := []struct {
		name, model string
		cfg         Config
	}{
		{"encoder-dynamic", "examples/models/encoder.onnx", Config{Mode: ModeDynamic, PerChannel: true, Weight: qmath.Int8, SymWeights: true}},
		{"resnet-static", "examples/models/resnet_small.onnx", Config{Mode: ModeStatic, Format: FormatQDQ, PerChannel: true, Weight: qmath.Int8, Activation: qmath.Uint8, SymWeights: true}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			m, err := onnx.Load(fixture(b, tc.model))
			if err != nil {
				b.Fatal(err)
			}
			var weightBytes int64
			for _, t := range m.Proto.Graph.Initializer {
				if t.GetDataType() == int32(onnxpb.TensorProto_FLOAT) {
					weightBytes += int64(len(t.GetRawData())) + 4*int64(len(t.GetFloatData()))
				}
			}
			ranges := map[string]calib.Range{}
			if tc.cfg.Mode == ModeStatic {
				ts, err := StaticTensors(m.Proto, tc.cfg)
				if err != nil {
					b.Fatal(err)
				}
				for _, t := range ts {
					ranges[t] = calib.Range{Min: -1, Max: 1}
				}
			}
			b.SetBytes(weightBytes)
			for b.Loop() {
				c := proto.Clone(m.Proto).(*onnxpb.ModelProto)
				if _, _, err := Apply(c, tc.cfg, ranges); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
