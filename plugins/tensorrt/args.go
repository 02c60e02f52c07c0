package main

import (
	"strconv"
	"strings"
	"time"
)

// outputs are the files a build writes inside the work dir.
type outputs struct {
	Engine      string
	TimingCache string
	BuildLog    string
}

// trtexecArgs turns a checked config into trtexec's command line, in a fixed
// order so the same parameters always give the same command. preset holds
// presetFlags' additions. Flags are those of trtexec in TensorRT 8.6 and 10.x;
// adaptArgs rewrites them for 11.x.
func trtexecArgs(c *config, preset []string, out outputs) []string {
	args := []string{
		"--onnx=" + c.Model,
		"--saveEngine=" + out.Engine,
		// trtexec reads this file when it exists and writes the updated
		// cache back to it.
		"--timingCacheFile=" + out.TimingCache,
	}
	args = append(args, precisionFlags(c.Precision)...)
	args = append(args, preset...)
	if c.CalibCache != "" {
		args = append(args, "--calib="+c.CalibCache)
	}
	if len(c.Profiles) > 0 {
		var lo, mid, hi []string
		for _, p := range c.Profiles {
			name := shapeName(p.Input)
			lo = append(lo, name+":"+dims(p.Min))
			mid = append(mid, name+":"+dims(p.Opt))
			hi = append(hi, name+":"+dims(p.Max))
		}
		args = append(args,
			"--minShapes="+strings.Join(lo, ","),
			"--optShapes="+strings.Join(mid, ","),
			"--maxShapes="+strings.Join(hi, ","))
	}
	if c.Workspace > 0 {
		// Whole MiB, rounded up: every trtexec that has --memPoolSize reads
		// an M suffix.
		mib := (c.Workspace + 1<<20 - 1) >> 20
		args = append(args, "--memPoolSize=workspace:"+strconv.FormatUint(mib, 10)+"M")
	}
	if c.OptLevel >= 0 {
		args = append(args, "--builderOptimizationLevel="+strconv.Itoa(c.OptLevel))
	}
	if c.Device > 0 {
		args = append(args, "--device="+strconv.Itoa(c.Device))
	}
	if c.Iterations > 0 {
		args = append(args, "--iterations="+strconv.Itoa(c.Iterations))
	}
	if c.Duration > 0 {
		// trtexec takes whole seconds; round up so the run is never shorter
		// than asked.
		secs := int64((c.Duration + time.Second - 1) / time.Second)
		args = append(args, "--duration="+strconv.FormatInt(secs, 10))
	}
	return append(args, c.ExtraArgs...)
}

// shapeName quotes an input name the way trtexec's shape flags expect when it
// holds their separators (ONNX names like "input:0" are common).
func shapeName(name string) string {
	if strings.ContainsAny(name, ":,") {
		return "'" + name + "'"
	}
	return name
}

func dims(d []int64) string {
	parts := make([]string, len(d))
	for i, n := range d {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(parts, "x")
}
