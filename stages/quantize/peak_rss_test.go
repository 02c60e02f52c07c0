package quantize

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/quantize/internal/qtest"
)

// TestPeakRSSChild is BenchmarkStaticPeakRSS's child: it quantizes with the
// calibration file in testenv.PeakEnv and prints the peak RSS of its process
// and its ONNX Runtime worker. It does nothing unless run by the benchmark.
func TestPeakRSSChild(t *testing.T) {
	data := os.Getenv(testenv.PeakEnv)
	if data == "" {
		t.Skip("run by BenchmarkStaticPeakRSS")
	}
	_, rep, err := runStage(t, map[string]any{"model": "examples/models/resnet_small.onnx", "mode": "int8-static",
		"calibration": map[string]any{"data": data, "method": "entropy"}, "verify_speed": false})
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(data), "calib"), ".npz"); strconv.FormatInt(rep.Calibration.Samples, 10) != want {
		t.Fatalf("calibrated on %d samples, want %s", rep.Calibration.Samples, want)
	}
	testenv.PrintPeakRSS()
}

// BenchmarkStaticPeakRSS measures the peak RSS of static quantization (entropy
// calibration, verification on the calibration set) of resnet_small with 16
// and 1,000 calibration samples (0.8 MB and 49 MB of data), each in a fresh
// process (its ONNX Runtime worker included). The goal: the same within 10%,
// because the data is read batch by batch from the file and calibration keeps
// fixed-size statistics.
func BenchmarkStaticPeakRSS(b *testing.B) {
	qtest.RequireORT(b)
	dir := b.TempDir()
	peaks := map[int][]float64{}
	for range b.N {
		for _, n := range []int{16, 1000} {
			path := filepath.Join(dir, fmt.Sprintf("calib%d.npz", n))
			if _, err := os.Stat(path); err != nil {
				writeCalib(b, path, n)
			}
			peak := testenv.ChildPeakRSS(b, "TestPeakRSSChild", path)
			peaks[n] = append(peaks[n], float64(peak)/(1<<20))
		}
	}
	// Medians: a process's peak moves by a few MB with the collector's timing.
	m16, m1000 := median(peaks[16]), median(peaks[1000])
	b.ReportMetric(m16, "MiB-peak-16")
	b.ReportMetric(m1000, "MiB-peak-1000")
	b.ReportMetric(m1000/m16, "ratio")
	b.Logf("peaks (MiB) with 16 samples %.1f, with 1,000 %.1f", peaks[16], peaks[1000])
}

// writeCalib writes n random resnet_small inputs ([n, 3, 64, 64] float32) as
// an uncompressed .npz.
func writeCalib(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "input.npy", Method: zip.Store})
	if err != nil {
		b.Fatal(err)
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 3, 64, 64), }", n)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var hdr bytes.Buffer
	hdr.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&hdr, binary.LittleEndian, uint16(len(h)))
	hdr.WriteString(h)
	if _, err := w.Write(hdr.Bytes()); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(n), 1))
	row := make([]byte, 3*64*64*4)
	for range n {
		for i := 0; i < len(row); i += 4 {
			binary.LittleEndian.PutUint32(row[i:], math.Float32bits(r.Float32()*2-1))
		}
		if _, err := w.Write(row); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
