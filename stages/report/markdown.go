package report

import (
	"fmt"
	"strings"
)

// Markdown renders the page as GitHub-flavoured markdown (no figures).
func (pg *page) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", oneLine(pg.Title))
	for _, p := range pg.Intro {
		b.WriteString(p + "\n\n")
	}
	for _, s := range pg.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		for _, p := range s.Paras {
			b.WriteString(p + "\n\n")
		}
		if t := s.Table; t != nil && len(t.Rows) > 0 {
			b.WriteString(mdRow(t.Header))
			sep := make([]string, len(t.Header))
			for i := range sep {
				sep[i] = "---"
				if i < len(t.Right) && t.Right[i] {
					sep[i] = "--:"
				}
			}
			b.WriteString("|" + strings.Join(sep, "|") + "|\n")
			for _, r := range t.Rows {
				b.WriteString(mdRow(r))
			}
			b.WriteString("\n")
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "> ⚠ %s\n\n", oneLine(n))
		}
	}
	return b.String()
}

func mdRow(cells []string) string {
	esc := make([]string, len(cells))
	for i, c := range cells {
		esc[i] = strings.ReplaceAll(oneLine(c), "|", `\|`)
	}
	return "| " + strings.Join(esc, " | ") + " |\n"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
