package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// trtVersion is TensorRT's version as trtexec reports it.
type trtVersion struct{ Major, Minor, Patch int }

func (v trtVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

var (
	// bannerRE matches trtexec's banner, "&&&& RUNNING TensorRT.trtexec
	// [TensorRT v100300] # trtexec ...", which every run and --help print.
	bannerRE = regexp.MustCompile(`\[TensorRT v(\d{4,7})\]`)
	// dottedRE matches "TensorRT version: 11.0.1", "TensorRT 10.3.0" and
	// "TensorRT v11.0".
	dottedRE = regexp.MustCompile(`TensorRT(?:[ -]?[Vv]ersion)?:?\s+v?(\d+)\.(\d+)(?:\.(\d+))?`)
)

// bannerVersion decodes the banner's packed version: major*1000 + minor*100 +
// patch up to 8.x (v8601 is 8.6.1), major*10000 + minor*100 + patch from 10 on
// (v100300 is 10.3.0).
func bannerVersion(n int) trtVersion {
	if n >= 100000 {
		return trtVersion{n / 10000, n / 100 % 100, n % 100}
	}
	return trtVersion{n / 1000, n / 100 % 10, n % 100}
}

// parseTrtexecVersion reads TensorRT's version from trtexec's output (--version,
// --help or any run): the banner, or a dotted "TensorRT version: 11.0.1".
func parseTrtexecVersion(out string) (trtVersion, error) {
	if m := bannerRE.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		return bannerVersion(n), nil
	}
	if m := dottedRE.FindStringSubmatch(out); m != nil {
		v := trtVersion{}
		v.Major, _ = strconv.Atoi(m[1])
		v.Minor, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			v.Patch, _ = strconv.Atoi(m[3])
		}
		return v, nil
	}
	return trtVersion{}, fmt.Errorf("no TensorRT version in trtexec's output %q", clip(out, 200))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// trtexecVersion asks bin for its version: --version, and when that says
// nothing usable (older trtexec rejects the flag), the --help banner.
func trtexecVersion(ctx context.Context, bin string) (trtVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var lastErr error
	for _, flag := range []string{"--version", "--help"} {
		out, _ := exec.CommandContext(ctx, bin, flag).CombinedOutput() // --help exits non-zero on some versions
		v, err := parseTrtexecVersion(string(out))
		if err == nil {
			return v, nil
		}
		lastErr = err
	}
	if err := ctx.Err(); err != nil {
		return trtVersion{}, fmt.Errorf("ask %s for its version: %w", bin, err)
	}
	return trtVersion{}, fmt.Errorf("ask %s for its version (--version, then --help): %w", bin, lastErr)
}

// noOpsIn11 are flags TensorRT 11 keeps only as deprecated no-ops (strong typing
// and CUDA graphs are its defaults, and timing already excludes transfers).
var noOpsIn11 = map[string]bool{"--stronglyTyped": true, "--useCudaGraph": true, "--noDataTransfers": true, "--separateProfileRun": true}

// movedIn11 are flags TensorRT 11 took out of trtexec's standard build options:
// its networks are strongly typed, so precision comes from the model's types.
var movedIn11 = map[string]bool{"--fp16": true, "--int8": true}

// adaptArgs rewrites a 10.x command line (trtexecArgs) for TensorRT v: from 11
// on, it drops the deprecated no-ops, with a note each, and refuses what 11
// moved out of the build options. Older versions get args unchanged.
func adaptArgs(v trtVersion, c *config, args []string) (out, notes []string, err error) {
	if v.Major < 11 {
		return args, nil, nil
	}
	if c.CalibCache != "" {
		return nil, nil, fmt.Errorf("calibration_cache: TensorRT %s's trtexec has no --calib among its build options (its networks are strongly typed); quantize the model with QuantizeLinear/DequantizeLinear nodes instead (the quantize stage, mode int8-static) and build it with precision int8", v)
	}
	for _, a := range args {
		flag := a
		if i := strings.IndexByte(a, '='); i >= 0 {
			flag = a[:i]
		}
		switch {
		case noOpsIn11[flag]:
			notes = append(notes, fmt.Sprintf("TensorRT %s: dropped %s, a deprecated no-op there", v, a))
		case movedIn11[flag]:
			notes = append(notes, fmt.Sprintf("TensorRT %s builds strongly typed networks: precision %s comes from the model's types (a float16 model from the fp16 stage, a Q/DQ model from the quantize stage), so %s is not passed", v, c.Precision, a))
		default:
			out = append(out, a)
		}
	}
	return out, notes, nil
}
