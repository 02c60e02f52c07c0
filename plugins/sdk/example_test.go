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
type Hello struct{}

func (Hello) Spec() stages.Spec {
	return stages.Spec{
		Name:    "hello",
		Version: "1",
		Summary: "Write a greeting.",
		Params: []stages.Param{
			{Name: "who", Type: stages.String, Required: true, Doc: "whom to greet"},
			{Name: "times", Type: stages.Int, Default: int64(1)},
			{Name: "pause", Type: stages.Duration, Default: 10 * time.Millisecond},
		},
		Outputs: []stages.OutputSpec{
			{Name: "greeting", Kind: stages.FileOutput},
			{Name: "length", Kind: stages.ValueOutput, Type: "number"},
		},
	}
}

func (Hello) Run(ctx context.Context, in *stages.Input) (*stages.Output, error) {
	text := strings.Repeat("hello "+in.String("who")+"\n", int(in.Int("times")))
	in.Log.Info("greeting", "who", in.String("who"), "times", in.Int("times"))
	for i := range in.Int("times") {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in.Report(i+1, in.Int("times"), "greetings")
		time.Sleep(in.Duration("pause"))
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
