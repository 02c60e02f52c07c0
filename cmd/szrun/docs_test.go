package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/sentinelzer0/szrun/engine"
)

// How a YAML example in README.md, docs/*.md or plugins/*/README.md is checked
// (TestDocsYAMLExamples). Its kind comes from its content, or from a mark
// after the language in the fence's info string (```yaml with=quantize):
//
//   - a whole recipe (it has version: and stages:) is checked as written;
//   - a fragment of a recipe (only top-level recipe keys: stages:, params:,
//     outputs:, ...) is merged into testdata/docs-context.yaml, which holds the
//     params and upstream stages examples refer to (bench, quantize, accuracy,
//     pick, ...) on the fixture models; its own keys win and only the context
//     stages it refers to are kept;
//   - stage entries (id: {uses: ...}) are that fragment's stages:;
//   - with=TYPE: a stage's with: map (or a block holding with:) for a stage
//     of type TYPE;
//   - stage-keys: keys of one stage (if:, timeout:, ...) added to an inspect
//     stage; with "alternatives", each line is one example;
//   - values: values a with: map could hold, checked as a shell stage's env.
//
// Each recipe so made is validated by `szrun validate` and against `szrun
// schema`, then run (one fresh cache for all; a recipe with a min_speedup
// param runs with -p min_speedup=0: tests never assert times). Marks that any
// kind takes: norun="why" (it cannot run here, such as a speed gate or a GPU
// stage: the reason is logged and the count of runs must not drop);
// files=a,b (files the user supplies: empty ones are made for validation, and
// it does not run). `# recipes/NAME.yaml` on a block's first line says it
// shows that shipped file: its keys must be the file's. from=PATH says a
// block is an excerpt of that file (stage entries or top-level keys): it must
// equal the file there, and is not checked further (the file's own tests
// validate and run it).

// minDocRecipesRun is how many docs examples run: it fails when one stops running.
const minDocRecipesRun = 28

var recipeKeys = []string{"version", "name", "description", "env", "params", "stages", "outputs"}

// pluginsOnce builds the shipped plugins the recipes and docs use, as make does.
var pluginsOnce = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(filepath.Dir(szrunBin), "plugins")
	for _, name := range []string{"tensorrt", "torch"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "szrun-plugin-"+name), "../../plugins/"+name).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build the %s plugin: %w\n%s", name, err, out)
		}
	}
	return dir, nil
})

