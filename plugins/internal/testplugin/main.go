package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/sentinelzer0/szrun/plugins/internal/wire"
	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/stages"
)

func main() {
	mode := strings.TrimPrefix(filepath.Base(os.Args[0]), pb.BinaryPrefix)
	switch mode {
	case "stdout":
		fmt.Println("hello from a careless plugin")
		sdk.Serve(&stage{name: mode})
	case "early":
		fmt.Fprintln(os.Stderr, "early: cannot find libnvinfer.so.10")
		os.Exit(4)
	case "sleepy":
		time.Sleep(time.Hour)
	case "garbage", "badspec":
		serveRaw(mode)
	case "good":
		sdk.ServeWith(sdk.ServeOpts{Version: "1.2.3", Stages: []stages.Stage{&stage{name: "good"}, &stage{name: "echo"}}})
	default:
		sdk.Serve(&stage{name: mode})
	}
}

type stage struct {
	stages.Typed[params]
	name string
}

// params are the test stages' parameters; Check gives the Validate RPC a
// rule across fields to report.
type params struct {
	Text  string        `name:"text" required:"true" doc:"what to write"`
	Count int64         `name:"count" default:"2" doc:"how many times"`
	Wait  time.Duration `name:"wait" default:"90s" doc:"a duration"`
	Ratio float64       `name:"ratio" default:"0.5"`
	Opts  *opts         `name:"opts"`
}

type opts struct {
	Precision string `name:"precision" default:"fp16" enum:"fp16,int8"`
}

func (p *params) Check() error {
	if p.Opts != nil && p.Opts.Precision == "int8" && p.Ratio > 1 {
		return stages.Errorf("ratio", "%g: int8 needs a ratio of at most 1", p.Ratio).Reading("opts.precision")
	}
	return nil
}

func (s *stage) Spec() stages.Spec {
	return stages.Spec{
		Name:    s.name,
		Version: "7",
		Summary: "test stage " + s.name,
		Params:  stages.ParamsOf(params{}),
		Outputs: []stages.OutputSpec{
			{Name: "out", Kind: stages.FileOutput, Doc: "the written file"},
			{Name: "count", Kind: stages.ValueOutput, Type: "number"},
			{Name: "wait", Kind: stages.ValueOutput, Type: "string"},
			{Name: "types", Kind: stages.ValueOutput, Type: "map"},
		},
	}
}

func (s *stage) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	var p params
	if err := in.Decode(&p); err != nil {
		return nil, err
	}
	in.Log.Info("starting", "stage", s.name, "instance", in.Instance)
	in.Log.Debug("a debug line")
	fmt.Fprintln(os.Stderr, s.name+": a line on stderr")
	in.Report(1, 2, "warming up")
	switch s.name {
	case "exit":
		fmt.Fprintln(os.Stderr, "exit: giving up with status 3")
		os.Exit(3)
	case "panic":
		go func() { panic("boom in a worker goroutine") }()
		select {}
	case "hang":
		return nil, hang(in.WorkDir)
	case "fail":
		return nil, errors.New("calibration data is missing")
	case "missing":
		return &stages.Output{Files: map[string]string{"out": "nope.onnx"}}, nil
	case "env":
		// out.txt holds the plugin process's environment, one NAME=value a line.
		if err := os.WriteFile(filepath.Join(in.WorkDir, "out.txt"), []byte(strings.Join(os.Environ(), "\n")), 0o644); err != nil {
			return nil, err
		}
		return &stages.Output{Files: map[string]string{"out": "out.txt"}}, nil
	case "symlink":
		// out.txt inside the work dir, pointing at the file named by text.
		if err := os.Symlink(p.Text, filepath.Join(in.WorkDir, "out.txt")); err != nil {
			return nil, err
		}
		return &stages.Output{Files: map[string]string{"out": "out.txt"}}, nil
	}
	text := strings.Repeat(p.Text, int(p.Count))
	if err := os.WriteFile(filepath.Join(in.WorkDir, "out.txt"), []byte(text), 0o644); err != nil {
		return nil, err
	}
	in.Report(2, 2, "done")
	in.Log.Warn("finished", "bytes", len(text))
	// types reports the Go types the stage saw, so the test can check that
	// they survived the wire.
	types := map[string]any{}
	for k, v := range in.Params {
		types[k] = fmt.Sprintf("%T", v)
	}
	return &stages.Output{
		Files:  map[string]string{"out": "out.txt"},
		Values: map[string]any{"count": p.Count, "wait": p.Wait.String(), "types": types},
	}, nil
}

// hang starts a helper that holds the real stderr open (which blocks
// go-plugin's Kill until the whole process group dies), records its pid, and
// then waits forever, ignoring cancellation.
func hang(workDir string) error {
	helper := exec.Command("sleep", "300")
	helper.Stderr = os.NewFile(2, "stderr")
	if err := helper.Start(); err != nil {
		return err
	}
	pidFile := filepath.Join(workDir, "helper.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(helper.Process.Pid)), 0o644); err != nil {
		return err
	}
	select {}
}

// serveRaw serves the protocol without the SDK, to break it.
func serveRaw(mode string) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         wire.PluginSet(&raw{mode: mode}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

type raw struct {
	pb.UnimplementedStageServer
	mode string
}

func (r *raw) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	spec, err := wire.SpecToProto((&stage{name: r.mode}).Spec())
	if err != nil {
		return nil, err
	}
	if r.mode == "badspec" {
		spec.Params[0].Type = "tensor"
	}
	return &pb.DescribeResponse{Name: r.mode, Version: "0", Stages: []*pb.StageSpec{spec}}, nil
}

func (r *raw) Run(_ *pb.RunRequest, stream pb.Stage_RunServer) error {
	_ = stream.Send(&pb.RunEvent{Event: &pb.RunEvent_Log{Log: &pb.Log{Message: "about to send garbage"}}})
	return stream.Send(&pb.RunEvent{Event: &pb.RunEvent_Result{Result: &pb.Result{ValuesJson: "{not json"}}})
}
