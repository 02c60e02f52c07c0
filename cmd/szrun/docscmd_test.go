package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/sentinelzer0/szrun/stages"
	"github.com/sentinelzer0/szrun/stages/builtin"
)

// cliCommand is what `szrun CMD --help` says a command takes.
type cliCommand struct {
	flags map[string]bool // name -> takes a value
	subs  []string        // the words its first argument may be, if the synopsis lists them
}

var synopsisWords = regexp.MustCompile(`^\[?([a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*)\]?$`)

// cliReference reads every command's flags and subcommands from the real
// binary's help, the same text users see.
func cliReference(t *testing.T) map[string]cliCommand {
	t.Helper()
	ref := map[string]cliCommand{}
	for _, c := range commands() {
		r := szrun(t, t.TempDir(), nil, c.name, "--help")
		if r.code != 0 {
			t.Fatalf("szrun %s --help: exit %d", c.name, r.code)
		}
		cmd := cliCommand{flags: map[string]bool{"help": false}}
		lines := strings.Split(r.stdout, "\n")
		synopsis := strings.Fields(strings.TrimPrefix(lines[0], "Usage: szrun "+c.name))
		if len(synopsis) > 0 {
			if m := synopsisWords.FindStringSubmatch(synopsis[0]); m != nil {
				cmd.subs = strings.Split(m[1], "|")
			}
		}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) == 0 || !strings.HasPrefix(l, "  -") {
				continue
			}
			if len(f) > 2 {
				t.Errorf("szrun %s --help: %q: a flag takes one value", c.name, l)
			}
			cmd.flags[strings.TrimLeft(f[0], "-")] = len(f) > 1
		}
		ref[c.name] = cmd
	}
	return ref
}

// TestDocsCommandLines: every `szrun ...` command line in README.md and
// docs/ (shell blocks and inline code) names a command that exists, a
// subcommand its synopsis lists, flags it has, a stage that exists and
// repo files that exist; and every stages.ID.outputs.NAME in the prose is an
// output of that stage's type (YAML examples are checked by
// TestDocsYAMLExamples).
func TestDocsCommandLines(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ref := cliReference(t)
	reg := builtin.Registry()
	ctxSrc, err := os.ReadFile("testdata/docs-context.yaml")
	if err != nil {
		t.Fatal(err)
	}
	span := regexp.MustCompile("`([^`\n]+)`")
	checked := 0
	for _, f := range docFiles(t, root) {
		blocks, prose := readDoc(t, root, f)
		rel, _ := filepath.Rel(root, f)
		var lines []string
		for _, b := range blocks {
			if !slices.Contains([]string{"sh", "console", "bash", "shell"}, b.lang) {
				continue
			}
			for _, l := range strings.Split(strings.ReplaceAll(b.src, "\\\n", " "), "\n") {
				if i := strings.Index(l, " #"); i >= 0 {
					l = l[:i]
				}
				lines = append(lines, strings.TrimPrefix(strings.TrimSpace(l), "$ "))
			}
		}
		for _, m := range span.FindAllStringSubmatch(prose, -1) {
			lines = append(lines, m[1])
		}
		for _, l := range lines {
			for _, args := range szrunCalls(l) {
				checked++
				if err := checkCommandLine(ref, root, args); err != nil {
					t.Errorf("%s: `szrun %s`: %v", rel, strings.Join(args, " "), err)
				}
			}
		}
		for _, e := range checkOutputRefs(ctxSrc, prose, blocks, reg) {
			t.Errorf("%s: %s", rel, e)
		}
	}
	t.Logf("%d szrun command lines checked", checked)
	if checked < 40 {
		t.Errorf("only %d szrun command lines found in the docs", checked)
	}
}

var szrunCall = regexp.MustCompile(`(?:^|[\s(]|bin/)szrun\s+(.*)`)

// szrunCalls finds the szrun invocations in a line and splits their
// arguments as a shell would, up to the end of the command.
func szrunCalls(line string) [][]string {
	m := szrunCall.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	var args []string
	for _, tok := range shellWords(m[1]) {
		if slices.Contains([]string{"|", "||", "&&", ";", ">", "2>", "<", "&"}, tok) || strings.HasPrefix(tok, ">") {
			break
		}
		if strings.HasSuffix(tok, ")") && !strings.Contains(tok, "(") {
			args = append(args, strings.TrimSuffix(tok, ")"))
			break
		}
		args = append(args, tok)
	}
	return [][]string{args}
}

// shellWords splits on spaces outside single and double quotes, dropping the quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case unicode.IsSpace(r):
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// placeholder: an argument the docs leave to the reader (RECIPE, <type>, ...).
func placeholder(s string) bool {
	s = strings.Trim(s, "[].")
	return s == "" || strings.ContainsAny(s, "<>…") || strings.ToUpper(s) == s && strings.ToLower(s) != s
}

