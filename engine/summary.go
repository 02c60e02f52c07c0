package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Markdown renders the run as a markdown summary (for GITHUB_STEP_SUMMARY):
// a table of stage instances, every failed check with what it compared, the
// stages' warnings (one line per kind of warning, with how many times and
// where it came), and the recipe's outputs, text as text.
func Markdown(res *Result) string {
	var b strings.Builder
	icon := map[string]string{StatusSucceeded: "✅", StatusCached: "♻️", StatusFailed: "❌", StatusSkipped: "⏭️"}
	fmt.Fprintf(&b, "### szrun: %s — %s\n\n", res.Name, res.Status)
	b.WriteString("| stage | status | duration | note |\n|---|---|---:|---|\n")
	for _, st := range res.Stages {
		note := st.Reason
		if st.Status == StatusFailed {
			note = firstLine(st.Error)
		}
		if st.CacheHit == HitRemote {
			note = "from the remote cache"
		}
		fmt.Fprintf(&b, "| `%s` | %s %s | %s | %s |\n", st.Instance, icon[st.Status], st.Status,
			(time.Duration(st.DurationMS) * time.Millisecond).String(), cell(note))
	}
	failedChecks(&b, res)
	warningGroups(&b, res)
	outputs(&b, res)
	return b.String()
}

// cell makes text safe inside a table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}

// failedChecks lists every failed check (assert's `checks` output) with its
// values and condition.
func failedChecks(b *strings.Builder, res *Result) {
	head := false
	for _, st := range res.Stages {
		for _, chk := range checks(st) {
			if chk.Failure == "" {
				continue
			}
			if !head {
				b.WriteString("\n**Failed checks**\n\n")
				head = true
			}
			fmt.Fprintf(b, "- ❌ `%s`: %s", st.Instance, chk.Failure)
			if chk.Condition != "" {
				fmt.Fprintf(b, "<br>`%s`", strings.ReplaceAll(chk.Condition, "`", "'"))
			}
			b.WriteString("\n")
		}
	}
}

// figure matches the numbers in a warning, which differ between instances
// saying the same thing (a load average, a coefficient of variation).
var figure = regexp.MustCompile(`\d+(?:\.\d+)?`)

// warningGroup is one kind of warning: the text of its first occurrence,
// how often it came and from which instances.
type warningGroup struct {
	text   string
	count  int
	varies bool
	where  []string
}

// warningGroups lists the stages' warnings once per kind: warnings that
// differ only in their figures are one kind, shown once with a count and the
// instances that logged it.
func warningGroups(b *strings.Builder, res *Result) {
	var groups []*warningGroup
	byKey := map[string]*warningGroup{}
	for _, st := range res.Stages {
		for _, w := range st.Warnings {
			key := figure.ReplaceAllString(w, "#")
			g := byKey[key]
			if g == nil {
				g = &warningGroup{text: w}
				byKey[key] = g
				groups = append(groups, g)
			}
			g.count++
			g.varies = g.varies || w != g.text
			if !slices.Contains(g.where, st.Instance) {
				g.where = append(g.where, st.Instance)
			}
		}
	}
	if len(groups) == 0 {
		return
	}
	b.WriteString("\n**Warnings**\n\n")
	for _, g := range groups {
		b.WriteString("- ⚠️ ")
		if g.count > 1 {
			fmt.Fprintf(b, "**%d×** ", g.count)
		}
		b.WriteString(strings.ReplaceAll(g.text, "\n", " "))
		where := make([]string, len(g.where))
		for i, w := range g.where {
			where[i] = "`" + w + "`"
		}
		fmt.Fprintf(b, " — %s", strings.Join(where, ", "))
		if g.varies {
			b.WriteString(" (figures vary; the first shown)")
		}
		b.WriteString("\n")
	}
}

// outputs lists the recipe's outputs: files by path, text as text (a
// multi-line text in a block), other values as compact JSON with rounded
// figures.
func outputs(b *strings.Builder, res *Result) {
	if len(res.Outputs) == 0 {
		return
	}
	b.WriteString("\n**Outputs**\n\n")
	for _, o := range res.Outputs {
		switch text, isText := o.Value.(string); {
		case o.Missing != "":
			fmt.Fprintf(b, "- `%s`: none (%s)\n", o.Name, o.Missing)
		case o.Path != "":
			fmt.Fprintf(b, "- `%s`: `%s`\n", o.Name, o.Path)
		case isText && strings.Contains(strings.TrimSpace(text), "\n"):
			fence := "```"
			for strings.Contains(text, fence) {
				fence += "`"
			}
			fmt.Fprintf(b, "- `%s`:\n\n  %stext\n  %s\n  %s\n", o.Name, fence,
				strings.ReplaceAll(strings.TrimSpace(text), "\n", "\n  "), fence)
		case isText:
			fmt.Fprintf(b, "- `%s`: %s\n", o.Name, text)
		default:
			fmt.Fprintf(b, "- `%s`: `%s`\n", o.Name, RoundedJSON(o.Value))
		}
	}
}

// AppendStepSummary appends the markdown summary to a GitHub step summary file.
func AppendStepSummary(path string, res *Result) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open step summary %s: %w", path, err)
	}
	if _, err := f.WriteString(Markdown(res) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write step summary %s: %w", path, err)
	}
	return f.Close()
}

// RoundedJSON renders a value on one line as JSON with its floats rounded as
// RoundFloat does ({"fp16":1.014}), without HTML escaping (a > stays >).
func RoundedJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(roundFloats(v)); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func roundFloats(v any) any {
	switch t := v.(type) {
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return t
		}
		return json.Number(RoundFloat(t))
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = roundFloats(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = roundFloats(e)
		}
		return out
	}
	return v
}
