package plugins

import (
	"context"
	"fmt"

	"github.com/charmbracelet/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

var _ stages.ParamChecker = (*pluginStage)(nil)

// CheckParams asks the plugin to check a stage's parameters (its Validate
// call) while the recipe is validated, so a plugin stage's mistakes are
// reported with everything else before any stage starts. Unknown values
// (upstream outputs) travel as null. A plugin built before Validate existed
// answers Unimplemented: its parameters are then checked by its Run, and a
// note says so. With partial unset (just before the stage runs) it does
// nothing: the plugin's Run checks the real values itself.
func (s *pluginStage) CheckParams(ctx context.Context, params map[string]any, partial bool) stages.ParamErrors {
	if !partial {
		return nil
	}
	problem := func(err error) stages.ParamErrors {
		return stages.ParamErrors{{Msg: (&Error{Plugin: s.plugin.Name, Path: s.plugin.Path, Op: "validate stage " + s.stage, Err: err}).Error()}}
	}
	if err := s.plugin.unchanged(); err != nil {
		return problem(err)
	}
	js, err := wire.EncodeJSON(params)
	if err != nil {
		return problem(fmt.Errorf("encode params as JSON: %w", err))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.host.opts.DescribeTimeout,
		fmt.Errorf("no answer to Validate within %s", s.host.opts.DescribeTimeout))
	defer cancel()
	p, client, err := s.host.launch(ctx, s.plugin.Name, s.plugin.Path, launchOpts{
		log: s.host.opts.Logger.With("plugin", s.plugin.Name), level: log.DebugLevel,
	})
	if err != nil {
		return stages.ParamErrors{{Msg: err.Error()}}
	}
	resp, callErr := client.Validate(ctx, &pb.ValidateRequest{Stage: s.stage, ParamsJson: js})
	stopErr := s.host.closeProc(p)
	if status.Code(callErr) == codes.Unimplemented {
		s.host.opts.Logger.Info("plugin has no Validate (built before it existed): its parameters are checked when it runs",
			"plugin", s.plugin.Name, "stage", s.stage)
		return nil
	}
	if callErr != nil {
		return problem(p.callError(ctx, callErr))
	}
	if stopErr != nil {
		s.host.opts.Logger.Warn("plugin did not stop after Validate", "plugin", s.plugin.Name, "err", stopErr)
	}
	var out stages.ParamErrors
	for _, pr := range resp.GetProblems() {
		out = append(out, &stages.ParamError{Path: pr.GetPath(), Msg: pr.GetMessage()})
	}
	return out
}
