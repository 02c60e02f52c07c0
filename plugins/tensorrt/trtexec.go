package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// trtexecBackend drives TensorRT's trtexec.
type trtexecBackend struct{ bin string }

func (b *trtexecBackend) Name() string { return "trtexec (" + b.bin + ")" }

// maxWarnings bounds how many trtexec warnings reach the stage log; all of
// them are in build_log.
const maxWarnings = 20

func (b *trtexecBackend) Build(ctx context.Context, c *config, preset []string, out outputs, in *stages.Input) (*summary, error) {
	v, err := trtexecVersion(ctx, b.bin)
	if err != nil {
		v = trtVersion{Major: 10}
		in.Log.Warn("building with TensorRT 10.x flags", "err", err)
	}
	args, notes, err := adaptArgs(v, c, trtexecArgs(c, preset, out))
	if err != nil {
		return nil, err
	}
	in.Log.Info("trtexec", "tensorrt", v.String())
	for _, n := range notes {
		in.Log.Info(n)
	}
	in.Log.Info("running trtexec", "bin", b.bin, "args", strings.Join(args, " "))
	logFile, err := os.Create(out.BuildLog)
	if err != nil {
		return nil, fmt.Errorf("create build log: %w", err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "# %s %s\n", b.bin, strings.Join(args, " "))

	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Dir = in.WorkDir
	setProcessGroup(cmd)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("run trtexec: %w", err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start trtexec %s: %w", b.bin, err)
	}
	w.Close() // the child holds its own copy; EOF comes when it exits
	copyErr := follow(r, logFile, in)
	waitErr := cmd.Wait()
	if err := logFile.Sync(); err != nil && copyErr == nil {
		copyErr = err
	}
	if copyErr != nil {
		return nil, fmt.Errorf("write build log: %w", copyErr)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("trtexec stopped: %w", context.Cause(ctx))
	}
	f, err := os.Open(out.BuildLog)
	if err != nil {
		return nil, fmt.Errorf("read build log: %w", err)
	}
	defer f.Close()
	sum, err := parseSummary(f)
	if err != nil {
		return nil, err
	}
	if waitErr != nil {
		return nil, trtexecFailure(waitErr, sum)
	}
	return sum, nil
}

// follow copies trtexec's output to the build log, passes its errors and
// first warnings to the stage log, and reports progress at the phases
// trtexec announces.
func follow(r *os.File, logFile *os.File, in *stages.Input) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	bw := bufio.NewWriter(logFile)
	warnings := 0
	for sc.Scan() {
		line := sc.Text()
		if _, err := bw.WriteString(line + "\n"); err != nil {
			return err
		}
		m := prefixRE.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		text := line[m[1]:]
		switch line[m[2]:m[3]] {
		case "E", "F":
			in.Log.Error("trtexec: " + text)
		case "W":
			if warnings++; warnings <= maxWarnings {
				in.Log.Warn("trtexec: " + text)
			}
		case "I":
			switch {
			case strings.HasPrefix(text, "Start parsing network model"):
				in.Report(1, 3, "parsing the model")
			case strings.HasPrefix(text, "Finished parsing network model"):
				in.Report(2, 3, "building the engine")
			case strings.HasPrefix(text, "Engine built in"), strings.HasPrefix(text, "Starting inference"):
				in.Report(3, 3, "timing the engine")
				in.Log.Info("trtexec: " + text)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// trtexecFailure says why trtexec failed, quoting its errors; the whole log is in
// build_log.
func trtexecFailure(waitErr error, sum *summary) error {
	errs := sum.Errors
	if len(errs) > 6 {
		// The first errors usually name the cause, the last ones what
		// trtexec gave up on.
		errs = append(append(errs[:3:3], "..."), errs[len(errs)-3:]...)
	}
	if len(errs) == 0 {
		return fmt.Errorf("trtexec failed (%w) without an error message; see the build log", waitErr)
	}
	return fmt.Errorf("trtexec failed (%w); its errors (the whole output is in the build log):\n  %s", waitErr, strings.Join(errs, "\n  "))
}
