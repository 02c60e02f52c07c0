package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	testFunc   = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)\w*)\(`)
	makeTarget = regexp.MustCompile(`(?m)^([a-zA-Z0-9_-]+(?:\s+[a-zA-Z0-9_-]+)*)\s*:`)
	envName    = regexp.MustCompile(`\bSZRUN_[A-Z0-9_]*[A-Z0-9]\b`)
	testName   = regexp.MustCompile(`^(?:Test|Benchmark|Fuzz)[A-Z]\w*$`)
)

// repoFacts are the names the docs may cite: test functions by package
// folder, make targets, and the code and scripts (tests included) that read
// environment variables.
type repoFacts struct {
	tests   map[string][]string // package folder -> Test/Benchmark/Fuzz funcs
	targets []string
	source  string
}

func readRepoFacts(t *testing.T, root string) repoFacts {
	t.Helper()
	f := repoFacts{tests: map[string][]string{}}
	var src strings.Builder
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || slices.Contains([]string{"third_party", "docs", "node_modules", "out"}, d.Name())) {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if !slices.Contains([]string{".go", ".py", ".sh", ""}, ext) && d.Name() != "Makefile" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") {
			dir := filepath.Dir(rel)
			for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
				f.tests[dir] = append(f.tests[dir], m[1])
			}
		}
		if len(b) < 1<<20 {
			src.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range makeTarget.FindAllStringSubmatch(string(mk), -1) {
		f.targets = append(f.targets, strings.Fields(m[1])...)
	}
	f.source = src.String()
	return f
}

// TestDocsNamesExist: what README.md and docs/ tell a reader to run or set
// exists: `go test` command lines name packages and tests or benchmarks that
// exist, cited test names are defined, `make` targets are in the Makefile,
// every SZRUN_* variable is read somewhere in the code or scripts, and JSON
// examples are JSON.
func TestDocsNamesExist(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	facts := readRepoFacts(t, root)
	span := regexp.MustCompile("`([^`\n]+)`")
	checked := 0
	for _, path := range docFiles(t, root) {
		blocks, prose := readDoc(t, root, path)
		rel, _ := filepath.Rel(root, path)
		var lines []string
		for _, b := range blocks {
			if slices.Contains([]string{"sh", "console", "bash", "shell"}, b.lang) {
				lines = append(lines, strings.Split(strings.ReplaceAll(b.src, "\\\n", " "), "\n")...)
			}
			if b.lang == "json" && !json.Valid([]byte(b.src)) {
				t.Errorf("%s: not JSON", b)
			}
		}
		for _, m := range span.FindAllStringSubmatch(prose, -1) {
			lines = append(lines, strings.ReplaceAll(m[1], `\|`, "|"))
		}
		for _, l := range lines {
			if i := strings.Index(l, " #"); i >= 0 {
				l = l[:i]
			}
			for _, err := range facts.check(root, strings.TrimSpace(l)) {
				t.Errorf("%s: `%s`: %v", rel, l, err)
			}
			checked++
		}
		for _, name := range envName.FindAllString(prose+blocksText(blocks), -1) {
			if !strings.Contains(facts.source, name) {
				t.Errorf("%s: %s: nothing in the code or scripts reads it", rel, name)
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d code lines checked", checked)
	}
}

func blocksText(blocks []docBlock) string {
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString(bl.src)
	}
	return b.String()
}

// check returns what a code line cites that does not exist.
func (f repoFacts) check(root, line string) []error {
	var errs []error
	if testName.MatchString(line) && !f.defined(nil, line) {
		errs = append(errs, fmt.Errorf("no test %s in the repository", line))
	}
	words := shellWords(line)
	for i, w := range words {
		if w == "make" && i+1 < len(words) && (i == 0 || words[i-1] == "&&" || words[i-1] == ";") {
			if tgt := words[i+1]; !strings.HasPrefix(tgt, "-") && !strings.Contains(tgt, "=") && !slices.Contains(f.targets, tgt) {
				errs = append(errs, fmt.Errorf("no make target %q", tgt))
			}
		}
		if w != "go" || i+1 >= len(words) || words[i+1] != "test" {
			continue
		}
		var pkgs, patterns []string
		wide := false
		for j := i + 2; j < len(words); j++ {
			a := words[j]
			if slices.Contains([]string{"|", "&&", ";", ">"}, a) {
				break
			}
			if name, val, ok := strings.Cut(a, "="); ok && (name == "-run" || name == "-bench") {
				patterns = append(patterns, val)
				continue
			}
			switch {
			case strings.HasSuffix(a, "..."):
				wide = true // a pattern of packages: look everywhere
			case strings.HasPrefix(a, "./"):
				pkgs = append(pkgs, strings.TrimPrefix(a, "./"))
			case (a == "-run" || a == "-bench") && j+1 < len(words):
				patterns = append(patterns, words[j+1])
				j++
			}
		}
		for _, p := range pkgs {
			if st, err := os.Stat(filepath.Join(root, p)); err != nil || !st.IsDir() {
				errs = append(errs, fmt.Errorf("no package ./%s", p))
			}
		}
		for _, pat := range patterns {
			for _, alt := range strings.Split(pat, "|") {
				alt, _, _ = strings.Cut(alt, "/") // a subtest's path: its top-level test
				if alt == "" || alt == "." || alt == "^$" {
					continue
				}
				re, err := regexp.Compile(alt)
				if err != nil {
					errs = append(errs, fmt.Errorf("-run/-bench %q: %w", pat, err))
					continue
				}
				in := pkgs
				if wide {
					in = nil
				}
				if !f.defined(in, re) {
					errs = append(errs, fmt.Errorf("no test or benchmark matches %q in %v", alt, pkgs))
				}
			}
		}
	}
	return errs
}

// defined: a test function of the packages (any package when none) is the
// name, or matches the pattern.
func (f repoFacts) defined(pkgs []string, name any) bool {
	for dir, funcs := range f.tests {
		if len(pkgs) > 0 && !slices.Contains(pkgs, dir) {
			continue
		}
		for _, fn := range funcs {
			switch n := name.(type) {
			case string:
				if fn == n {
					return true
				}
			case *regexp.Regexp:
				if n.MatchString(fn) {
					return true
				}
			}
		}
	}
	return false
}

// TestDocsNamesCheckCatches: the check refuses a renamed test, a missing
// package, a make target that is not there.
func TestDocsNamesCheckCatches(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	facts := readRepoFacts(t, root)
	for _, line := range []string{
		"TestDocsYAMLExample",
		"go test ./cmd/szrun -run TestDocsYAMLExample$",
		"go test ./stages/nope -run TestX",
		"go test ./engine -run '^$' -bench NoSuchBench",
		"make demos",
	} {
		if errs := facts.check(root, line); len(errs) == 0 {
			t.Errorf("%q passes", line)
		}
	}
	for _, line := range []string{
		"TestDocsYAMLExamples",
		"go test ./cmd/szrun -run 'TestDocs|TestHelpEveryCommand' -v",
		"go test ./... -run TestDocsNamesExist",
		"make demo",
	} {
		if errs := facts.check(root, line); len(errs) != 0 {
			t.Errorf("%q: %v", line, errs)
		}
	}
}
