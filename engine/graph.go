package engine

import (
	"fmt"
	"strings"
)

// Graph renders the pipeline's instance graph as "mermaid" or "dot".
func Graph(p *Pipeline, format string) (string, error) {
	var b strings.Builder
	ids := map[string]string{}
	for i, in := range p.Instances {
		ids[in.ID] = fmt.Sprintf("n%d", i)
	}
	switch format {
	case "", "mermaid":
		b.WriteString("flowchart TD\n")
		for _, in := range p.Instances {
			fmt.Fprintf(&b, "  %s[\"%s<br/><i>%s</i>\"]\n", ids[in.ID], mermaidEscape(in.ID), mermaidEscape(in.Stage.Uses))
		}
		for _, in := range p.Instances {
			for _, dep := range p.Graph.Deps(in.ID) {
				fmt.Fprintf(&b, "  %s --> %s\n", ids[dep], ids[in.ID])
			}
		}
	case "dot":
		fmt.Fprintf(&b, "digraph %q {\n  rankdir=TB;\n  node [shape=box, style=rounded];\n", p.Recipe.Name)
		for _, in := range p.Instances {
			fmt.Fprintf(&b, "  %s [label=%q];\n", ids[in.ID], in.ID+"\n("+in.Stage.Uses+")")
		}
		for _, in := range p.Instances {
			for _, dep := range p.Graph.Deps(in.ID) {
				fmt.Fprintf(&b, "  %s -> %s;\n", ids[dep], ids[in.ID])
			}
		}
		b.WriteString("}\n")
	default:
		return "", fmt.Errorf("graph format %q: want mermaid or dot", format)
	}
	return b.String(), nil
}

func mermaidEscape(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "[", "#91;", "]", "#93;").Replace(s)
}
