package export

import (
	"fmt"

	"github.com/sentinelzer0/szrun/engine"
)

type k8sJob struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   k8sMeta    `yaml:"metadata"`
	Spec       k8sJobSpec `yaml:"spec"`
}

type k8sMeta struct {
	Name string `yaml:"name"`
}

type k8sJobSpec struct {
	CompletionMode string     `yaml:"completionMode"`
	Completions    int        `yaml:"completions"`
	Parallelism    int        `yaml:"parallelism"`
	BackoffLimit   int        `yaml:"backoffLimit"`
	Template       k8sPodTmpl `yaml:"template"`
}

type k8sPodTmpl struct {
	Spec k8sPodSpec `yaml:"spec"`
}

type k8sPodSpec struct {
	RestartPolicy string         `yaml:"restartPolicy"`
	Containers    []k8sContainer `yaml:"containers"`
}

type k8sContainer struct {
	Name       string   `yaml:"name"`
	Image      string   `yaml:"image"`
	WorkingDir string   `yaml:"workingDir"`
	Command    []string `yaml:"command"`
	Args       []string `yaml:"args"`
	Env        []envVar `yaml:"env"`
}

// indexedJob is a Kubernetes Indexed Job of o.Shards pods; pod i runs
// `szrun run RECIPE --shard i/n` with i from JOB_COMPLETION_INDEX. A last
// plain `szrun run` against the remote cache (all hits) materializes the
// outputs wherever they are needed.
func indexedJob(p *engine.Pipeline, o Options) *k8sJob {
	cmd := szrunCommand(o, "--shard", fmt.Sprintf(`"$JOB_COMPLETION_INDEX/%d"`, o.Shards))
	return &k8sJob{
		APIVersion: "batch/v1",
		Kind:       "Job",
		Metadata:   k8sMeta{Name: dnsName("szrun-" + p.Recipe.Name)},
		Spec: k8sJobSpec{
			CompletionMode: "Indexed",
			Completions:    o.Shards,
			Parallelism:    o.Shards,
			BackoffLimit:   o.Shards,
			Template: k8sPodTmpl{Spec: k8sPodSpec{
				RestartPolicy: "Never",
				Containers: []k8sContainer{{
					Name: "szrun", Image: o.Image, WorkingDir: o.WorkDir,
					Command: []string{"/bin/sh", "-c"}, Args: []string{"exec " + cmd}, Env: cacheEnv(o),
				}},
			}},
		},
	}
}
