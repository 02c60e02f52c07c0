package export

import (
	"fmt"
	"strings"

	"github.com/sentinelzer0/szrun/engine"
	"github.com/sentinelzer0/szrun/recipe"
)

type ghWorkflow struct {
	Name string            `yaml:"name"`
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]*ghJob `yaml:"jobs"`
}

type ghJob struct {
	Name      string       `yaml:"name,omitempty"`
	Needs     []string     `yaml:"needs,omitempty"`
	RunsOn    string       `yaml:"runs-on"`
	Container *ghContainer `yaml:"container,omitempty"`
	Strategy  *ghStrategy  `yaml:"strategy,omitempty"`
	Steps     []ghStep     `yaml:"steps"`
}

type ghContainer struct {
	Image string `yaml:"image"`
}

type ghStrategy struct {
	FailFast bool           `yaml:"fail-fast"`
	Matrix   map[string]any `yaml:"matrix"`
}

type ghStep struct {
	Name string            `yaml:"name,omitempty"`
	Uses string            `yaml:"uses,omitempty"`
	Run  string            `yaml:"run,omitempty"`
	With map[string]string `yaml:"with,omitempty"`
}

var checkout = ghStep{Uses: "actions/checkout@v4"}

// githubWorkflow is a matrix over shards (or one job per stage following
// needs) and a final job that runs the whole recipe against the remote
// cache (all hits), materializes the outputs and uploads them.
func githubWorkflow(p *engine.Pipeline, o Options) *ghWorkflow {
	name := p.Recipe.Name
	wf := &ghWorkflow{
		Name: "szrun " + name,
		On: map[string]any{
			"push":              map[string]any{"branches": []string{"main"}},
			"pull_request":      map[string]any{},
			"workflow_dispatch": map[string]any{},
		},
		Env:  map[string]string{"SZRUN_REMOTE_CACHE": o.RemoteCache, "SZRUN_REMOTE_CACHE_MODE": "readwrite"},
		Jobs: map[string]*ghJob{},
	}
	for _, e := range credentialEnv(o.RemoteCache) {
		wf.Env[e] = "${{ secrets." + e + " }}"
	}
	job := func(title string, needs []string, run string) *ghJob {
		return &ghJob{Name: title, Needs: needs, RunsOn: "ubuntu-latest", Container: &ghContainer{Image: o.Image},
			Steps: []ghStep{checkout, {Name: title, Run: run}}}
	}
	var last []string
	if o.PerStage {
		ids, _ := stageOrder(p)
		jobIDs := map[string]string{}
		for _, id := range ids {
			jobIDs[id] = ghJobID(id)
		}
		dependents := map[string]bool{}
		for _, id := range ids {
			sd := p.Recipe.Stage(id)
			var needs []string
			for _, d := range sd.Deps {
				needs = append(needs, jobIDs[d])
				dependents[d] = true
			}
			wf.Jobs[jobIDs[id]] = job("stage "+id, needs, szrunCommand(o, "--only", recipe.ShellQuote(id)))
		}
		for _, id := range ids {
			if !dependents[id] {
				last = append(last, jobIDs[id])
			}
		}
	} else {
		shards := make([]int, o.Shards)
		for i := range shards {
			shards[i] = i
		}
		j := job("shard ${{ matrix.shard }} of "+fmt.Sprint(o.Shards), nil,
			szrunCommand(o, "--shard", fmt.Sprintf("${{ matrix.shard }}/%d", o.Shards)))
		j.Strategy = &ghStrategy{FailFast: false, Matrix: map[string]any{"shard": shards}}
		wf.Jobs["shard"] = j
		last = []string{"shard"}
	}
	outputs := job("outputs", last, szrunCommand(o))
	outputs.Steps = append(outputs.Steps, ghStep{Name: "upload outputs", Uses: "actions/upload-artifact@v4",
		With: map[string]string{"name": name, "path": "out/" + name}})
	wf.Jobs["outputs"] = outputs
	return wf
}

// ghJobID makes a stage id a job id: letters, digits, '-' and '_',
// starting with a letter or '_'.
func ghJobID(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
		s = "s_" + s
	}
	if s == "outputs" {
		s = "stage_outputs"
	}
	return s
}
