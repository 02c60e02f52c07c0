package recipe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

var (
	recipeKeys = []string{"description", "env", "name", "outputs", "params", "stages", "version"}
	stageKeys  = []string{"cache", "description", "if", "matrix", "name", "needs", "retries", "timeout", "uses", "with"}

	// identRe is what HCL accepts after a dot, so every declared name can be
	// written as params.<name>, stages.<id>, matrix.<axis>.
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	envRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// fileNameRe: recipe and output names become folder and file names.
	fileNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)
)

// Load reads and parses the recipe at path. Positions in errors use path as
// given. A file that cannot be read is a plain wrapped error; recipe
// problems are an ErrorList.
func Load(path string) (*Recipe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load recipe: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a recipe and checks its structure: known keys, value types,
// expression syntax, matrix values. file names the recipe in positions and
// locates its folder. Cross-references and stage parameters are checked by
// Validate. On structural problems it returns the ErrorList and, when the
// file was YAML at all, the recipe as far as it could be read: Validate may
// still run on it (the engine does, to report every problem in one go), but
// it must not be run.
func Parse(file string, data []byte) (*Recipe, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	d := newDecoder(file, filepath.Dir(abs), data)
	root := d.parseYAML()
	if root == nil {
		return nil, d.errs.err()
	}
	if moreDocuments(d.yaml) {
		d.errs.add(Pos{File: file, Line: 1, Col: 1}, "a recipe is one YAML document; found more than one")
	}
	v := d.value(root, 0)
	r := &Recipe{File: abs, Dir: filepath.Dir(abs), file: file, quoted: d.warns}
	p := &parser{d: d, r: r}
	p.recipe(v)
	d.errs.addList(r.resolveMatrix())
	if err := d.errs.err(); err != nil {
		// The recipe is returned too, as far as it could be read, so the
		// caller can still validate it and report every problem at once.
		r.broken = true
		return r, err
	}
	return r, nil
}

func moreDocuments(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if dec.Decode(&n) != nil {
		return false
	}
	err := dec.Decode(&n)
	return err == nil || !errors.Is(err, io.EOF)
}

type parser struct {
	d *decoder
	r *Recipe
}

func (p *parser) add(pos Pos, format string, args ...any) { p.d.errs.add(pos, format, args...) }

// checkKeys reports keys of m that are not in valid.
func (p *parser) checkKeys(m *Value, where string, valid []string) {
	for i, k := range m.keys {
		if !contains(valid, k) {
			p.add(m.keyPos[i], "unknown key %q in %s%s; valid keys: %s", k, where, didYouMean(k, valid), strings.Join(valid, ", "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) recipe(v *Value) {
	r := p.r
	if v.kind != Map {
		p.add(v.pos, "a recipe must be a mapping with version and stages, got %s", describeValue(v))
		return
	}
	p.checkKeys(v, "recipe", recipeKeys)
	if ver := v.Field("version"); ver == nil {
		p.add(Pos{File: p.d.file, Line: 1, Col: 1}, `missing "version: 1" at the top of the recipe`)
	} else if n, ok := intLit(ver); !ok {
		p.add(ver.pos, "version must be the number 1, got %s", describeValue(ver))
	} else if n != 1 {
		p.add(ver.pos, "unsupported recipe version %d; this szrun reads version 1", n)
	} else {
		r.Version = 1
	}
	r.Name = strings.TrimSuffix(filepath.Base(p.d.file), filepath.Ext(p.d.file))
	if n := v.Field("name"); n == nil && !fileNameRe.MatchString(r.Name) {
		// The name derived from the file ("...yaml" gives "..") names the
		// output folder just as a given one does.
		p.add(Pos{File: p.d.file, Line: 1, Col: 1}, "recipe name %q (from the file name) must start with a letter, digit or '_' and hold only letters, digits, '.', '_' or '-' (it names the output folder); add a name: to the recipe or rename the file", r.Name)
	} else if n != nil {
		if s, ok := p.str(n, "name"); ok {
			if !fileNameRe.MatchString(s) {
				p.add(n.pos, "name %q must start with a letter or digit and hold only letters, digits, '.', '_' or '-' (it names the output folder)", s)
			}
			r.Name = s
		}
	}
	if n := v.Field("description"); n != nil {
		r.Description, _ = p.str(n, "description")
	}
	p.params(v.Field("params"))
	p.env(v.Field("env"))
	p.stages(v, v.Field("stages"))
	p.outputs(v.Field("outputs"))
}

// intLit reads a literal whole number (YAML may write it as 1.0).
func intLit(v *Value) (int64, bool) {
	if v.kind != Scalar {
		return 0, false
	}
	switch n := v.lit.(type) {
	case int64:
		return n, true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

// str reads a literal string.
func (p *parser) str(v *Value, what string) (string, bool) {
	if s, ok := v.lit.(string); ok && v.kind == Scalar {
		return s, true
	}
	if v.kind == Template {
		p.add(v.pos, "%s must be a literal string; expressions are not allowed here", what)
	} else {
		p.add(v.pos, "%s must be a string, got %s", what, describeValue(v))
	}
	return "", false
}

func (p *parser) isMap(v *Value, what string) bool {
	if v.kind == Map {
		return true
	}
	p.add(v.pos, "%s must be a mapping, got %s", what, describeValue(v))
	return false
}

func (p *parser) params(v *Value) {
	if v == nil || v.kind == Null || !p.isMap(v, "params") {
		return
	}
	for i, k := range v.keys {
		val := v.vals[i]
		if !identRe.MatchString(k) {
			p.add(v.keyPos[i], "param name %q must start with a letter or '_' and hold only letters, digits, '_' or '-'", k)
			continue
		}
		if val.HasExpr() {
			p.add(val.pos, "param %q: defaults are literal values; expressions are not allowed here", k)
			continue
		}
		lv, _ := literalValue(val)
		p.r.Params = append(p.r.Params, &ParamDecl{Name: k, Value: lv, Pos: v.keyPos[i], src: val})
	}
}

func (p *parser) env(v *Value) {
	if v == nil || v.kind == Null {
		return
	}
	if v.kind != List {
		p.add(v.pos, "env must be a list of environment variable names, got %s", describeValue(v))
		return
	}
	seen := map[string]bool{}
	for _, it := range v.items {
		s, ok := p.str(it, "an env entry")
		if !ok {
			continue
		}
		switch {
		case !envRe.MatchString(s):
			p.add(it.pos, "env: %q is not an environment variable name", s)
		case seen[s]:
			p.add(it.pos, "env: %q is listed twice", s)
		default:
			seen[s] = true
			p.r.Env = append(p.r.Env, s)
		}
	}
	p.r.Env = sortedCopy(p.r.Env)
	p.r.envPos = v.pos
}

func (p *parser) stages(top, v *Value) {
	if v == nil {
		p.add(Pos{File: p.d.file, Line: 1, Col: 1}, `missing "stages:"; a recipe needs at least one stage`)
		return
	}
	if !p.isMap(v, "stages") {
		return
	}
	if len(v.keys) == 0 {
		p.add(top.KeyPos("stages"), "stages is empty; a recipe needs at least one stage")
	}
	for i, id := range v.keys {
		if !identRe.MatchString(id) {
			p.add(v.keyPos[i], "stage id %q must start with a letter or '_' and hold only letters, digits, '_' or '-'", id)
			continue
		}
		if s := p.stage(id, v.keyPos[i], v.vals[i]); s != nil {
			p.r.Stages = append(p.r.Stages, s)
		}
	}
}

func (p *parser) outputs(v *Value) {
	if v == nil || v.kind == Null || !p.isMap(v, "outputs") {
		return
	}
	for i, k := range v.keys {
		if !fileNameRe.MatchString(k) {
			p.add(v.keyPos[i], "output name %q must start with a letter, digit or '_' and hold only letters, digits, '.', '_' or '-' (it names a file)", k)
			continue
		}
		if clash := outputClash(k, p.r.Outputs); clash != "" {
			p.add(v.keyPos[i], "%s", clash)
			continue
		}
		p.r.Outputs = append(p.r.Outputs, &OutputDecl{Name: k, Value: v.vals[i], Pos: v.keyPos[i]})
	}
}

// outputClash says why output name k could land on the same file as an
// earlier output, or on outputs.json: a file output is materialized as its
// name plus the file's extension (m holding a model becomes m.onnx), which
// is only known once it has run, so m and m.onnx are refused up front.
func outputClash(k string, earlier []*OutputDecl) string {
	if k == "outputs" || strings.HasPrefix(k, "outputs.") {
		return fmt.Sprintf("output name %q could become outputs.json, which holds the output values; rename it", k)
	}
	for _, o := range earlier {
		a, b := o.Name, k
		if len(b) < len(a) {
			a, b = b, a
		}
		if strings.HasPrefix(b, a+".") {
			return fmt.Sprintf("output %q could land on the same file as output %q at %d:%d (a file output %s becomes %s plus its file's extension); rename one of them", k, o.Name, o.Pos.Line, o.Pos.Col, a, a)
		}
	}
	return ""
}

// SafeName makes s usable as one file name: every byte outside
// [A-Za-z0-9._-] becomes '_'. Matrix labels become output file names and
// work dirs through it, so two labels with the same SafeName are refused.
func SafeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || strings.Trim(b.String(), ".") == "" {
		return strings.Repeat("_", max(b.Len(), 1)) // never "", "." or ".."
	}
	return b.String()
}

// Stage returns the stage called id, or nil.
func (r *Recipe) Stage(id string) *StageDecl {
	for _, s := range r.Stages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// ParamValues returns every param's current value by name.
func (r *Recipe) ParamValues() map[string]cty.Value {
	m := make(map[string]cty.Value, len(r.Params))
	for _, p := range r.Params {
		m[p.Name] = p.Value
	}
	return m
}