var repoFile = regexp.MustCompile(`^(recipes|examples|docs)/[^*]+\.(yaml|onnx|npz|md)$`)

func checkCommandLine(ref map[string]cliCommand, root string, args []string) error {
	if len(args) == 0 {
		return nil
	}
	name := args[0]
	switch {
	case placeholder(name):
		return nil
	case name == "help":
		if len(args) > 1 && !placeholder(args[1]) {
			if _, ok := ref[args[1]]; !ok {
				return fmt.Errorf("no command %q", args[1])
			}
		}
		return nil
	case name == "version" || name == "--version" || name == "--help":
		return nil
	}
	cmd, ok := ref[name]
	if !ok {
		return fmt.Errorf("no command %q (szrun help lists them)", name)
	}
	var positional []string
	for i := 1; i < len(args); i++ {
		a := strings.TrimSuffix(strings.Trim(args[i], "[]"), "...")
		switch {
		case a == "--":
			i = len(args)
		case strings.HasPrefix(a, "--"):
			flag, _, joined := strings.Cut(a[2:], "=")
			takes, ok := cmd.flags[flag]
			if !ok {
				return fmt.Errorf("szrun %s has no flag --%s", name, flag)
			}
			if takes && !joined {
				i++
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flag, _, joined := strings.Cut(a[1:], "=")
			if takes, ok := cmd.flags[flag]; ok {
				if takes && !joined {
					i++
				}
				continue
			}
			if takes, ok := cmd.flags[a[1:2]]; ok && takes {
				continue // -j1, -pname=value
			}
			return fmt.Errorf("szrun %s has no flag -%s", name, flag)
		default:
			positional = append(positional, a)
		}
	}
	if len(cmd.subs) > 0 && len(positional) > 0 && !placeholder(positional[0]) {
		for _, s := range strings.Split(positional[0], "|") {
			if !slices.Contains(cmd.subs, s) {
				return fmt.Errorf("szrun %s takes %s, not %q", name, strings.Join(cmd.subs, ", "), s)
			}
		}
	}
	if name == "stages" && len(positional) == 2 && positional[0] == "describe" && !placeholder(positional[1]) && !strings.HasPrefix(positional[1], "plugin:") {
		if _, ok := builtin.Registry().Lookup(positional[1]); !ok {
			return fmt.Errorf("no stage type %q", positional[1])
		}
	}
	for _, p := range positional {
		if repoFile.MatchString(p) && !strings.Contains(p, "/out/") {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				return fmt.Errorf("no file %s in the repository", p)
			}
		}
	}
	return nil
}

var outputRef = regexp.MustCompile(`stages\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)`)

// checkOutputRefs: stages.ID.outputs.NAME in a document's prose names an
// output of ID's stage type: what the document's YAML examples (or the docs
// context) say ID uses, or ID itself when it is a type. An ID none of them
// knows is an error too: the reader could not tell what it is.
func checkOutputRefs(ctxSrc []byte, prose string, blocks []docBlock, reg *stages.Registry) []string {
	var errs []string
	uses := map[string]string{}
	stageTypes(ctxSrc, uses)
	for _, b := range blocks {
		if b.lang == "yaml" {
			stageTypes([]byte(b.src), uses)
		}
	}
	for _, m := range outputRef.FindAllStringSubmatch(prose, -1) {
		id, out := m[1], m[2]
		typ := uses[id]
		if _, ok := reg.Lookup(id); ok && typ == "" {
			typ = id
		}
		if strings.HasPrefix(typ, "plugin:") {
			continue
		}
		st, ok := reg.Lookup(typ)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: no example in the document says what stage %q is", m[0], id))
			continue
		}
		spec := st.Spec()
		if spec.OpenOutputs || slices.ContainsFunc(spec.Outputs, func(o stages.OutputSpec) bool { return o.Name == out }) {
			continue
		}
		var names []string
		for _, o := range spec.Outputs {
			names = append(names, o.Name)
		}
		errs = append(errs, fmt.Sprintf("%s: a %s stage has no output %q; it has %s", m[0], typ, out, strings.Join(names, ", ")))
	}
	return errs
}

// stageTypes adds the stage ids a YAML example declares, with their types
// (merge keys resolved).
func stageTypes(src []byte, uses map[string]string) {
	var m map[string]any
	if yaml.Unmarshal(src, &m) != nil {
		return
	}
	if s, ok := m["stages"].(map[string]any); ok {
		m = s
	}
	for id, v := range m {
		if st, ok := v.(map[string]any); ok {
			if u, ok := st["uses"].(string); ok {
				uses[id] = u
			}
		}
	}
}