func shippedPlugins(t *testing.T) string {
	t.Helper()
	dir, err := pluginsOnce()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// docExample is a YAML block turned into a recipe to check.
type docExample struct {
	block   docBlock
	name    string // of the recipe file
	recipe  []byte
	whole   bool   // the block is a whole recipe, as written
	norun   string // why it is not run
	files   []string
	excerpt bool // a part of a shipped file, compared with it (from=PATH)
}

// TestDocsYAMLExamples: every YAML example in README.md and docs/ is checked
// as szrun reads it (`szrun validate`: stage types, parameters, references,
// expressions, files) and against `szrun schema` with a standard validator;
// those that can run here run. See the top of this file for how blocks are read.
func TestDocsYAMLExamples(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	plugins := shippedPlugins(t)
	sch := schemaOf(t, plugins)
	ctxSrc, err := os.ReadFile("testdata/docs-context.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Examples live in recipes/ of a copy whose examples/ is the repo's.
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(work, "examples")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(work, "recipes"), 0o755); err != nil {
		t.Fatal(err)
	}
	var examples []docExample
	for _, f := range docFiles(t, root) {
		blocks, _ := readDoc(t, root, f)
		for _, b := range blocks {
			if b.lang != "yaml" && b.lang != "yml" {
				continue
			}
			ex, err := docExamples(b, ctxSrc, root)
			if err != nil {
				t.Errorf("%s: %v", b, err)
				continue
			}
			examples = append(examples, ex...)
		}
	}
	if len(examples) < 25 {
		t.Fatalf("only %d YAML examples in the docs", len(examples))
	}
	cache := filepath.Join(work, "cache")
	ran := 0
	for i, ex := range examples {
		if ex.excerpt {
			continue
		}
		ex.name = fmt.Sprintf("docs-%02d.yaml", i+1)
		path := filepath.Join(work, "recipes", ex.name)
		if err := os.WriteFile(path, ex.recipe, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range ex.files {
			p := filepath.Join(work, "recipes", f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		shown := ""
		if !ex.whole {
			shown = "\nchecked as:\n" + string(ex.recipe)
		}
		if r := szrun(t, work, nil, "validate", path, "--plugin-dir", plugins); r.code != 0 {
			t.Errorf("%s: szrun validate: exit %d\n%s%s", ex.block, r.code, strings.ReplaceAll(r.stderr, path, ex.block.file+" example"), shown)
			continue
		}
		if err := sch.Validate(yamlData(t, ex.recipe)); err != nil {
			t.Errorf("%s: not valid against szrun schema: %v%s", ex.block, err, shown)
			continue
		}
		if ex.norun != "" {
			t.Logf("%s: not run: %s", ex.block, ex.norun)
			continue
		}
		args := []string{"run", path, "--cache-dir", cache, "--out", filepath.Join(work, "out", ex.name), "--plugin-dir", plugins}
		if bytes.Contains(ex.recipe, []byte("\n  min_speedup:")) {
			args = append(args, "-p", "min_speedup=0")
		}
		if r := szrun(t, work, nil, args...); r.code != 0 {
			t.Errorf("%s: szrun run: exit %d\n%s%s%s", ex.block, r.code, r.stdout, r.stderr, shown)
			continue
		}
		ran++
	}
	t.Logf("%d YAML examples checked, %d run", len(examples), ran)
	if ran < minDocRecipesRun {
		t.Errorf("%d docs examples ran, want at least %d", ran, minDocRecipesRun)
	}
}

// docExamples turns a YAML block into the recipes that check it.
func docExamples(b docBlock, ctxSrc []byte, root string) ([]docExample, error) {
	if _, ok := b.marks["alternatives"]; ok {
		var out []docExample
		for i, line := range strings.Split(b.src, "\n") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			one := b
			one.src = line + "\n"
			one.line = b.line + 1 + i
			delete(one.marks, "alternatives")
			ex, err := docExamples(one, ctxSrc, root)
			if err != nil {
				return nil, err
			}
			out = append(out, ex...)
		}
		return out, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.src), &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a YAML map; mark what it is (see cmd/szrun/docs_test.go)")
	}
	m := doc.Content[0]
	ex := docExample{block: b, norun: b.marks["norun"]}
	if f := b.marks["files"]; f != "" {
		ex.files = strings.Split(f, ",")
		ex.norun = "it needs files the user supplies: " + f
	}
	if err := sameAsShipped(b, m, root); err != nil {
		return nil, err
	}
	if from := b.marks["from"]; from != "" {
		// An excerpt of a file that its own tests validate and run.
		ex.excerpt = true
		return []docExample{ex}, nil
	}
	var frag *yaml.Node
	switch {
	case b.marks["with"] != "":
		with := m
		if w := mapGet(m, "with"); w != nil && len(m.Content) == 2 {
			with = w
		}
		frag = stagesFragment(mapNode("example", mapNode("uses", strNode(b.marks["with"]), "with", with)))
	case hasMark(b, "stage-keys"):
		stage := mapNode("uses", strNode("inspect"), "with", mapNode("model", strNode("${{ params.model }}")))
		for i := 0; i < len(m.Content); i += 2 {
			mapSet(stage, m.Content[i].Value, m.Content[i+1])
		}
		frag = stagesFragment(mapNode("example", stage))
	case hasMark(b, "values"):
		frag = stagesFragment(mapNode("example", mapNode("uses", strNode("shell"), "with", mapNode("run", strNode("true"), "env", m))))
	case mapGet(m, "version") != nil && mapGet(m, "stages") != nil:
		ex.whole = true
		ex.recipe = []byte(b.src)
		return []docExample{ex}, nil
	case allKeys(m, recipeKeys):
		frag = m
	case stageEntries(m):
		frag = stagesFragment(m)
	default:
		return nil, fmt.Errorf("cannot tell what this YAML block is; mark it (see cmd/szrun/docs_test.go)")
	}
	rec, err := mergeIntoContext(frag, ctxSrc)
	if err != nil {
		return nil, err
	}
	ex.recipe = rec
	return []docExample{ex}, nil
}

func hasMark(b docBlock, k string) bool { _, ok := b.marks[k]; return ok }

// sameAsShipped: a block that says it shows a shipped file (`# recipes/NAME.yaml`
// on its first line, or the mark from=PATH) holds that file's values for each
// of its keys; stage entries are compared with the file's stages.
func sameAsShipped(b docBlock, m *yaml.Node, root string) error {
	first, _, _ := strings.Cut(b.src, "\n")
	path := b.marks["from"]
	if name, ok := strings.CutPrefix(strings.TrimSpace(first), "# recipes/"); ok && strings.HasSuffix(name, ".yaml") {
		path = "recipes/" + name
	}
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		return fmt.Errorf("it shows %s: %w", path, err)
	}
	var shipped map[string]any
	if err := yaml.Unmarshal(data, &shipped); err != nil {
		return err
	}
	var shown map[string]any
	if err := m.Decode(&shown); err != nil {
		return err
	}
	if stageEntries(m) && !allKeys(m, recipeKeys) {
		shipped, _ = shipped["stages"].(map[string]any)
	}
	for k, v := range shown {
		a, _ := json.Marshal(stringKeys(v))
		w, _ := json.Marshal(stringKeys(shipped[k]))
		if !bytes.Equal(a, w) {
			return fmt.Errorf("its %s differs from %s's:\n%s\nwant\n%s", k, path, a, w)
		}
	}
	return nil
}

// stageEntries: every value is a stage (a map with uses:).
func stageEntries(m *yaml.Node) bool {
	for i := 1; i < len(m.Content); i += 2 {
		if m.Content[i].Kind != yaml.MappingNode || mapGet(m.Content[i], "uses") == nil {
			return false
		}
	}
	return len(m.Content) > 0
}

func allKeys(m *yaml.Node, keys []string) bool {
	for i := 0; i < len(m.Content); i += 2 {
		if !slices.Contains(keys, m.Content[i].Value) {
			return false
		}
	}
	return true
}

func stagesFragment(stages *yaml.Node) *yaml.Node { return mapNode("stages", stages) }

var stageRef = regexp.MustCompile(`stages\.([A-Za-z_][A-Za-z0-9_-]*)`)

// mergeIntoContext puts a recipe fragment into the docs context: its params,
// stages and outputs win; env lists are joined; of the context's stages only
// those the fragment needs are kept (hello when it needs none).
func mergeIntoContext(frag *yaml.Node, ctxSrc []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(ctxSrc, &doc); err != nil {
		return nil, err
	}
	ctx := doc.Content[0]
	doc.HeadComment, ctx.HeadComment = "", ""
	if len(ctx.Content) > 0 {
		ctx.Content[0].HeadComment = ""
	}
	ctxStages := mapGet(ctx, "stages")
	own := mapNode()
	for i := 0; i < len(frag.Content); i += 2 {
		k, v := frag.Content[i].Value, frag.Content[i+1]
		switch {
		case k == "stages":
			own = v
		case k == "params" && v.Kind == yaml.MappingNode:
			p := mapGet(ctx, "params")
			for j := 0; j < len(v.Content); j += 2 {
				mapSet(p, v.Content[j].Value, v.Content[j+1])
			}
		case k == "env" && v.Kind == yaml.SequenceNode:
			e := mapGet(ctx, "env")
			for _, n := range v.Content {
				if !slices.ContainsFunc(e.Content, func(x *yaml.Node) bool { return x.Value == n.Value }) {
					e.Content = append(e.Content, n)
				}
			}
		default:
			mapSet(ctx, k, v)
		}
	}
	// The context stages the fragment refers to, and theirs.
	var need []string
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		text, _ := yaml.Marshal(n)
		for _, m := range stageRef.FindAllStringSubmatch(string(text), -1) {
			id := m[1]
			if slices.Contains(need, id) || mapGet(own, id) != nil {
				continue
			}
			if s := mapGet(ctxStages, id); s != nil {
				need = append(need, id)
				visit(s)
			}
		}
	}
	visit(own)
	if o := mapGet(ctx, "outputs"); o != nil {
		visit(o)
	}
	kept := mapNode()
	for i := 0; i < len(ctxStages.Content); i += 2 {
		if id := ctxStages.Content[i].Value; slices.Contains(need, id) && mapGet(own, id) == nil {
			mapSet(kept, id, ctxStages.Content[i+1])
		}
	}
	for i := 0; i < len(own.Content); i += 2 {
		mapSet(kept, own.Content[i].Value, own.Content[i+1])
	}
	if len(kept.Content) == 0 {
		mapSet(kept, "hello", mapGet(ctxStages, "hello"))
	}
	mapSet(ctx, "stages", kept)
	return yaml.Marshal(ctx)
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, strNode(key), v)
}

func mapNode(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i < len(kv); i += 2 {
		m.Content = append(m.Content, strNode(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// schemaOf compiles `szrun schema` (with the shipped plugins' stages) with a
// standard draft 2020-12 validator, as an editor would.
func schemaOf(t *testing.T, plugins string) *jsonschema.Schema {
	t.Helper()
	r := szrun(t, t.TempDir(), nil, "schema", "--plugin-dir", plugins)
	if r.code != 0 {
		t.Fatalf("szrun schema: exit %d: %s", r.code, r.stderr)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(engine.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(engine.SchemaID)
	if err != nil {
		t.Fatalf("szrun schema does not compile as draft 2020-12: %v", err)
	}
	return sch
}

// yamlData reads YAML with a standard parser into the JSON data model (map
// keys as strings, as YAML-to-JSON converters write them).
func yamlData(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(stringKeys(v))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stringKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = stringKeys(e)
		}
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = stringKeys(e)
		}
	}
	return v
}
