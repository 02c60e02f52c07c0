package sdk_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sentinelzer0/szrun/plugins/sdk"
	"github.com/sentinelzer0/szrun/stages"
)

// Hello is the stage of docs/plugins.md; its main would be
// `func main() { sdk.Serve(Hello{}) }`.
type Hello struct{ stages.Typed[Params] }

type Params struct {
	Who   string        `name:"who" required:"true" doc:"whom to greet"`
	Times int64         `name:"times" default:"1"`
	Pause time.Duration `name:"pause" default:"10ms"`
}

func (p *Params) Check() error {
	if p.Times < 1 {
		return stages.Errorf("times", "%d: want at least 1", p.Times)
	}
	return nil
}

func (h Hello) Spec() stages.Spec {
	return stages.Spec{
		Name:    "hello",
		Version: "1",
		Summary: "Write a greeting.",
		Params:  h.Params(),
		Outputs: []stages.OutputSpec{
			{Name: "greeting", Kind: stages.FileOutput},
			{Name: "length", Kind: stages.ValueOutput, Type: "number"},
		},
	}
}

func (Hello) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	var p Params
	if err := in.Decode(&p); err != nil {
		return nil, err
	}
	text := strings.Repeat("hello "+p.Who+"\n", int(p.Times))
	in.Log.Info("greeting", "who", p.Who, "times", p.Times)
	for i := range p.Times {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in.Report(i+1, p.Times, "greetings")
		time.Sleep(p.Pause)
	}
	path := filepath.Join(in.WorkDir, "greeting.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return &stages.Output{
		Files:  map[string]string{"greeting": "greeting.txt"},
		Values: map[string]any{"length": len(text)},
	}, nil
}

func ExampleRunLocal() {
	work, _ := os.MkdirTemp("", "hello")
	defer os.RemoveAll(work)
	out, err := sdk.RunLocal(context.Background(), Hello{},
		map[string]any{"who": "world", "times": 2, "pause": "1ms"}, work)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(out.Files["greeting"])
	fmt.Printf("%q %T(%v)\n", b, out.Values["length"], out.Values["length"])
	// Output: "hello world\nhello world\n" int64(24)
}
