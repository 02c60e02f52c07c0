package testenv

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// WriteBigModel saves y = x @ W, W an [n, n] float32 initializer (1.0 at every
// seventh element, else 0) with its data in path+".data": with n = 24576 the
// 2.4 GB one-MatMul model of the memory targets.
func WriteBigModel(tb testing.TB, path string, n int64) {
	tb.Helper()
	w := &onnxpb.TensorProto{Name: proto.String("W"), Dims: []int64{n, n}, DataType: proto.Int32(int32(onnx.Float))}
	raw := make([]byte, n*n*4)
	for i := 0; i < len(raw); i += 4 * 7 {
		raw[i+2], raw[i+3] = 0x80, 0x3f
	}
	w.RawData = raw
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnx.Float)), Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: n}}}}}}}}
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("big"), Initializer: []*onnxpb.TensorProto{w},
			Input: []*onnxpb.ValueInfoProto{vi("x")}, Output: []*onnxpb.ValueInfoProto{vi("y")},
			Node: []*onnxpb.NodeProto{{OpType: proto.String("MatMul"), Name: proto.String("mm"), Input: []string{"x", "W"}, Output: []string{"y"}}}}}
	if err := onnx.Save(&onnx.Model{Proto: m}, path, onnx.SaveOptions{External: onnx.ExternalAlways}); err != nil {
		tb.Fatal(err)
	}
	w.RawData, raw = nil, nil
	debug.FreeOSMemory() // the measuring process need not hold the model while its children run
}

// WriteBigModelData saves samples inputs of WriteBigModel's model with width n
// (x: [samples, n] float32, values in [-1, 1)) as a .npy file at path, as
// calibration or verification data.
func WriteBigModelData(tb testing.TB, path string, samples, n int64) {
	tb.Helper()
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", samples, n)
	header += strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
	buf := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	buf = append(buf, header...)
	for i := range samples * n {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(i*7919%2000)/1000-1))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// PeakEnv carries the argument of a child run by ChildPeakRSS.
const PeakEnv = "SZRUN_PEAK_ARG"

// ChildPeakRSS runs this test binary again with only the test named test and
// PeakEnv=arg, and returns the peak RSS (VmHWM) the child printed with
// PrintPeakRSS: a fresh process per measurement, since a process's peak only
// grows.
func ChildPeakRSS(tb testing.TB, test, arg string) int64 {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^"+test+"$", "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), PeakEnv+"="+arg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", test, arg, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "PEAK_RSS" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			self, _ := strconv.ParseInt(f[2], 10, 64)
			tb.Logf("%s: peak RSS %.2f GB = %.2f GB (stage) + %.2f GB (ONNX Runtime worker)", arg, float64(n)/1e9, float64(self)/1e9, float64(n-self)/1e9)
			return n
		}
	}
	tb.Fatalf("%s %s printed no peak:\n%s", test, arg, out)
	return 0
}

// PrintPeakRSS prints for ChildPeakRSS the peak RSS of this process plus that of
// the ONNX Runtime workers it started (sessions run in child processes): the
// largest peak of those already ended (getrusage), plus each live one's. Peaks
// that did not coincide add up, so the figure errs high.
func PrintPeakRSS() {
	self, children := VmHWM(), childrenPeakRSS()
	fmt.Printf("PEAK_RSS %d %d %d\n", self+children, self, children)
}

func childrenPeakRSS() int64 {
	var n int64
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		n = ru.Maxrss << 10 // KiB on Linux
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, pid := range strings.Fields(string(b)) {
			n += statusHWM("/proc/" + pid + "/status")
		}
	}
	return n
}

// VmHWM is this process's peak resident set in bytes (0 when unknown).
func VmHWM() int64 { return statusHWM("/proc/self/status") }

func statusHWM(path string) int64 {
	s, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(s), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
