package prune

import (
	"fmt"
	"testing"
)

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"2:4", "1:4", " 3 : 8 ", "4:2", "0:4", "2-4", ":", "2:", "-1:4", "99999999999999999999:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, m, err := ParsePattern(s)
		if err != nil {
			return
		}
		if n <= 0 || n >= m {
			t.Fatalf("ParsePattern(%q) = %d, %d: want 0 < n < m", s, n, m)
		}
		n2, m2, err := ParsePattern(fmt.Sprintf("%d:%d", n, m))
		if err != nil || n2 != n || m2 != m {
			t.Fatalf("round trip of %q: %d:%d, %v", s, n2, m2, err)
		}
	})
}

func TestCheckSchedule(t *testing.T) {
	cases := []struct {
		s    []float64
		want string
	}{
		{[]float64{0.1, 0.2, 0.3}, ""},
		{[]float64{0, 0.5}, ""},
		{[]float64{0.3, 0.3}, "schedule [0.3 0.3]: must be increasing, but schedule[1] = 0.3 follows 0.3"},
		{[]float64{0.1, 1}, "schedule [0.1 1]: schedule[1] 1: must be in [0, 1)"},
		{[]float64{-0.1}, "schedule [-0.1]: schedule[0] -0.1: must be in [0, 1)"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.s), func(t *testing.T) {
			err := checkSchedule(c.s)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("checkSchedule(%v) = %q, want %q", c.s, got, c.want)
			}
		})
	}
}
