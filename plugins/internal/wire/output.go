package wire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sentinelzer0/szrun/stages"
)

// CheckOutput validates what a stage returned and builds the Output the engine
// gets: every file must exist inside workDir (the cache moves it from there)
// and every name must be a declared output of the right kind unless the
// stage has open outputs. File paths come back absolute. All problems are
// reported, sorted by output name.
func CheckOutput(spec stages.Spec, workDir string, files map[string]string, values map[string]any) (*stages.Output, error) {
	var errs []error
	root, err := filepath.Abs(workDir)
	if err != nil {
		return nil, fmt.Errorf("resolve work dir %s: %w", workDir, err)
	}
	out := &stages.Output{Files: map[string]string{}, Values: map[string]any{}}
	for _, name := range sortedKeys(files) {
		if err := checkKind(spec, name, stages.FileOutput); err != nil {
			errs = append(errs, err)
			continue
		}
		p := files[name]
		if p == "" {
			errs = append(errs, fmt.Errorf("output %q: empty file path", name))
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		p = filepath.Clean(p)
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			errs = append(errs, fmt.Errorf("output %q: %s lies outside the work dir %s", name, files[name], root))
			continue
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("output %q: file %s does not exist", name, p))
			continue
		}
		out.Files[name] = p
	}
	for _, name := range sortedKeys(values) {
		if err := checkKind(spec, name, stages.ValueOutput); err != nil {
			errs = append(errs, err)
			continue
		}
		out.Values[name] = values[name]
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func checkKind(spec stages.Spec, name string, kind stages.OutputKind) error {
	o, ok := spec.Output(name)
	switch {
	case !ok && !spec.OpenOutputs:
		valid := make([]string, 0, len(spec.Outputs))
		for _, o := range spec.Outputs {
			valid = append(valid, o.Name)
		}
		sort.Strings(valid)
		return fmt.Errorf("output %q is not declared by stage %s (declared: %s)", name, spec.Name, strings.Join(valid, ", "))
	case ok && o.Kind != kind:
		return fmt.Errorf("output %q is declared as a %s output but was returned as a %s", name, o.Kind, kind)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
