package console

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sentinelzer0/szrun/engine"
)

// Summary writes the final table of a run: one row per stage instance, then
// the outputs and where the run record is.
func Summary(w io.Writer, res *engine.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTATUS\tDURATION\tNOTE")
	for _, st := range res.Stages {
		note := st.Reason
		if st.Status == engine.StatusFailed {
			// The whole error follows the table; the row only names it.
			note = truncate(firstLine(st.Error), 72)
		}
		if st.Status == engine.StatusCached {
			note = "restored from cache"
			if st.CacheHit == engine.HitRemote {
				note = "restored from the remote cache"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Instance, st.Status, fmtDuration(time.Duration(st.DurationMS)*time.Millisecond), note)
	}
	tw.Flush()
	c := res.Counts()
	var parts []string
	for _, s := range []string{engine.StatusSucceeded, engine.StatusCached, engine.StatusFailed, engine.StatusSkipped} {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	fmt.Fprintf(w, "\n%s in %s: %s\n", res.Status, fmtDuration(time.Duration(res.DurationMS)*time.Millisecond), strings.Join(parts, ", "))
	if rc := res.Remote; rc != nil {
		fmt.Fprintf(w, "remote cache %s (%s): %d hits, %d uploaded", rc.URL, rc.Mode, rc.Hits, rc.Uploads)
		if rc.Unusable > 0 {
			fmt.Fprintf(w, ", %d unusable entries run again", rc.Unusable)
		}
		if rc.Error != "" {
			fmt.Fprintf(w, "; not used after: %s", firstLine(rc.Error))
		}
		fmt.Fprintln(w)
	}
	for _, st := range res.Stages {
		if st.Status == engine.StatusFailed {
			fmt.Fprintf(w, "\nstage %s failed:\n  %s\n", st.Instance, indent(st.Error))
		}
	}
	if len(res.Outputs) > 0 {
		fmt.Fprintf(w, "\noutputs (%s):\n", res.OutDir)
		for _, o := range res.Outputs {
			if o.Missing != "" {
				fmt.Fprintf(w, "  %s: none (%s)\n", o.Name, o.Missing)
			} else if o.Path != "" && o.Kept {
				fmt.Fprintf(w, "  %s: %s (kept from an earlier run)\n", o.Name, o.Path)
			} else if o.Path != "" {
				fmt.Fprintf(w, "  %s: %s\n", o.Name, o.Path)
			} else if str, ok := o.Value.(string); ok {
				fmt.Fprintf(w, "  %s = %s\n", o.Name, indent(str))
			} else {
				fmt.Fprintf(w, "  %s = %s\n", o.Name, engine.RoundedJSON(o.Value))
			}
		}
	}
	if res.OutputsError != "" {
		fmt.Fprintf(w, "\noutputs not written: %s\n", res.OutputsError)
	}
	fmt.Fprintf(w, "run record: %s\n", res.RunDir)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
