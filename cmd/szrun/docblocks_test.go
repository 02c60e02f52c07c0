package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docBlock is one fenced code block of README.md or docs/*.md.
type docBlock struct {
	file  string            // relative to the repo root
	line  int               // of the opening fence
	lang  string            // the info string's first word
	marks map[string]string // the rest of the info string: key or key=value
	src   string
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// docFiles are the documents whose examples are checked: README.md,
// docs/*.md, the shipped plugins' READMEs and the examples' READMEs.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	for _, pat := range []string{"docs/*.md", "plugins/*/README.md", "examples/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("docs: only %v", files)
	}
	return files
}

// readDoc returns a document's fenced blocks and its text outside them.
func readDoc(t *testing.T, root, path string) (blocks []docBlock, prose string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, path)
	var cur *docBlock
	var body, text strings.Builder
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			if cur == nil {
				lang, marks := infoString(strings.TrimPrefix(line, "```"))
				cur = &docBlock{file: rel, line: i + 1, lang: lang, marks: marks}
				body.Reset()
				continue
			}
			cur.src = body.String()
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		if cur != nil {
			body.WriteString(line + "\n")
		} else {
			text.WriteString(line + "\n")
		}
	}
	if cur != nil {
		t.Fatalf("%s: unclosed code block", cur)
	}
	return blocks, text.String()
}

var infoWord = regexp.MustCompile(`[^\s=]+(=("[^"]*"|\S*))?`)

// infoString splits "yaml with=quantize norun=\"needs a GPU\"" into the
// language and its marks.
func infoString(s string) (string, map[string]string) {
	marks := map[string]string{}
	lang := ""
	for i, w := range infoWord.FindAllString(strings.TrimSpace(s), -1) {
		if i == 0 {
			lang = w
			continue
		}
		k, v, _ := strings.Cut(w, "=")
		marks[k] = strings.Trim(v, `"`)
	}
	return lang, marks
}
