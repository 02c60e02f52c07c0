package plugins

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/log"
)

func TestLineWriter(t *testing.T) {
	logs := &syncBuffer{}
	r := newRing()
	w := &lineWriter{ring: r, log: log.NewWithOptions(logs, log.Options{Level: log.DebugLevel}), level: log.InfoLevel, stream: "stderr"}
	for _, chunk := range []string{
		`{"@level":"debug","@message":"plugin address","@timestamp":"x","network":"unix"}` + "\n",
		"par", "tial\r\n\n",
		`{"@level":"error","@message":"boom","@timestamp":"x","b":2,"a":"one"}` + "\n",
		"no newline at the end",
	} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	want := []string{"partial", "[error] boom a=one b=2", "no newline at the end"}
	if got := r.tail(); !slices.Equal(got, want) {
		t.Errorf("ring = %q, want %q", got, want)
	}
	for _, line := range []string{
		"DEBU plugin address network=unix stream=stderr",
		"INFO partial stream=stderr",
		"ERRO boom a=one b=2 stream=stderr",
	} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}

func TestRingKeepsTheLastLines(t *testing.T) {
	r := newRing()
	for i := range tailLines + 5 {
		r.add(fmt.Sprint(i))
	}
	got := r.tail()
	if len(got) != tailLines || got[0] != "5" || got[len(got)-1] != fmt.Sprint(tailLines+4) {
		t.Errorf("tail = %q", got)
	}
}
