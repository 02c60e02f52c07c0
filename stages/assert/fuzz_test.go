package assert

import (
	"encoding/json"
	"testing"
)

// FuzzParse feeds any JSON list to Parse and Evaluate: errors are fine, panics are not,
// and an accepted list gives one result per check.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`[true]`, `[{"that": false, "message": "m", "values": {"a": [1, {"b": null}]}}]`, `[{"that": 1}]`, `[]`, `[null]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var list []any
		if json.Unmarshal([]byte(s), &list) != nil {
			return
		}
		checks, err := Parse(list)
		if err != nil {
			return
		}
		if got := Evaluate(checks); len(got) != len(list) {
			t.Fatalf("%d results for %d checks", len(got), len(list))
		}
	})
}
