package recipe

import (
	"os"
	"testing"
)

// BenchmarkLoadValidate measures what every szrun command pays before the
// first stage: parse, validate and expand the full example recipe.
func BenchmarkLoadValidate(b *testing.B) {
	data, err := os.ReadFile("testdata/valid/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Parse("testdata/valid/full.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Validate(specs); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Instances(); err != nil {
			b.Fatal(err)
		}
	}
}
