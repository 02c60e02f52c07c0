package sdk

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	"github.com/sentinelzer0/szrun/stages"
)

// RunLocal runs stage in this process the way szrun would run it in a plugin:
// params (as a recipe gives them: strings for durations, numbers, lists,
// maps) are coerced against the Spec, sent through the protocol's JSON form,
// and decoded again; the Output's values take the same JSON round trip and
// its files must exist inside workDir. It logs to stderr. Use it in a
// plugin's own tests; calling Stage.Run directly also works but skips these
// checks.
func RunLocal(ctx context.Context, stage stages.Stage, params map[string]any, workDir string) (*stages.Output, error) {
	spec := stage.Spec()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	// The Describe round trip catches defaults that do not survive JSON.
	ps, err := wire.SpecToProto(spec)
	if err != nil {
		return nil, err
	}
	if _, err := wire.SpecFromProto(ps); err != nil {
		return nil, fmt.Errorf("stage %s: spec does not survive Describe: %w", spec.Name, err)
	}
	coerced, err := spec.Coerce(params, stages.CoerceOptions{})
	if err != nil {
		return nil, fmt.Errorf("params of stage %s: %w", spec.Name, err)
	}
	js, err := wire.EncodeJSON(coerced)
	if err != nil {
		return nil, fmt.Errorf("encode params of stage %s: %w", spec.Name, err)
	}
	decoded, err := wire.DecodeParams(spec, js)
	if err != nil {
		return nil, err
	}
	in := &stages.Input{
		Instance: spec.Name,
		Params:   decoded,
		WorkDir:  workDir,
		Log:      log.NewWithOptions(logOutput, log.Options{Prefix: spec.Name, Level: log.DebugLevel}),
	}
	out, err := runStage(ctx, stage, in)
	if err != nil {
		return nil, err
	}
	values := map[string]any{}
	if len(out.Values) > 0 {
		vjs, err := wire.EncodeJSON(out.Values)
		if err != nil {
			return nil, fmt.Errorf("stage %s: encode output values as JSON: %w", spec.Name, err)
		}
		if values, err = wire.DecodeObject(vjs); err != nil {
			return nil, fmt.Errorf("stage %s: decode output values: %w", spec.Name, err)
		}
	}
	return wire.CheckOutput(spec, workDir, out.Files, values)
}

// logOutput is where RunLocal logs; a variable so that tests can capture it.
var logOutput io.Writer = os.Stderr
