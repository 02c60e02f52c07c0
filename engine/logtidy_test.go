package engine

import "testing"

func TestTidyLogLine(t *testing.T) {
	for in, want := range map[string]string{
		"INFO quantized nodes=1 max_rel_error=0.005573848913472468 accuracy=-1": "INFO quantized nodes=1 max_rel_error=0.005574 accuracy=-1",
		"INFO run finished counts=map[failed:1 succeeded:9]":                    "INFO run finished counts={failed=1 succeeded=9}",
		"INFO load_ms=1234.56789 ratio=0.5 big=123456789.123456":                "INFO load_ms=1235 ratio=0.5 big=1.235e+08",
		"INFO plain message with no values":                                     "INFO plain message with no values",
		"WARN speedup=1.9900902819332635":                                       "WARN speedup=1.99",
	} {
		if got := tidyLogLine(in); got != want {
			t.Errorf("tidyLogLine(%q) = %q, want %q", in, got, want)
		}
	}
}
