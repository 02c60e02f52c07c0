package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sentinelzer0/szrun/onnx"
)

// Report is what inspect knows about one model: the statistics of package
// onnx plus where the model lives and how big it is on disk.
type Report struct {
	Path string `json:"path"`
	// SizeBytes is the model file's size plus that of its external data
	// files, if any.
	SizeBytes int64 `json:"size_bytes"`
	*onnx.Stats
}

// Inspect loads the model at path and summarizes it. ctx is checked before
// the (possibly long) load and statistics pass.
func Inspect(ctx context.Context, path string) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	m, err := onnx.Load(path)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	size, err := onnx.FileSize(path)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	st, err := m.Stats()
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	return &Report{Path: path, SizeBytes: size, Stats: st}, nil
}

// Print writes r for a person (asJSON false: aligned text) or a program
// (asJSON true: indented JSON with sorted keys). It is what
// `szrun inspect MODEL [--json]` prints.
func Print(w io.Writer, r *Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("inspect: write JSON: %w", err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("model\t%s\n", r.Path)
	p("size\t%s (%d bytes)\n", humanBytes(r.SizeBytes), r.SizeBytes)
	prod := strings.TrimSpace(r.Producer + " " + r.ProducerVersion)
	if prod == "" {
		prod = "(unknown)"
	}
	p("producer\t%s\n", prod)
	p("ir_version\t%d\n", r.IRVersion)
	p("opsets\t%s\n", joinOpsets(r.Opsets))
	p("nodes\t%d (%d subgraphs)\n", r.Nodes, r.Subgraphs)
	p("parameters\t%d in %d initializers, %s\n", r.Parameters, r.Initializers, humanBytes(r.ParamBytes))
	p("sparsity\t%.2f%% (%d zeros)\n", 100*r.Sparsity, r.Zeros)
	p("\n")
	p("inputs\ttype\tshape\n")
	for _, v := range r.Inputs {
		p("  %s\t%s\t%s\n", v.Name, v.Type, shapeString(v.Shape))
	}
	p("outputs\ttype\tshape\n")
	for _, v := range r.Outputs {
		p("  %s\t%s\t%s\n", v.Name, v.Type, shapeString(v.Shape))
	}
	p("\nparameters by type\ttensors\telements\tbytes\n")
	for _, k := range sortedKeys(r.ByType) {
		t := r.ByType[k]
		p("  %s\t%d\t%d\t%s\n", k, t.Tensors, t.Elements, humanBytes(t.Bytes))
	}
	p("\nops\tcount\n")
	ops := sortedKeys(r.Ops)
	// Most frequent first; ties by name so the order is stable.
	sort.SliceStable(ops, func(i, j int) bool { return r.Ops[ops[i]] > r.Ops[ops[j]] })
	for _, k := range ops {
		p("  %s\t%d\n", k, r.Ops[k])
	}
	if len(r.Tensors) > 0 {
		p("\ninitializers\ttype\tshape\tbytes\tsparsity\n")
		for _, t := range r.Tensors {
			p("  %s\t%s\t%s\t%s\t%.2f%%\n", t.Name, t.Type, dimsString(t.Dims), humanBytes(t.Bytes), 100*t.Sparsity)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("inspect: write report: %w", err)
	}
	return nil
}

func joinOpsets(m map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

func shapeString(s []string) string {
	if s == nil {
		return "(unranked)"
	}
	return "[" + strings.Join(s, ",") + "]"
}

func dimsString(d []int64) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
