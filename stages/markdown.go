package stages

import (
	"fmt"
	"strings"
)

// Markdown renders the spec as a reference section: summary, parameters,
// outputs and doc. docs/stages.md is made of these.
func (s Spec) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## `%s`\n\n%s\n\n", s.Name, s.Summary)
	if len(s.Params) > 0 {
		b.WriteString("| parameter | type | default | description |\n| --- | --- | --- | --- |\n")
		var walk func(prefix string, ps []Param)
		walk = func(prefix string, ps []Param) {
			for _, p := range ps {
				def := ""
				switch {
				case p.Required:
					def = "required"
				case p.Default != nil:
					def = "`" + fmt.Sprint(p.Default) + "`"
				}
				typ := p.TypeString()
				if len(p.Enum) > 0 {
					typ = strings.Join(p.Enum, " \\| ")
				}
				doc := p.Doc
				if len(p.Aliases) > 0 {
					doc += " (renamed from `" + strings.Join(p.Aliases, "`, `") + "`, which still works for one release)"
				}
				fmt.Fprintf(&b, "| `%s%s` | %s | %s | %s |\n", prefix, p.Name, mdCell(typ), def, mdCell(doc))
				if len(p.Fields) > 0 {
					walk(prefix+p.Name+".", p.Fields)
				}
			}
		}
		walk("", s.Params)
		b.WriteString("\n")
	}
	if len(s.Outputs) > 0 || s.OpenOutputs {
		b.WriteString("| output | kind | description |\n| --- | --- | --- |\n")
		for _, o := range s.Outputs {
			kind := string(o.Kind)
			if o.Kind == ValueOutput && o.Type != "" {
				kind += " (" + o.Type + ")"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", o.Name, kind, mdCell(o.Doc))
		}
		if s.OpenOutputs {
			b.WriteString("| *(declared by the recipe)* | file or value | see below |\n")
		}
		b.WriteString("\n")
	}
	if s.Environmental {
		b.WriteString("Its cache key includes the machine's fingerprint (CPU, GPU, runtime versions).\n\n")
	}
	switch {
	case s.Exclusive && s.ExclusiveWhen != "":
		fmt.Fprintf(&b, "It runs alone when %s: it times things then, so the scheduler waits for running stages to finish before starting it and starts nothing else while it runs, and its cache key includes the machine's fingerprint.\n\n", s.ExclusiveWhen)
	case s.Exclusive:
		b.WriteString("It runs alone: it times things, so the scheduler waits for running stages to finish before starting it and starts nothing else while it runs.\n\n")
	}
	if s.NoCache {
		b.WriteString("It runs every time (never restored from the cache).\n\n")
	}
	if doc := strings.TrimSpace(s.Doc); doc != "" {
		b.WriteString(demoteHeadings(doc) + "\n\n")
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// demoteHeadings keeps a stage doc's own headings below the section's.
func demoteHeadings(doc string) string {
	lines := strings.Split(doc, "\n")
	inCode := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
		}
		if !inCode && strings.HasPrefix(l, "#") {
			lines[i] = "##" + l
		}
	}
	return strings.Join(lines, "\n")
}
