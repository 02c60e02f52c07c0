package builtin

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/stages.md")

// TestStagesReferenceIsCurrent keeps docs/stages.md equal to what the
// registered specs say, so the docs never drift from `szrun stages describe`.
func TestStagesReferenceIsCurrent(t *testing.T) {
	got := Reference()
	const path = "../../docs/stages.md"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("docs/stages.md is stale: run go test ./stages/builtin -update")
	}
	for _, name := range Registry().Names() {
		if !strings.Contains(got, "## `"+name+"`") {
			t.Errorf("no section for %s", name)
		}
	}
}
