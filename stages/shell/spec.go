package shell

import (
	"time"

	"github.com/sentinelzer0/szrun/stages"
)

// Stage is the `shell` stage. The zero value is not ready; use New.
type Stage struct {
	stages.Typed[Params]
	// killDelay is how long the script's processes get between SIGTERM and
	// SIGKILL; tests shorten it.
	killDelay time.Duration
}

var _ stages.Stage = (*Stage)(nil)

// New returns the shell stage.
func New() *Stage { return &Stage{killDelay: 5 * time.Second} }

// Params are the stage's parameters.
type Params struct {
	Run    string            "name:\"run\" required:\"true\" doc:\"the script, run as a file (script.sh) with `sh -e` in the stage's work dir\""
	Inputs map[string]string `name:"inputs" elem:"path" doc:"NAME -> file or folder; its content goes into the cache key and $NAME holds its absolute path"`
	Env    map[string]any    `name:"env" elem:"any" doc:"extra environment variables; numbers, bools as text, lists and maps as JSON"`
	Files  map[string]string `name:"files" doc:"output name -> path relative to the work dir that the script must create"`
	Values *string           `name:"values" doc:"path relative to the work dir of a JSON object whose keys become value outputs"`
	Shell  string            `name:"shell" default:"/bin/sh" doc:"the interpreter; sh, bash, dash, ksh, zsh and ash get -e, anything else runs as given"`
}

// Check rejects output paths outside the work dir and environment names a
// shell cannot hold, before the script runs.
func (p *Params) Check() error {
	var errs stages.ParamErrors
	for _, name := range sortedKeys(p.Files) {
		if e := checkRelPath("files."+name, p.Files[name]); e != nil {
			errs = append(errs, e)
		}
	}
	if p.Values != nil {
		if e := checkRelPath("values", *p.Values); e != nil {
			errs = append(errs, e)
		}
	}
	const bad = "not a valid environment variable name (use letters, digits and _, not starting with a digit)"
	for _, name := range sortedKeys(p.Inputs) {
		switch _, dup := p.Env[name]; {
		case !validName(name):
			errs = append(errs, stages.Errorf("inputs."+name, bad))
		case dup:
			errs = append(errs, stages.Errorf("inputs."+name, "%s is set by both inputs and env", name).Reading("env."+name))
		}
	}
	for _, name := range sortedKeys(p.Env) {
		if !validName(name) {
			errs = append(errs, stages.Errorf("env."+name, bad))
		}
	}
	return errs.Err()
}

// Spec declares the stage. It has no fixed outputs: `files` and `values`
// name them, hence OpenOutputs.
func (s *Stage) Spec() stages.Spec {
	return stages.Spec{
		Name:        "shell",
		Version:     "1",
		Summary:     "Run a shell script; its files and JSON values become outputs.",
		Doc:         specDoc,
		OpenOutputs: true,
		Params:      stages.ParamsOf(Params{}),
	}
}

const specDoc = "Runs a script in the stage's own, empty work dir, which is also the current\n" +
	"directory. The script is written to `script.sh` there and run with\n" +
	"`/bin/sh -e script.sh`, so the first failing command stops it and error\n" +
	"messages carry line numbers.\n" +
	`
**Inputs.** Every entry of ` + "`inputs`" + ` is a file or folder (relative to the
recipe). Its content is hashed into the cache key, so the stage re-runs when
it changes, and the script finds its absolute path in the environment variable
of the same name. Name inputs like shell variables (` + "`MODEL`, `calib_dir`" + `).

**Environment.** The script does not inherit szrun's environment: it gets
` + "`PATH`, `HOME`, `TMPDIR`, `LANG`" + ` and the variables the recipe's top-level
` + "`env:`" + ` allow-list names, plus ` + "`SZRUN_WORK_DIR`" + ` (its work dir), ` + "`SZRUN_STAGE`" + ` (the
stage instance, such as ` + "`eval[int8-static]`" + `), its inputs and ` + "`env`" + `. Env values are rendered as text:
` + "`3`" + ` not ` + "`3.0`" + `, ` + "`true`" + `, and lists or maps as JSON. The cache key
covers the script, every parameter and the content of each input; a file or
variable the script reads without listing it is not covered and can leave a
cached result stale, so list everything the script reads.

**Interpreter.** ` + "`shell: bash`" + ` (or sh, dash, ksh, zsh, ash) runs with ` + "`-e`" + ` added;
anything else runs exactly as written, followed by the script file:
` + "`shell: bash -eo pipefail`" + `, ` + "`shell: python3`" + `.

**Outputs.** ` + "`files`" + ` maps an output name to a path inside the work dir that the
script must create (a file or a folder); ` + "`values`" + ` names a JSON object file whose
keys become value outputs (numbers, strings, lists, maps). Other stages use them
as ` + "`${{ stages.<id>.outputs.<name> }}`" + `. Paths that leave the work dir are
rejected, and a missing output fails the stage.

**Failure.** A non-zero exit fails the stage with its exit status and the last
20 lines of output; every line is also streamed to the log as it is printed.
On Ctrl-C or ` + "`timeout:`" + ` the script's whole process group gets SIGTERM, then
SIGKILL after 5 seconds. Background processes still running when the script
exits are stopped the same way, and so is the whole group if szrun itself dies
(on Linux, through a parent-death signal), so no process of a script outlives
szrun.

Example: evaluate a quantized model with a Python script and gate on accuracy.

` + "```yaml files=../tools/eval.py" + `
stages:
  eval:
    uses: shell
    with:
      inputs:
        MODEL: ${{ stages.quantize.outputs.model["int8-static"] }}
        DATA: ../examples/data/digits_test.npz
        EVAL: ../tools/eval.py      # scripts you call are inputs too
      env:
        BATCH: 32
        LABELS: [cat, dog]          # $LABELS is ["cat","dog"]
      run: |
        python3 "$EVAL" --model "$MODEL" --data "$DATA" --batch "$BATCH" \
          --predictions preds.csv --metrics metrics.json
      files:
        predictions: preds.csv
      values: metrics.json          # {"accuracy": 0.981, "latency_ms": 4.2}

  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.eval.outputs.accuracy >= 0.97 }}
          message: int8 accuracy dropped below 97%
` + "```" + `
`
