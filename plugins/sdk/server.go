package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/charmbracelet/log"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

// server implements the Stage gRPC service over a fixed set of stages.
type server struct {
	pb.UnimplementedStageServer
	describe *pb.DescribeResponse
	stages   map[string]stages.Stage
	specs    map[string]stages.Spec

	// stderr is the process's real stderr. go-plugin points os.Stderr at its
	// asynchronous stdio stream, whose last lines are lost when the process
	// crashes: exactly the lines that explain the crash. The first call
	// points os.Stderr back (go-plugin has finished its setup by then).
	stderr      *os.File
	stderrReset sync.Once
}

var _ pb.StageServer = (*server)(nil)

func newServer(opts ServeOpts) (*server, error) {
	if len(opts.Stages) == 0 {
		return nil, errors.New("no stages to serve")
	}
	s := &server{
		describe: &pb.DescribeResponse{Name: opts.Name, Version: opts.Version},
		stages:   map[string]stages.Stage{},
		specs:    map[string]stages.Spec{},
		stderr:   os.Stderr,
	}
	for _, st := range opts.Stages {
		spec := st.Spec()
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("invalid stage spec: %w", err)
		}
		if _, dup := s.stages[spec.Name]; dup {
			return nil, fmt.Errorf("two stages named %q", spec.Name)
		}
		ps, err := wire.SpecToProto(spec)
		if err != nil {
			return nil, err
		}
		s.stages[spec.Name] = st
		s.specs[spec.Name] = spec
		s.describe.Stages = append(s.describe.Stages, ps)
	}
	return s, nil
}

func (s *server) resetStderr() {
	s.stderrReset.Do(func() { os.Stderr = s.stderr })
}

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	s.resetStderr()
	return s.describe, nil
}

// Validate checks a stage's parameters with the stage's own rules: a stage
// that embeds stages.Typed (or implements stages.ParamChecker otherwise) is
// checked from the same struct its Run decodes. null values are unknown.
func (s *server) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	s.resetStderr()
	st, ok := s.stages[req.GetStage()]
	if !ok {
		return &pb.ValidateResponse{Problems: []*pb.ParamProblem{{Message: fmt.Sprintf("no stage %q in this plugin", req.GetStage())}}}, nil
	}
	m, err := wire.DecodeObject(req.GetParamsJson())
	if err != nil {
		return &pb.ValidateResponse{Problems: []*pb.ParamProblem{{Message: fmt.Sprintf("params_json: %v", err)}}}, nil
	}
	params, err := s.specs[req.GetStage()].Coerce(m, stages.CoerceOptions{Partial: true})
	var problems stages.ParamErrors
	errors.As(err, &problems)
	if c, ok := st.(stages.ParamChecker); ok && err == nil {
		problems = append(problems, c.CheckParams(ctx, params, true)...)
	}
	resp := &pb.ValidateResponse{}
	for _, p := range problems {
		resp.Problems = append(resp.Problems, &pb.ParamProblem{Path: p.Path, Message: p.Msg})
	}
	return resp, nil
}

// Run reports every failure of the stage as an Error event rather than a gRPC
// status, so the host can tell "the stage failed" from "the plugin broke".
func (s *server) Run(req *pb.RunRequest, stream pb.Stage_RunServer) error {
	s.resetStderr()
	ev := &emitter{stream: stream}
	st, ok := s.stages[req.GetStage()]
	if !ok {
		names := make([]string, 0, len(s.stages))
		for n := range s.stages {
			names = append(names, n)
		}
		sort.Strings(names)
		return ev.fail(fmt.Errorf("no stage %q in this plugin (has: %s)", req.GetStage(), strings.Join(names, ", ")))
	}
	spec := s.specs[req.GetStage()]
	params, err := wire.DecodeParams(spec, req.GetParamsJson())
	if err != nil {
		return ev.fail(err)
	}
	level := log.DebugLevel
	if req.GetLogLevel() != pb.LogLevel_LOG_LEVEL_UNSPECIFIED {
		level = wire.LevelFromProto(req.GetLogLevel())
	}
	in := &stages.Input{
		Instance: req.GetInstance(),
		Params:   params,
		WorkDir:  req.GetWorkDir(),
		Log:      newEventLogger(ev, level),
		Progress: ev,
	}
	out, err := runStage(stream.Context(), st, in)
	if err != nil {
		return ev.fail(err)
	}
	res := &pb.Result{Files: out.Files}
	if len(out.Values) > 0 {
		js, err := wire.EncodeJSON(out.Values)
		if err != nil {
			return ev.fail(fmt.Errorf("encode output values as JSON: %w", err))
		}
		res.ValuesJson = js
	}
	return ev.send(&pb.RunEvent{Event: &pb.RunEvent_Result{Result: res}})
}

// runStage runs st, turning a panic into an error so that the host gets the
// message instead of a dropped connection; the stack goes to stderr, whose
// tail the host shows.
func runStage(ctx context.Context, st stages.Stage, in *stages.Input) (out *stages.Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "panic in stage %s: %v\n%s", st.Spec().Name, r, debug.Stack())
			err = fmt.Errorf("stage %s panicked: %v", st.Spec().Name, r)
		}
	}()
	out, err = st.Run(ctx, in)
	if err == nil && out == nil {
		out = &stages.Output{}
	}
	return out, err
}

// emitter serialises events onto the stream: a gRPC stream must not be sent on
// from two goroutines at once, and stages log from worker goroutines.
type emitter struct {
	mu     sync.Mutex
	stream pb.Stage_RunServer
}

func (e *emitter) send(ev *pb.RunEvent) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stream.Send(ev)
}

func (e *emitter) fail(err error) error {
	return e.send(&pb.RunEvent{Event: &pb.RunEvent_Error{Error: &pb.Error{Message: err.Error()}}})
}

// Report implements stages.Progress.
func (e *emitter) Report(done, total int64, what string) {
	_ = e.send(&pb.RunEvent{Event: &pb.RunEvent_Progress{Progress: &pb.Progress{Done: done, Total: total, What: what}}})
}
