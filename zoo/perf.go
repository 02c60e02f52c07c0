package zoo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/engine"
)

// Kinds reads each model's kind (cnn, transformer, seq, seg, audio, op,
// misc) from dir/manifest.json.
func Kinds(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("zoo: %w", err)
	}
	var man map[string]struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, fmt.Errorf("zoo: manifest: %w", err)
	}
	out := map[string]string{}
	for k, v := range man {
		out[k] = v.Kind
	}
	return out, nil
}

// INT8 is one model's static INT8 result against the fp32 model optimized
// at level extended, timed side by side at batch 1.
type INT8 struct {
	Model, Kind string
	// Static, Chain and Dynamic are fp32-optimized latency / INT8 latency
	// for static quantization alone, optimize(extended) then static, and
	// dynamic quantization (0: untimed).
	Static, Chain, Dynamic float64
	// Top1Static and Top1Chain are the top-1 agreement with fp32 on random
	// inputs (-1: not measured).
	Top1Static, Top1Chain float64
}

// INT8Results extracts the INT8 figures of the models whose kind is in kinds.
func INT8Results(results map[string]*engine.Result, models []string, kinds map[string]string, want ...string) []INT8 {
	var out []INT8
	for _, m := range models {
		r := results[m]
		k := kinds[m]
		if r == nil || !contains(want, k) {
			continue
		}
		row := INT8{Model: m, Kind: k, Top1Static: -1, Top1Chain: -1}
		for _, s := range r.Stages {
			if s.Status != "succeeded" && s.Status != "cached" {
				continue
			}
			switch s.Stage {
			case "bench_q_static":
				row.Static = relSpeedup(s.Outputs, "q_static")
			case "bench_chain":
				row.Chain = relSpeedup(s.Outputs, "chain")
			case "bench_q_dynamic":
				row.Dynamic = relSpeedup(s.Outputs, "q_dynamic")
			case "agree":
				if a, ok := s.Outputs["top1_agreement"].(map[string]any); ok {
					if v, ok := a["q_static"].(float64); ok {
						row.Top1Static = v
					}
					if v, ok := a["chain"].(float64); ok {
						row.Top1Chain = v
					}
				}
			}
		}
		out = append(out, row)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// relSpeedup is model's speedup over opt_extended in a benchmark whose
// baseline is the exported fp32 model.
func relSpeedup(o map[string]any, model string) float64 {
	sp, ok := o["speedup"].(map[string]any)
	if !ok {
		return 0
	}
	q, _ := sp[model].(float64)
	f, _ := sp["opt_extended"].(float64)
	if q <= 0 || f <= 0 {
		return 0
	}
	return q / f
}

// INT8Markdown renders rows as the table of docs/PERFORMANCE.md.
func INT8Markdown(rows []INT8) string {
	var b strings.Builder
	b.WriteString("| model | kind | int8 static | optimize → int8 static | int8 dynamic | top-1 agreement (static / chain) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	f := func(v float64, format string) string {
		if v <= 0 && format != "%.1f%%" {
			return "—"
		}
		if v < 0 {
			return "—"
		}
		if format == "%.1f%%" {
			return fmt.Sprintf(format, 100*v)
		}
		return fmt.Sprintf(format, v)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s / %s |\n", r.Model, r.Kind, f(r.Static, "%.2fx"), f(r.Chain, "%.2fx"), f(r.Dynamic, "%.2fx"),
			f(r.Top1Static, "%.1f%%"), f(r.Top1Chain, "%.1f%%"))
	}
	return b.String()
}
