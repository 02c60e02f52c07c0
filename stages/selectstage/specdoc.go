package selectstage

const specDoc = "Picks, among `models`, the candidate that is best on `objective` while meeting\n" +
	"every constraint, copies its model to the `model` output and explains the\n" +
	"choice: why it won and why each other candidate lost.\n" + `
**Metrics.** The figures come from the upstream stages, in either or both forms:

- ` + "`benchmark`" + `: the benchmark stage's ` + "`metrics`" + ` file gives p50_ms, p90_ms, p95_ms,
  p99_ms, mean_ms, throughput (samples/s), speedup, size_bytes, size_ratio, load_ms
  and rss_bytes at batch size ` + "`batch`" + ` (default: its first), and the baseline's name.
- ` + "`comparison`" + `: the compare stage's ` + "`report`" + ` file gives accuracy, accuracy_drop,
  max_abs_error, max_rel_error, cosine, top1_agreement and passed (1 or 0), aggregated
  as the compare stage's value outputs are.
- ` + "`metrics`" + `: metric -> (candidate -> number), typically value outputs:
  ` + "`p95_ms: ${{ stages.bench.outputs.p95_ms }}`" + `. Any name works, so a shell stage's
  figures can be used too. A map replaces the files' figures for that metric.

` + "`size`" + ` is accepted for size_bytes and ` + "`latency`" + ` for p95_ms. Candidates are named as the
benchmark and compare stages name them (a matrix output is flattened to its labels),
so pass them the same ` + "`models`" + ` map.

**Objective and constraints.** ` + "`objective: {min: p95_ms}`" + ` or ` + "`{max: throughput}`" + `.
` + "`constraints`" + ` maps max_METRIC or min_METRIC to a limit: ` + "`max_accuracy_drop: 0.01`" + `,
` + "`min_speedup: 1.2`" + `, ` + "`max_size_bytes: 5e6`" + `. A metric that is itself named max_*
(max_rel_error, max_abs_error) is an upper bound as written. A candidate without a
figure for a constrained metric breaks the constraint. An objective, constraint or
latency on a metric that no source gives is an error naming the parameter and
listing the metrics there are, before anything is chosen.

**Baseline.** The baseline (` + "`baseline`" + `, default: the benchmark file's) is the
comparison's reference, so where the compare report has no row for it, it scores
accuracy_drop 0, errors 0, cosine 1, top1_agreement 1, passed 1 and the reference
accuracy. No candidate slower than the baseline on the latency metric (` + "`latency`" + `,
default: the objective when it is a latency, else p95_ms, mean_ms or p50_ms) is
selected unless ` + "`allow_slower: true`" + `. Equal is not slower.

**Noise.** With a benchmark file, speed against the baseline is judged by the
benchmark's bootstrap of the medians (its ` + "`p_faster`" + ` and ` + "`p_slower`" + `) at
` + "`confidence`" + ` (default 0.95): a candidate is slower only when at least
(1 + confidence)/2 of the resamples say so (the speedup's 95% interval lies
below 1), and on a speed objective (a ` + "`*_ms`" + ` latency, throughput or speedup) a
candidate is preferred over a qualifying baseline only when its advantage holds
the same way; otherwise it loses with the reason "not significantly faster than
the baseline". Through ` + "`metrics`" + `, the benchmark's ` + "`speedup_low`" + ` and
` + "`speedup_high`" + ` outputs (its 95% interval) serve the same purpose; figures without
either (an older metrics file, hand-given maps) are compared as they are, as is
everything with ` + "`confidence: 0`" + `.

**Choice.** Among the candidates that meet every constraint and are not slower, the
best objective value wins; ties go to lower latency, then smaller size, then better
accuracy, then the name. When none qualifies the stage fails with one line per
candidate and what it broke, unless ` + "`fallback: baseline`" + `, which keeps the baseline.

**Pareto front.** Over latency, size (size_bytes, else size_ratio) and accuracy
(accuracy_drop, else accuracy), where measured: a candidate is on the front when no
other is at least as good on every axis and better on one. ` + "`pareto`" + ` lists the
front fastest first; the report gives every candidate's dominators.

**Reasons.** ` + "`reason`" + ` has one line per candidate, the winner first; ` + "`reasons`" + ` maps
each to its line: ` + "`constraint violated: accuracy_drop 0.031 > max_accuracy_drop 0.01`" + `,
` + "`slower than the baseline fp32: p95_ms 2.5 > 2.1`" + `, ` + "`dominated by int8-static (...)`" + `,
` + "`higher p95_ms than int8-static: 1.5 vs 1.2`" + `.

The ` + "`model`" + ` output is a copy of the selected model file named after the candidate
(external data files beside it are not copied).

Example (a complete recipe is in stages/selectstage/testdata/recipe.yaml):

` + "```yaml" + `
stages:
  bench:
    uses: benchmark
    with:
      models: { fp32: "${{ params.model }}", int8: "${{ stages.quantize.outputs.model }}" }
  accuracy:
    uses: compare
    with:
      reference: ${{ params.model }}
      candidates: { int8: "${{ stages.quantize.outputs.model }}" }
      data: ../examples/data/digits_test.npz
      report_only: true
  pick:
    uses: select
    with:
      models: { fp32: "${{ params.model }}", int8: "${{ stages.quantize.outputs.model }}" }
      benchmark: ${{ stages.bench.outputs.metrics }}
      comparison: ${{ stages.accuracy.outputs.report }}
      objective: { min: p95_ms }
      constraints: { max_accuracy_drop: 0.01 }
      # or, from value outputs instead of files:
      # metrics:
      #   p95_ms: ${{ stages.bench.outputs.p95_ms }}
      #   accuracy_drop: ${{ stages.accuracy.outputs.accuracy_drop }}
      # baseline: ${{ stages.bench.outputs.baseline }}
outputs:
  model: ${{ stages.pick.outputs.model }}
` + "```" + `
`
