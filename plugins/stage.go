package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

// pluginStage is one stage of a plugin, as the engine sees it.
type pluginStage struct {
	host   *Host
	plugin *Plugin
	stage  string // the stage's name inside the plugin
	spec   stages.Spec
}

var _ stages.Stage = (*pluginStage)(nil)

func (s *pluginStage) Spec() stages.Spec { return s.spec }

// Run starts a fresh plugin process, streams the stage's events into in and
// returns its checked Output. The process is gone when Run returns.
func (s *pluginStage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	op := "run stage " + s.stage
	fail := func(err error, tail []string) error {
		return &Error{Plugin: s.plugin.Name, Path: s.plugin.Path, Op: op, Err: err, Stderr: tail}
	}
	if err := s.plugin.unchanged(); err != nil {
		return nil, fail(err, nil)
	}
	params, err := wire.EncodeJSON(in.Params)
	if err != nil {
		return nil, fail(fmt.Errorf("encode params as JSON: %w", err), nil)
	}
	logger := in.Log
	if logger == nil {
		logger = log.New(io.Discard)
	}
	logger = logger.With("plugin", s.plugin.Name)

	var env []string // nil: the Host's Options.Env
	if in.Env != nil {
		env = withSzrunVars(in.Env)
	}
	p, client, err := s.host.launch(ctx, s.plugin.Name, s.plugin.Path, launchOpts{
		env: env, dir: in.WorkDir, log: logger, level: log.InfoLevel,
	})
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			pe.Op = op + ": start"
		}
		return nil, err
	}
	callCtx, cancel := context.WithCancel(ctx)
	stream, err := client.Run(callCtx, &pb.RunRequest{
		Stage:      s.stage,
		Instance:   in.Instance,
		ParamsJson: params,
		WorkDir:    in.WorkDir,
		LogLevel:   wire.LevelToProto(logger.GetLevel()),
	})
	var res *pb.Result
	if err == nil {
		res, err = s.consume(stream, in, logger)
	}
	cancel() // ends the stream before the process is stopped
	stopErr := s.host.closeProc(p)
	if err != nil {
		var se *stageError
		switch {
		case ctx.Err() != nil:
			err = ctxError(ctx)
		case errors.As(err, &se), errors.Is(err, ErrProtocol):
		default:
			err = p.callError(ctx, err)
		}
		return nil, fail(err, p.ring.tail())
	}
	if stopErr != nil {
		logger.Warn("plugin did not stop after its run", "err", stopErr)
	}
	out, err := s.output(res, in.WorkDir)
	if err != nil {
		return nil, fail(fmt.Errorf("%w: %w", ErrProtocol, err), p.ring.tail())
	}
	return out, nil
}

// stageError is the stage's own failure, reported by an Error event.
type stageError struct{ msg string }

func (e *stageError) Error() string        { return e.msg }
func (e *stageError) Is(target error) bool { return target == ErrStageFailed }

// consume reads the event stream to its end: logs and progress go to in, and
// exactly one Result or Error must arrive.
func (s *pluginStage) consume(stream pb.Stage_RunClient, in *stages.Input, logger *log.Logger) (*pb.Result, error) {
	var res *pb.Result
	var stageErr error
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if res != nil || stageErr != nil {
			return nil, fmt.Errorf("%w: an event after the Result or Error", ErrProtocol)
		}
		switch e := ev.GetEvent().(type) {
		case *pb.RunEvent_Log:
			kv := make([]any, 0, 2*len(e.Log.GetFields()))
			for _, f := range e.Log.GetFields() {
				kv = append(kv, f.GetKey(), f.GetValue())
			}
			logger.Log(wire.LevelFromProto(e.Log.GetLevel()), e.Log.GetMessage(), kv...)
		case *pb.RunEvent_Progress:
			in.Report(e.Progress.GetDone(), e.Progress.GetTotal(), e.Progress.GetWhat())
		case *pb.RunEvent_Result:
			if e.Result == nil {
				return nil, fmt.Errorf("%w: an empty Result", ErrProtocol)
			}
			res = e.Result
		case *pb.RunEvent_Error:
			stageErr = &stageError{msg: e.Error.GetMessage()}
		default:
			return nil, fmt.Errorf("%w: an event of unknown kind %T", ErrProtocol, e)
		}
	}
	if stageErr != nil {
		return nil, stageErr
	}
	if res == nil {
		return nil, fmt.Errorf("%w: the stream ended without a Result", ErrProtocol)
	}
	return res, nil
}

// output decodes and checks a Result.
func (s *pluginStage) output(res *pb.Result, workDir string) (*stages.Output, error) {
	values, err := wire.DecodeObject(res.GetValuesJson())
	if err != nil {
		return nil, fmt.Errorf("values_json %q is not a JSON object: %w", truncate(res.GetValuesJson(), 80), err)
	}
	return wire.CheckOutput(s.spec, workDir, res.GetFiles(), values)
}

// unchanged fails when the binary is not the one described: its digest is in
// the cache key, so running another binary under it would poison the cache.
func (p *Plugin) unchanged() error {
	info, err := os.Stat(p.Path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChanged, err)
	}
	if info.Size() == p.size && info.ModTime().Equal(p.modTime) {
		return nil
	}
	digest, err := hashFile(p.Path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChanged, err)
	}
	if digest != p.Digest {
		return fmt.Errorf("%w since szrun described it (digest %s, now %s); run szrun again", ErrChanged, p.Digest, digest)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
