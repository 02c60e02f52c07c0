package report

const specDoc = "Renders what the benchmark, compare and select stages found as `report.md` and\n" +
	"`report.html`. The HTML page is one file with no scripts and no external\n" +
	"resources: the plots are inline SVG, so it can be attached to a CI run, mailed or\n" +
	"opened offline.\n" + `
**Inputs.** Any of ` + "`benchmark`" + ` (the benchmark stage's ` + "`metrics`" + ` file),
` + "`comparison`" + ` (the compare stage's ` + "`report`" + `) and ` + "`selection`" + ` (the select stage's
` + "`report`" + `); at least one. Each adds a section:

- Selection: the winner and why, the objective and constraints, one row per candidate
  with its verdict and reason, and a plot of the Pareto front (latency against
  accuracy drop, labelled with size).
- Latency, throughput and size: a table per model and batch size, a plot of each
  model's latency (p50 to p95 bar, min to p99 line, mean dot: the benchmark file
  keeps percentiles, not every run), speedup bars over the baseline with their 95%
  intervals, and size bars. Plots show batch size ` + "`batch`" + ` (default: the first
  measured).

**Plots.** A whisker that runs far past the boxes or bars (a p99 ten times the
p95s after one slow run, an interval a noisy machine made wide) is clipped at the
axis, where an arrow and its real value mark it, instead of squashing the rest.
Long model names wrap at their - _ . / (or turn when a piece is still too wide)
instead of being cut or running into each other; the Pareto plot's legend stands
beside the data, never over a point.
- Accuracy and output error: accuracy, drop, errors, cosine and top-1 agreement per
  candidate.

**Pipeline.** A stage cannot see the run it is part of, so the page does not show
this run's stages, cache hits and timings: szrun prints them, writes them to
` + "`.szrun/runs/<id>/run.json`" + ` and, in GitHub Actions, appends them to the step summary.
` + "`run_record`" + ` renders a run.json given as a file, which is always an earlier run
(say ` + "`.szrun/runs/latest-<recipe file>/run.json`" + ` from before this one), and is labelled as such.

**GitHub Actions.** When ` + "`GITHUB_STEP_SUMMARY`" + ` is set (and ` + "`step_summary`" + ` is true),
the markdown is appended to it. The stage is never cached, so that this happens on
every run; rendering takes milliseconds.

Example:

` + "```yaml" + `
stages:
  report:
    uses: report
    with:
      title: Digits CNN, CPU INT8
      benchmark: ${{ stages.bench.outputs.metrics }}
      comparison: ${{ stages.accuracy.outputs.report }}
      selection: ${{ stages.pick.outputs.report }}
outputs:
  report: ${{ stages.report.outputs.html }}
` + "```" + `
`
