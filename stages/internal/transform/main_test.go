package transform

import (
	"testing"

	"github.com/sentinelzer0/szrun/internal/testenv"
)

// TestMain lets this test binary host the ONNX Runtime workers its sessions run in.
func TestMain(m *testing.M) { testenv.Main(m) }
