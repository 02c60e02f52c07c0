package runtime

import (
	"os"
	"testing"
)

// TestMain lets this test binary host ONNX Runtime workers: NewSession starts the
// running executable again as a worker.
func TestMain(m *testing.M) {
	MaybeServeWorker()
	os.Exit(m.Run())
}
