package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/export"
	"github.com/sentinelzer0/szrun/internal/testenv"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

func load(t *testing.T) *engine.Pipeline {
	t.Helper()
	p, err := engine.Load(context.Background(), engine.Options{Recipe: "testdata/shard.yaml", Catalog: &engine.StageCatalog{Builtin: builtin.Registry()}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func generate(t *testing.T, p *engine.Pipeline, o export.Options) []byte {
	t.Helper()
	o.Recipe = "recipes/shard.yaml"
	if o.RemoteCache == "" {
		o.RemoteCache = "s3://team-cache?region=eu-west-1"
	}
	var buf bytes.Buffer
	if err := export.Write(&buf, p, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// asJSON decodes generated YAML into what a JSON Schema validator takes.
func asJSON(t *testing.T, y []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		t.Fatalf("generated YAML does not parse: %v\n%s", err, y)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func validate(t *testing.T, schemaFile string, y []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	abs, _ := filepath.Abs(filepath.Join("testdata", "schemas", schemaFile))
	sch, err := c.Compile(abs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(asJSON(t, y)); err != nil {
		t.Errorf("generated file fails %s:\n%v\n--- file\n%s", schemaFile, err, y)
	}
}

func TestArgoWorkflowFollowsTheGraph(t *testing.T) {
	p := load(t)
	y := generate(t, p, export.Options{Format: export.Argo})
	validate(t, "argo-workflow.json", y)
	var wf struct {
		Spec struct {
			Entrypoint string
			Templates  []struct {
				Name string
				DAG  *struct {
					Tasks []struct {
						Name, Template string
						Dependencies   []string
						Arguments      struct {
							Parameters []struct{ Name, Value string }
						}
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(y, &wf); err != nil {
		t.Fatal(err)
	}
	templates := map[string]bool{}
	for _, tm := range wf.Spec.Templates {
		templates[tm.Name] = true
	}
	if !templates[wf.Spec.Entrypoint] {
		t.Fatalf("entrypoint %q is not a template", wf.Spec.Entrypoint)
	}
	dag := wf.Spec.Templates[0].DAG
	only := map[string]string{} // task -> instance
	deps := map[string][]string{}
	for _, task := range dag.Tasks {
		if !templates[task.Template] {
			t.Errorf("task %s uses unknown template %q", task.Name, task.Template)
		}
		for _, a := range task.Arguments.Parameters {
			if a.Name == "only" {
				only[task.Name] = a.Value
			}
		}
		deps[task.Name] = task.Dependencies
	}
	if len(only) != len(p.Instances) {
		t.Fatalf("%d --only tasks for %d instances", len(only), len(p.Instances))
	}
	byInstance := map[string]string{}
	for task, id := range only {
		byInstance[id] = task
	}
	for _, in := range p.Instances {
		task, ok := byInstance[in.ID]
		if !ok {
			t.Errorf("no task runs instance %s", in.ID)
			continue
		}
		var want []string
		for _, d := range p.Graph.Deps(in.ID) {
			want = append(want, byInstance[d])
		}
		if strings.Join(deps[task], ",") != strings.Join(want, ",") {
			t.Errorf("task %s depends on %v, the graph says %v", task, deps[task], want)
		}
	}
	if d := deps["outputs"]; len(d) != 5 { // check[1..4] and combine are the leaves
		t.Errorf("outputs task depends on %v, want the 5 leaves", d)
	}
}

func TestK8sIndexedJobOverShards(t *testing.T) {
	y := generate(t, load(t), export.Options{Format: export.K8sJob, Shards: 6})
	validate(t, "k8s-job.json", y)
	for _, want := range []string{"completionMode: Indexed", "completions: 6", "parallelism: 6", `--shard "$JOB_COMPLETION_INDEX/6"`, "secretKeyRef"} {
		if !bytes.Contains(y, []byte(want)) {
			t.Errorf("job lacks %q:\n%s", want, y)
		}
	}
}

// The schemas are strict enough to catch a misplaced field.
func TestSchemasRejectMistakes(t *testing.T) {
	p := load(t)
	for _, c := range []struct{ schema, from, to string }{
		{"k8s-job.json", "completionMode: Indexed", "completionMode: indexed"},
		{"k8s-job.json", "restartPolicy: Never", "restartPolicy: Always"},
		{"k8s-job.json", "workingDir:", "workdir:"},
		{"argo-workflow.json", "dependencies:", "depends_on:"},
		{"argo-workflow.json", "generateName: szrun-shard-", "generateName: Szrun_Shard"},
	} {
		format := export.K8sJob
		if c.schema == "argo-workflow.json" {
			format = export.Argo
		}
		y := bytes.Replace(generate(t, p, export.Options{Format: format}), []byte(c.from), []byte(c.to), 1)
		c2 := jsonschema.NewCompiler()
		abs, _ := filepath.Abs(filepath.Join("testdata", "schemas", c.schema))
		sch, err := c2.Compile(abs)
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(asJSON(t, y)) == nil {
			t.Errorf("%s accepted %q", c.schema, c.to)
		}
	}
}

// GitHub Actions workflows are checked with GitHub's own parser
// (@actions/workflow-parser, installed by scripts/setup.sh).
func TestGitHubWorkflowsParseWithGitHubsParser(t *testing.T) {
	parser := filepath.Join(testenv.Root(t), "third_party", "workflow-parser")
	if _, err := os.Stat(filepath.Join(parser, "node_modules", "@actions", "workflow-parser", "package.json")); err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("GitHub's workflow parser is not installed (run scripts/setup.sh): %v", err)
		}
		t.Fatalf("GitHub's workflow parser is not installed: %v", err)
	}
	p := load(t)
	dir := t.TempDir()
	files := map[string][]byte{
		"shards.yml":    generate(t, p, export.Options{Format: export.GitHubActions, Shards: 3}),
		"per-stage.yml": generate(t, p, export.Options{Format: export.GitHubActions, PerStage: true}),
		"broken.yml":    []byte("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string) (string, error) {
		out, err := exec.Command("node", "testdata/validate-workflow.mjs", parser, filepath.Join(dir, name)).CombinedOutput()
		return string(out), err
	}
	for _, name := range []string{"shards.yml", "per-stage.yml"} {
		if out, err := check(name); err != nil {
			t.Errorf("%s: GitHub's parser rejects it: %v\n%s\n--- file\n%s", name, err, out, files[name])
		}
	}
	if out, err := check("broken.yml"); err == nil || !strings.Contains(out, "stepz") {
		t.Errorf("the parser check accepts a broken workflow: %v\n%s", err, out)
	}
	for _, want := range []string{"--shard ${{ matrix.shard }}/3", "needs:", "upload-artifact", "secrets.AWS_ACCESS_KEY_ID"} {
		if !bytes.Contains(files["shards.yml"], []byte(want)) {
			t.Errorf("shards.yml lacks %q", want)
		}
	}
	if !bytes.Contains(files["per-stage.yml"], []byte("--only 'combine'")) {
		t.Errorf("per-stage.yml has no job for stage combine:\n%s", files["per-stage.yml"])
	}
}

func TestWriteRejectsBadOptions(t *testing.T) {
	p := load(t)
	var buf bytes.Buffer
	for _, o := range []export.Options{
		{Format: "jenkins", Recipe: "r.yaml"},
		{Format: export.GitHubActions, Recipe: "r.yaml", Shards: 300},
		{Format: export.Argo},
	} {
		if err := export.Write(&buf, p, o); err == nil {
			t.Errorf("Write(%+v) succeeded", o)
		}
	}
}
