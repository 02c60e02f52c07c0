package export

import (
	"fmt"

	"github.com/sentinelzer0/szrun/engine"
)

type argoWF struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   argoMeta   `yaml:"metadata"`
	Spec       argoWFSpec `yaml:"spec"`
}

type argoMeta struct {
	GenerateName string `yaml:"generateName"`
}

type argoWFSpec struct {
	Entrypoint string         `yaml:"entrypoint"`
	Templates  []argoTemplate `yaml:"templates"`
}

type argoTemplate struct {
	Name      string         `yaml:"name"`
	Inputs    *argoInputs    `yaml:"inputs,omitempty"`
	DAG       *argoDAG       `yaml:"dag,omitempty"`
	Container *argoContainer `yaml:"container,omitempty"`
}

type argoInputs struct {
	Parameters []argoParam `yaml:"parameters"`
}

type argoParam struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value,omitempty"`
}

type argoDAG struct {
	Tasks []argoTask `yaml:"tasks"`
}

type argoTask struct {
	Name         string    `yaml:"name"`
	Template     string    `yaml:"template"`
	Dependencies []string  `yaml:"dependencies,omitempty"`
	Arguments    *argoArgs `yaml:"arguments,omitempty"`
}

type argoArgs struct {
	Parameters []argoParam `yaml:"parameters"`
}

type argoContainer struct {
	Image      string   `yaml:"image"`
	WorkingDir string   `yaml:"workingDir"`
	Command    []string `yaml:"command"`
	Args       []string `yaml:"args"`
	Env        []envVar `yaml:"env"`
}

type envVar struct {
	Name      string        `yaml:"name"`
	Value     string        `yaml:"value,omitempty"`
	ValueFrom *envVarSource `yaml:"valueFrom,omitempty"`
}

type envVarSource struct {
	SecretKeyRef secretKeyRef `yaml:"secretKeyRef"`
}

type secretKeyRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

// cacheEnv is the container environment for the remote cache: its URL and
// mode, and credentials from the Secret "szrun-remote-cache".
func cacheEnv(o Options) []envVar {
	env := []envVar{{Name: "SZRUN_REMOTE_CACHE", Value: o.RemoteCache}, {Name: "SZRUN_REMOTE_CACHE_MODE", Value: "readwrite"}}
	for _, e := range credentialEnv(o.RemoteCache) {
		env = append(env, envVar{Name: e, ValueFrom: &envVarSource{SecretKeyRef: secretKeyRef{Name: "szrun-remote-cache", Key: e}}})
	}
	return env
}

// argoWorkflow is one dag task per stage instance, dependencies from the
// instance graph, each running `szrun run RECIPE --only ID`, then a last
// task that runs the whole recipe (all hits) to materialize its outputs.
func argoWorkflow(p *engine.Pipeline, o Options) (*argoWF, error) {
	names := map[string]string{} // instance id -> task name
	used := map[string]string{}
	for _, in := range p.Instances {
		n := dnsName(in.ID)
		if other, ok := used[n]; ok {
			return nil, fmt.Errorf("export argo: instances %s and %s both become task %q", other, in.ID, n)
		}
		used[n] = in.ID
		names[in.ID] = n
	}
	if other, ok := used["outputs"]; ok {
		return nil, fmt.Errorf("export argo: instance %s becomes task \"outputs\", which the export uses", other)
	}
	var tasks []argoTask
	var leaves []string
	for _, in := range p.Instances {
		t := argoTask{Name: names[in.ID], Template: "szrun-only",
			Arguments: &argoArgs{Parameters: []argoParam{{Name: "only", Value: in.ID}}}}
		for _, d := range p.Graph.Deps(in.ID) {
			t.Dependencies = append(t.Dependencies, names[d])
		}
		if len(p.Graph.Dependents(in.ID)) == 0 {
			leaves = append(leaves, names[in.ID])
		}
		tasks = append(tasks, t)
	}
	tasks = append(tasks, argoTask{Name: "outputs", Template: "szrun-all", Dependencies: leaves})
	container := func(args ...string) *argoContainer {
		return &argoContainer{Image: o.Image, WorkingDir: o.WorkDir, Command: []string{"szrun"},
			Args: append([]string{"run", o.Recipe}, args...), Env: cacheEnv(o)}
	}
	return &argoWF{
		APIVersion: "argoproj.io/v1alpha1",
		Kind:       "Workflow",
		Metadata:   argoMeta{GenerateName: generateName(p.Recipe.Name)},
		Spec: argoWFSpec{
			Entrypoint: "pipeline",
			Templates: []argoTemplate{
				{Name: "pipeline", DAG: &argoDAG{Tasks: tasks}},
				{Name: "szrun-only", Inputs: &argoInputs{Parameters: []argoParam{{Name: "only"}}},
					Container: container("--only", "{{inputs.parameters.only}}")},
				{Name: "szrun-all", Container: container()},
			},
		},
	}, nil
}

// generateName is a Workflow's name prefix: Argo appends 5 characters and
// the result must be a DNS-1123 label of at most 63.
func generateName(recipeName string) string {
	n := dnsName("szrun-" + recipeName)
	if len(n) > 57 {
		n = n[:57]
	}
	return n + "-"
}
