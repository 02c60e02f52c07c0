package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// summary is what trtexec's log says about the build and the timing run.
type summary struct {
	Version string `json:"version,omitempty"` // "10.3.0"
	Device  string `json:"device,omitempty"`  // "NVIDIA H100 80GB HBM3"
	// Throughput is in inferences per second; 0 when the log has no
	// performance summary (a build with --skipInference, or a failure).
	Throughput float64            `json:"throughput_qps,omitempty"`
	Latency    map[string]float64 `json:"latency_ms,omitempty"`     // host latency: min, max, mean, median, p90, ...
	GPUCompute map[string]float64 `json:"gpu_compute_ms,omitempty"` // GPU compute time, same keys
	Passed     bool               `json:"passed"`                   // the &&&& PASSED line was seen
	Errors     []string           `json:"errors,omitempty"`         // [E] lines, in order
}

var (
	// "&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec ..."
	runningRE = regexp.MustCompile(`^&&&& (RUNNING|PASSED|FAILED) TensorRT\.trtexec \[TensorRT v(\d+)\]`)
	// "[11/26/2025-10:15:32] [I] " and the like; the time stamp is optional.
	prefixRE = regexp.MustCompile(`^(?:\[[^\]]*\] )?\[([IWEVF])\] ?`)
	// "min = 0.394531 ms" and "percentile(99%) = 0.449 ms".
	statRE = regexp.MustCompile(`([A-Za-z]+(?:\([0-9.]+%\))?) = ([-+0-9.eE]+) ms`)
)

// parseSummary reads a trtexec log (stdout and stderr together). It keeps
// what it recognises and ignores the rest, so newer trtexec versions that add
// lines still parse; a malformed number in a line it knows is an error.
func parseSummary(r io.Reader) (*summary, error) {
	s := &summary{}
	inPerf := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := runningRE.FindStringSubmatch(line); m != nil {
			if s.Version == "" {
				s.Version = decodeVersion(m[2])
			}
			s.Passed = s.Passed || m[1] == "PASSED"
			continue
		}
		level, text := "", line
		if m := prefixRE.FindStringSubmatchIndex(line); m != nil {
			level, text = line[m[2]:m[3]], line[m[1]:]
		}
		if level == "E" {
			s.Errors = append(s.Errors, text)
		}
		key, val, found := strings.Cut(text, ": ")
		switch {
		case strings.HasPrefix(text, "=== "):
			inPerf = strings.HasPrefix(text, "=== Performance summary ===")
		case !found:
		case key == "TensorRT version":
			s.Version = strings.TrimSpace(val) // exact, unlike the encoded banner
		case key == "Selected Device":
			s.Device = strings.TrimSpace(val)
		case !inPerf:
		case key == "Throughput":
			f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), " qps"), 64)
			if err != nil {
				return nil, fmt.Errorf("parse trtexec throughput %q: %w", line, err)
			}
			s.Throughput = f
		case key == "Latency" || key == "Host Latency":
			m, err := parseStats(val)
			if err != nil {
				return nil, fmt.Errorf("parse trtexec latency %q: %w", line, err)
			}
			s.Latency = m
		case key == "GPU Compute Time":
			m, err := parseStats(val)
			if err != nil {
				return nil, fmt.Errorf("parse trtexec GPU compute time %q: %w", line, err)
			}
			s.GPUCompute = m
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read trtexec output: %w", err)
	}
	return s, nil
}

// parseStats reads "min = 0.39 ms, max = 1.2 ms, mean = ..., percentile(90%) = ...".
func parseStats(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, m := range statRE.FindAllStringSubmatch(s, -1) {
		f, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, err
		}
		out[statKey(m[1])] = f
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no \"name = value ms\" figures")
	}
	return out, nil
}

// statKey maps "percentile(90%)" to "p90"; other names stay.
func statKey(k string) string {
	if rest, ok := strings.CutPrefix(k, "percentile("); ok {
		return "p" + strings.TrimSuffix(rest, "%)")
	}
	return k
}

// decodeVersion turns the banner's encoded version into dotted form:
// TensorRT 10 writes major*10000+minor*100+patch (v100300 = 10.3.0), earlier
// versions major*1000+minor*100+patch (v8601 = 8.6.1).
func decodeVersion(v string) string {
	n, err := strconv.Atoi(v)
	if err != nil {
		return v
	}
	return bannerVersion(n).String()
}
