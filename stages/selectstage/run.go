package selectstage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
	"github.com/sentinelzer0/szrun/onnx"
	"github.com/sentinelzer0/szrun/stages"
)

// ReportFile is the report's name inside the work dir.
const ReportFile = "selection.json"

// Run selects a candidate, copies its model and writes the report.
func (s *Stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	p, models, err := problem(in)
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	sel, err := Solve(*p)
	if sel != nil {
		for _, v := range sel.Candidates {
			v.Model = models[v.Name]
		}
	}
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	if in.Log != nil {
		for _, v := range sel.Candidates {
			in.Log.Info("candidate", "name", v.Name, "reason", v.Reason)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := models[sel.Selected]
	dst := filepath.Join(in.WorkDir, fileName(sel.Selected, src))
	if err := copyModel(src, dst); err != nil {
		return nil, fmt.Errorf("select: copy the selected model %s: %w", sel.Selected, err)
	}
	b, err := json.MarshalIndent(sel, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("select: encode report: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(in.WorkDir, ReportFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	reasons := map[string]any{}
	lines := []string{fmt.Sprintf("%s: %s", sel.Selected, reasonOf(sel, sel.Selected))}
	for _, v := range sel.Candidates {
		reasons[v.Name] = v.Reason
		if !v.Selected {
			lines = append(lines, fmt.Sprintf("%s: %s", v.Name, v.Reason))
		}
	}
	pareto := make([]any, len(sel.Pareto))
	for i, n := range sel.Pareto {
		pareto[i] = n
	}
	return &stages.Output{
		Files: map[string]string{"model": filepath.Base(dst), "report": ReportFile},
		Values: map[string]any{"selected": sel.Selected, "reason": strings.Join(lines, "\n"), "reasons": reasons,
			"pareto": pareto, "value": sel.Value},
	}, nil
}

func reasonOf(s *Selection, name string) string {
	for _, v := range s.Candidates {
		if v.Name == name {
			return v.Reason
		}
	}
	return ""
}

// fileName names the copy after the candidate, keeping the model's extension.
func fileName(name, src string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	ext := filepath.Ext(src)
	if ext == "" {
		ext = ".onnx"
	}
	return b.String() + ext
}

// copyModel copies the model at src to dst with the external data files it
// references (same relative locations beside dst), so the selected model
// loads wherever it goes. A candidate that is not an ONNX model (a TensorRT
// plan, say) is copied alone. Copies, not links: the cache makes its blobs
// read-only, and a hard link would change the user's own file.
func copyModel(src, dst string) error {
	files, err := onnx.ExternalFiles(src)
	if err != nil {
		files = nil // not an ONNX model: nothing references other files
	}
	if err := atomicfile.Copy(src, dst); err != nil {
		return err
	}
	for _, loc := range files {
		to := filepath.Join(filepath.Dir(dst), filepath.FromSlash(loc))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Copy(filepath.Join(filepath.Dir(src), filepath.FromSlash(loc)), to); err != nil {
			return fmt.Errorf("external data %s: %w", loc, err)
		}
	}
	return nil
}