// TestDocsCheckersCatch: the checks above refuse what the docs once said:
// `szrun stages list`, a flag a command lacks, a missing recipe, the
// benchmark output `report` (benchmark writes metrics and table), and an
// excerpt of a recipe that no longer matches the file.
func TestDocsCheckersCatch(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ref := cliReference(t)
	for _, line := range []string{
		"szrun stages list",
		"bin/szrun run recipes/hello.yaml --no-cahce",
		"szrun validate recipes/nope.yaml",
		"szrun stages describe quantise",
		"szrun cache prune",
		"szrun help stage",
		"szrun lint recipe.yaml",
		"szrun run r.yaml -x",
	} {
		calls := szrunCalls(line)
		if len(calls) != 1 || checkCommandLine(ref, root, calls[0]) == nil {
			t.Errorf("%q passes the command check", line)
		}
	}
	for _, line := range []string{
		"szrun stages describe shell",
		"source <(szrun completion bash)",
		"szrun run recipe.yaml -p model=x.onnx -j1 --only quantize[int8-static]",
		"szrun cache gc --keep-runs 3 --dry-run",
		"szrun export recipes/quickstart.yaml --format argo -o wf.yaml",
		"szrun COMMAND --help",
	} {
		if err := checkCommandLine(ref, root, szrunCalls(line)[0]); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
	ctxSrc, err := os.ReadFile("testdata/docs-context.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// An excerpt that drifted from its file is refused.
	b := docBlock{file: "x.md", line: 1, lang: "yaml", marks: map[string]string{"from": "examples/plugins/onnx-check/recipe.yaml"},
		src: "  check:\n    uses: plugin:onnx-check\n    with:\n      model: ${{ stages.optimize.outputs.model }}\n      standard_only: true\n      max_opset: 18\n"}
	if _, err := docExamples(b, ctxSrc, root); err == nil || !strings.Contains(err.Error(), "differs from examples/plugins/onnx-check/recipe.yaml") {
		t.Errorf("a drifted excerpt: %v", err)
	}
	b.src = strings.Replace(b.src, "18", "17", 1)
	if _, err := docExamples(b, ctxSrc, root); err != nil {
		t.Errorf("the excerpt as in the file: %v", err)
	}
	errs := checkOutputRefs(ctxSrc, "outputs:\n  report: `${{ stages.bench.outputs.report }}` and `stages.bench.outputs.table`", nil, builtin.Registry())
	if len(errs) != 1 || !strings.Contains(errs[0], `a benchmark stage has no output "report"`) {
		t.Errorf("output check: %q", errs)
	}
}

// TestCLIReferenceIsComplete: docs/cli.md has a section for every command,
// and each section names every flag of its command and only flags it has,
// so "every command and flag" stays true.
func TestCLIReferenceIsComplete(t *testing.T) {
	ref := cliReference(t)
	data, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			cur = ""
			if m := regexp.MustCompile("^## `szrun ([a-z]+)").FindStringSubmatch(line); m != nil {
				cur = m[1]
			}
		}
		if cur != "" {
			sections[cur] += line + "\n"
		}
	}
	flagSpan := regexp.MustCompile("`(--?[a-z][a-z0-9-]*)[ =`]")
	for name, cmd := range ref {
		text, ok := sections[name]
		if !ok {
			t.Errorf("docs/cli.md has no section ## `szrun %s ...`", name)
			continue
		}
		for flag := range cmd.flags {
			spelled := "--" + flag
			if len(flag) == 1 {
				spelled = "-" + flag
			}
			if flag != "help" && !regexp.MustCompile(`(?:^|[^\w-])`+spelled+`(?:[^\w-]|$)`).MatchString(text) {
				t.Errorf("docs/cli.md, szrun %s: flag %s is not described", name, spelled)
			}
		}
		for _, m := range flagSpan.FindAllStringSubmatch(text, -1) {
			if _, ok := cmd.flags[strings.TrimLeft(m[1], "-")]; !ok {
				t.Errorf("docs/cli.md, szrun %s: %s is not a flag of szrun %s", name, m[1], name)
			}
		}
	}
}

// TestDescribeHidesDocsMarks: `szrun stages describe` prints a stage's
// examples without the marks the docs tests read (```yaml norun="...").
func TestDescribeHidesDocsMarks(t *testing.T) {
	for _, name := range []string{"assert", "benchmark", "shell"} {
		r := szrun(t, t.TempDir(), nil, "stages", "describe", name)
		if r.code != 0 || !strings.Contains(r.stdout, "```yaml\n") || strings.Contains(r.stdout, "norun=") || strings.Contains(r.stdout, "files=") {
			t.Errorf("stages describe %s: exit %d\n%s", name, r.code, r.stdout)
		}
	}
}
