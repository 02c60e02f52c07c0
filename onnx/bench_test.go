package onnx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sentinelzer0/szrun/onnx/onnxpb"
)

// syntheticModel builds a chain of MatMuls whose weights total size bytes,
// in 4 MiB initializers, like a transformer's weight list.
func syntheticModel(size int) *onnxpb.ModelProto {
	const per = 4 << 20
	m := tinyModel()
	g := m.Graph
	g.Node, g.Initializer = nil, nil
	prev := "x"
	for i := 0; i*per < size; i++ {
		w := fmt.Sprintf("w%d", i)
		raw := bytes.Repeat([]byte{byte(i), 0x3c, 0, 0}, per/4)
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{
			Name: proto.String(w), Dims: []int64{1024, 1024}, DataType: proto.Int32(int32(Float)), RawData: raw})
		out := fmt.Sprintf("h%d", i)
		g.Node = append(g.Node, node("MatMul", "mm"+strconv.Itoa(i), []string{prev, w}, []string{out}))
		prev = out
	}
	g.Output = []*onnxpb.ValueInfoProto{tensorVI(prev, Float, -1, 1024)}
	return m
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := bytes.Fields(line); len(f) == 3 && string(f[0]) == "VmHWM:" {
			kb, _ := strconv.ParseInt(string(f[1]), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkLoadSave256MiB loads and saves a 256 MiB model per iteration and
// reports throughput (model bytes through Load+Save) and the process's peak
// RSS over the model size. Targets for 1 GiB: <= 3 s, peak <= 2.5x.
func BenchmarkLoadSave256MiB(b *testing.B) { benchLoadSave(b, 256<<20, ExternalNever) }

// BenchmarkLoadSave1GiB is the target size; run it on its own
// (-bench LoadSave1GiB -benchtime 1x): it needs about 3 GiB of memory.
func BenchmarkLoadSave1GiB(b *testing.B) { benchLoadSave(b, 1<<30, ExternalNever) }

// BenchmarkLoadSaveExternal256MiB is the same with data in "<name>.data".
func BenchmarkLoadSaveExternal256MiB(b *testing.B) { benchLoadSave(b, 256<<20, ExternalAlways) }

func benchLoadSave(b *testing.B, size int, mode ExternalMode) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src.onnx")
	if err := Save(&Model{Proto: syntheticModel(size)}, src, SaveOptions{External: mode}); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	// Reset VmHWM so the peak covers the timed loop, not the setup.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	base := peakRSS()
	dst := filepath.Join(dir, "dst.onnx")
	b.SetBytes(int64(size))
	b.ResetTimer()
	var loadT, saveT time.Duration
	for b.Loop() {
		t0 := time.Now()
		m, err := Load(src)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := Save(m, dst, SaveOptions{External: mode}); err != nil {
			b.Fatal(err)
		}
		loadT += t1.Sub(t0)
		saveT += time.Since(t1)
		// One load+save is what a stage does; collecting here keeps the
		// previous iteration's model out of the next one's peak.
		b.StopTimer()
		m = nil
		runtime.GC()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(peakRSS())/float64(size), "peakRSS/model")
	b.ReportMetric(float64(base)/float64(size), "baseRSS/model")
	// Save includes fsync, so it mostly measures the disk.
	b.ReportMetric(float64(loadT.Milliseconds())/float64(b.N), "load-ms/op")
	b.ReportMetric(float64(saveT.Milliseconds())/float64(b.N), "save-ms/op")
}
