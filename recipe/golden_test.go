package recipe

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata/")

// loadAndValidate returns every problem with a recipe file as the CLI would
// print it: Parse and Validate errors together (a recipe with structural
// problems is still validated as far as it was read), then Instances errors.
func loadAndValidate(path string) string {
	r, err := Load(path)
	if r != nil {
		err = Merge(err, r.Validate(specs))
	}
	if err == nil {
		_, err = r.Instances()
	}
	if err == nil {
		return "ok\n"
	}
	return err.Error() + "\n"
}

// TestInvalid checks each testdata/invalid/*.yaml against the exact error
// text in its .golden file.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid recipes: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := loadAndValidate(f)
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test ./recipe -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n--- got\n%s--- want\n%s", got, want)
			}
			if got == "ok\n" {
				t.Errorf("%s is valid; an invalid recipe must fail", f)
			}
		})
	}
}

// TestValidFiles checks that every testdata/valid recipe passes.
func TestValidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if got := loadAndValidate(f); got != "ok\n" {
				t.Errorf("%s", got)
			}
		})
	}
}
