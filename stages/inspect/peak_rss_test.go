package inspect

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
)

// peakEnv, when set, makes TestPeakRSSChild inspect that model and print its
// process's peak RSS: BenchmarkInspectPeakRSS runs it in a fresh process.
const peakEnv = "SZRUN_PEAK_INSPECT"

// TestPeakRSSChild is BenchmarkInspectPeakRSS's child; it does nothing unless
// run by it.
func TestPeakRSSChild(t *testing.T) {
	path := os.Getenv(peakEnv)
	if path == "" {
		t.Skip("run by BenchmarkInspectPeakRSS")
	}
	r, err := Inspect(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PEAK_RSS %d SIZE %d\n", testenv.VmHWM(), r.SizeBytes)
}

// BenchmarkInspectPeakRSS inspects a 2.4 GB model (one MatMul by a 24576x24576
// float32 weight in external data, the case) in a fresh process and
// reports its peak RSS over the model's size; the goal is at most 1.2x. It
// needs ~2.5 GB of disk and ~5 GB of memory: run it on its own,
// `go test ./stages/inspect -run '^$' -bench InspectPeakRSS -benchtime 1x`.
func BenchmarkInspectPeakRSS(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.onnx")
	testenv.WriteBigModel(b, path, 24576)
	var ratio float64
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestPeakRSSChild$", "-test.count", "1")
		cmd.Env = append(os.Environ(), peakEnv+"="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		var peak, size int64
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 4 && f[0] == "PEAK_RSS" {
				peak, _ = strconv.ParseInt(f[1], 10, 64)
				size, _ = strconv.ParseInt(f[3], 10, 64)
			}
		}
		if peak == 0 || size == 0 {
			b.Fatalf("child printed no peak\n%s", out)
		}
		ratio = max(ratio, float64(peak)/float64(size))
		b.ReportMetric(float64(size)/(1<<20), "MiB-model")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak")
	}
	b.ReportMetric(ratio, "peak/model")
}
