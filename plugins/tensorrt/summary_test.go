package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The logs are reconstructions of trtexec output (see testdata/README.md);
// the golden files hold everything parseSummary reads from them.
func TestParseSummaryGolden(t *testing.T) {
	logs, err := filepath.Glob("testdata/trtexec-*.log")
	if err != nil || len(logs) == 0 {
		t.Fatalf("no logs in testdata: %v", err)
	}
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sum, err := parseSummary(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(sum, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(path, ".log") + ".summary.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("parseSummary(%s) differs from %s:\n got %s\nwant %s", path, golden, got, want)
			}
		})
	}
}

// The golden files are written by the code under test; these figures are
// copied from the logs by hand so that a wrong parser cannot bless itself.
func TestParseSummaryFigures(t *testing.T) {
	tests := []struct {
		log        string
		version    string
		device     string
		qps        float64
		latency    map[string]float64
		gpuCompute map[string]float64
		passed     bool
		lastError  string
	}{
		{
			log: "trtexec-8.6-a100-fp16.log", version: "8.6.1", device: "NVIDIA A100-SXM4-80GB", qps: 1809.82, passed: true,
			latency:    map[string]float64{"min": 0.568359, "max": 1.14233, "mean": 0.584617, "median": 0.582031, "p90": 0.59375, "p95": 0.597656, "p99": 0.618408},
			gpuCompute: map[string]float64{"min": 0.507812, "max": 1.07837, "mean": 0.521954, "median": 0.519165, "p90": 0.530396, "p95": 0.534546, "p99": 0.553986},
		},
		{
			log: "trtexec-10.3-h100-best-dynamic.log", version: "10.3.0", device: "NVIDIA H100 80GB HBM3", qps: 1275.99, passed: true,
			latency:    map[string]float64{"min": 0.766235, "max": 1.34619, "mean": 0.781194, "median": 0.779785, "p90": 0.787598, "p95": 0.790771, "p99": 0.806396},
			gpuCompute: map[string]float64{"min": 0.571411, "max": 1.14575, "mean": 0.583006, "median": 0.581665, "p90": 0.588867, "p95": 0.591919, "p99": 0.605225},
		},
		{log: "trtexec-10.3-l4-parse-error.log", version: "10.3.0", device: "NVIDIA L4", lastError: "Engine set up failed"},
	}
	for _, tc := range tests {
		t.Run(tc.log, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.log))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := parseSummary(f)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != tc.version || s.Device != tc.device || s.Throughput != tc.qps || s.Passed != tc.passed {
				t.Errorf("version %q device %q qps %v passed %v; want %q %q %v %v", s.Version, s.Device, s.Throughput, s.Passed, tc.version, tc.device, tc.qps, tc.passed)
			}
			if !equalStats(s.Latency, tc.latency) || !equalStats(s.GPUCompute, tc.gpuCompute) {
				t.Errorf("latency %v gpu %v; want %v %v", s.Latency, s.GPUCompute, tc.latency, tc.gpuCompute)
			}
			last := ""
			if len(s.Errors) > 0 {
				last = s.Errors[len(s.Errors)-1]
			}
			if last != tc.lastError {
				t.Errorf("last error %q, want %q", last, tc.lastError)
			}
		})
	}
}

func equalStats(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func TestParseSummaryEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		check   func(*summary) bool
		wantErr string
	}{
		{
			name: "no time stamps, banner version only",
			log: "&&&& RUNNING TensorRT.trtexec [TensorRT v100800] # trtexec\n[I] === Performance summary ===\n" +
				"[I] Throughput: 10 qps\n[I] Latency: min = 1 ms, max = 3 ms, mean = 2 ms, percentile(99.9%) = 2.9 ms\n",
			check: func(s *summary) bool {
				return s.Version == "10.8.0" && s.Throughput == 10 && s.Latency["p99.9"] == 2.9 && s.Latency["max"] == 3
			},
		},
		{
			name: "TensorRT 8.2 style: Host Latency and one percentile",
			log:  "[I] === Performance summary ===\n[I] Host Latency: min = 1.5 ms, max = 2 ms, mean = 1.7 ms, median = 1.6 ms, percentile(99%) = 1.9 ms\n",
			check: func(s *summary) bool {
				return s.Latency["p99"] == 1.9 && s.Latency["median"] == 1.6 && len(s.Latency) == 5
			},
		},
		{
			name:  "per-run averages before the summary are not the summary",
			log:   "[I] Average on 10 runs - GPU latency: 0.5 ms - Host latency: 0.6 ms\n[I] Latency: min = 9 ms\n",
			check: func(s *summary) bool { return s.Latency == nil && s.Throughput == 0 },
		},
		{
			name:  "windows line ends",
			log:   "[I] TensorRT version: 10.0.1\r\n[I] === Performance summary ===\r\n[I] Throughput: 5.5 qps\r\n",
			check: func(s *summary) bool { return s.Version == "10.0.1" && s.Throughput == 5.5 },
		},
		{name: "bad throughput", log: "[I] === Performance summary ===\n[I] Throughput: lots qps\n", wantErr: "parse trtexec throughput"},
		{name: "latency without figures", log: "[I] === Performance summary ===\n[I] Latency: fast\n", wantErr: "parse trtexec latency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSummary(strings.NewReader(tc.log))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Fatalf("summary %+v", s)
			}
		})
	}
}

func TestDecodeVersion(t *testing.T) {
	for in, want := range map[string]string{"8601": "8.6.1", "8503": "8.5.3", "100300": "10.3.0", "101300": "10.13.0", "x": "x"} {
		if got := decodeVersion(in); got != want {
			t.Errorf("decodeVersion(%s) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParseSummary(f *testing.F) {
	logs, _ := filepath.Glob("testdata/trtexec-*.log")
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, log string) {
		s, err := parseSummary(strings.NewReader(log))
		if err == nil && s == nil {
			t.Fatal("nil summary without an error")
		}
	})
}
