package plugins

import (
	"context"
	"io"
	"testing"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/stages"
)

// BenchmarkRun measures one plugin stage run end to end: a fresh process,
// the go-plugin handshake with mTLS, the Run stream and the stop. It is the
// per-instance overhead a plugin stage adds over a built-in one.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	if err := linkOrCopy(testBin, dir+"/szrun-plugin-good"); err != nil {
		b.Fatal(err)
	}
	h := NewHost(Options{Dirs: []string{dir}})
	defer h.Close()
	st, err := h.Lookup(context.Background(), "plugin:good")
	if err != nil {
		b.Fatal(err)
	}
	params, err := st.Spec().Coerce(map[string]any{"text": "x"}, stages.CoerceOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		in := &stages.Input{Params: params, WorkDir: b.TempDir(), Log: log.New(io.Discard)}
		if _, err := st.Run(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
