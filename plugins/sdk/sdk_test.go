package sdk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/log"
	"google.golang.org/protobuf/proto"

	pb "github.com/sentinelzer0/szrun/plugins/proto"
	"github.com/sentinelzer0/szrun/stages"
)

// sleeper is the kind of stage a plugin author writes; its tests use RunLocal.
type sleeper struct{ missing bool }

func (s *sleeper) Spec() stages.Spec {
	return stages.Spec{
		Name:    "sleeper",
		Version: "1",
		Params: []stages.Param{
			{Name: "for", Type: stages.Duration, Default: time.Second},
			{Name: "name", Type: stages.String, Required: true},
		},
		Outputs: []stages.OutputSpec{
			{Name: "note", Kind: stages.FileOutput},
			{Name: "slept", Kind: stages.ValueOutput, Type: "string"},
			{Name: "n", Kind: stages.ValueOutput, Type: "number"},
		},
	}
}

func (s *sleeper) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	if s.missing {
		return &stages.Output{Files: map[string]string{"note": "gone.txt"}}, nil
	}
	d, ok := in.Params["for"].(time.Duration)
	if !ok {
		return nil, errors.New("for is not a time.Duration")
	}
	in.Log.Info("sleeping", "for", d)
	if err := os.WriteFile(filepath.Join(in.WorkDir, "note.txt"), []byte(in.Params["name"].(string)), 0o644); err != nil {
		return nil, err
	}
	return &stages.Output{
		Files:  map[string]string{"note": "note.txt"},
		Values: map[string]any{"slept": d, "n": 3},
	}, nil
}

func TestRunLocal(t *testing.T) {
	logOutput = &strings.Builder{}
	defer func() { logOutput = os.Stderr }()
	work := t.TempDir()
	out, err := RunLocal(context.Background(), &sleeper{}, map[string]any{"for": "2m", "name": "x"}, work)
	if err != nil {
		t.Fatal(err)
	}
	want := &stages.Output{
		Files: map[string]string{"note": filepath.Join(work, "note.txt")},
		// Values take the wire's JSON form: durations as strings, ints as int64.
		Values: map[string]any{"slept": "2m0s", "n": int64(3)},
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("RunLocal = %#v, want %#v", out, want)
	}
	if got := logOutput.(*strings.Builder).String(); !strings.Contains(got, "sleeping for=2m0s") {
		t.Errorf("log: %q", got)
	}

	if _, err := RunLocal(context.Background(), &sleeper{}, map[string]any{}, work); err == nil ||
		!strings.Contains(err.Error(), "name: required parameter is missing") {
		t.Errorf("missing param: err = %v", err)
	}
	if _, err := RunLocal(context.Background(), &sleeper{missing: true}, map[string]any{"name": "x"}, work); err == nil ||
		!strings.Contains(err.Error(), "gone.txt does not exist") {
		t.Errorf("missing file: err = %v", err)
	}
}

type panicker struct{ sleeper }

func (p *panicker) Run(context.Context, *stages.Input) (*stages.Output, error) { panic("oops") }

func TestRunLocalPanic(t *testing.T) {
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull) // the stack trace is noise here
	defer func() { os.Stderr = stderr }()
	_, err := RunLocal(context.Background(), &panicker{}, map[string]any{"name": "x"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "stage sleeper panicked: oops") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		line string
		want *pb.Log
	}{
		{
			line: `{"time":"x","level":"warn","prefix":"calib","msg":"slow","batch":3,"path":"/a b","ok":true,"m":{"k":1}}`,
			want: &pb.Log{Level: pb.LogLevel_LOG_LEVEL_WARN, Message: "calib: slow", Fields: []*pb.Field{
				{Key: "batch", Value: "3"}, {Key: "path", Value: "/a b"}, {Key: "ok", Value: "true"}, {Key: "m", Value: `{"k":1}`},
			}},
		},
		{line: `{"level":"debug","msg":"x"}`, want: &pb.Log{Level: pb.LogLevel_LOG_LEVEL_DEBUG, Message: "x"}},
		{line: `plain text`, want: &pb.Log{Level: pb.LogLevel_LOG_LEVEL_INFO, Message: "plain text"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got := parseRecord([]byte(tt.line))
			if !proto.Equal(got, tt.want) {
				t.Errorf("parseRecord = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEventLogger checks the real logger end to end: records written by a
// charmbracelet logger become events with the author's field order.
func TestEventLogger(t *testing.T) {
	rec := &recorder{}
	l := newEventLogger(&emitter{stream: rec}, log.InfoLevel)
	l.Debug("hidden")
	l.With("a", 1).Info("shown", "b", "two")
	if len(rec.events) != 1 {
		t.Fatalf("events = %v", rec.events)
	}
	got := rec.events[0].GetLog()
	want := &pb.Log{Level: pb.LogLevel_LOG_LEVEL_INFO, Message: "shown", Fields: []*pb.Field{{Key: "a", Value: "1"}, {Key: "b", Value: "two"}}}
	if !proto.Equal(got, want) {
		t.Errorf("event = %v, want %v", got, want)
	}
}

// recorder is a pb.Stage_RunServer that keeps what is sent.
type recorder struct {
	pb.Stage_RunServer
	events []*pb.RunEvent
}

func (r *recorder) Send(ev *pb.RunEvent) error {
	r.events = append(r.events, ev)
	return nil
}

func TestNewServerRejects(t *testing.T) {
	if _, err := newServer(ServeOpts{Name: "x"}); err == nil {
		t.Error("no stages: want an error")
	}
	if _, err := newServer(ServeOpts{Name: "x", Stages: []stages.Stage{&sleeper{}, &sleeper{}}}); err == nil ||
		!strings.Contains(err.Error(), `two stages named "sleeper"`) {
		t.Errorf("duplicate stages: err = %v", err)
	}
}
