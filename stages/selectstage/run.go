package selectstage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentinelzer0/szrun/internal/atomicfile"
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
	if err := copyFile(src, dst); err != nil {
		return nil, fmt.Errorf("select: copy the selected model %s: %w", sel.Selected, err)
	}
	if _, err := os.Stat(src + ".data"); err == nil && in.Log != nil {
		in.Log.Warn("the selected model has external data beside it, which is not copied", "file", src+".data")
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

// copyFile copies rather than links: the cache makes its blobs read-only, and
// a hard link would change the user's own file.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
