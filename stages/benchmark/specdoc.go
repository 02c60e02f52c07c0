package benchmark

const specDoc = "Measures every model of `models` at every batch size of `batch_sizes` in\n" +
	"ONNX Runtime and compares each with `baseline`.\n" + `
**How it measures.** Each model is loaded once (its session creation time is
` + "`load_ms`" + `); a model of an opset ONNX Runtime has no kernels for (6 and
older) is timed as the model stages see it, lifted to opset 7 (a warning says
so; its size stays the given file's). For every batch size a ` + "`runtime.Runner`" + ` binds pre-allocated inputs
and outputs, so a timed run is one call into ONNX Runtime with no allocation,
and runs ` + "`warmup`" + ` times untimed. Then models are timed in rotation: each turn
gives every model and batch size ` + "`block`" + ` runs, starting one further along each
turn, so a machine that slows down or speeds up does not favour one model.

**How long.** By default timing is adaptive, like Go's ` + "`-benchtime`" + ` and criterion:
a model and batch size is timed for at least ` + "`iterations`" + ` runs and then until its
median's 95% confidence interval is within ± ` + "`precision`" + ` of the median (2% by
default) or it has run for ` + "`max_duration`" + `; the precision reached is reported
(` + "`precision`" + ` in metrics.json, the ± column of the table) with a warning where
` + "`max_duration`" + ` came first. ` + "`precision: 0`" + ` times exactly ` + "`iterations`" + ` runs;
` + "`duration`" + ` times each for that long.

**Confidence intervals** come from a bootstrap over rotation blocks: the runs of
one block shared the machine's state, so a resample draws whole blocks (with
replacement) and takes its median; 1000 resamples give the interval's 2.5th and
97.5th percentiles. A speedup's interval pairs the baseline's and the model's
resampled medians; metrics.json also gives ` + "`p_faster`" + ` and ` + "`p_slower`" + `, the shares
of resamples in which the model's median is below (above) the baseline's, which
` + "`select`" + ` uses to decide whether a model is significantly faster. The resampling
is seeded by ` + "`seed`" + `, so the same timings give the same intervals. Every run
is timed on its own; what the loop adds to ONNX Runtime's own ` + "`model_run`" + `
time is a few microseconds per run (about 1% of a 1 ms run), measured against
ONNX Runtime's profiler by ` + "`go test -run Overhead -v ./stages/benchmark`" + `.

**Inputs.** ` + "`data`" + ` is a .npz (or folder of .npy) named like the model inputs;
its first rows make a batch (repeated when it has fewer). Data in the stacked
form (axis 0 the sample, each slice one complete feed) is fed one feed per run,
as it is, at every batch size (a warning says so). Without it, random
inputs are drawn from ` + "`seed`" + ` (floats in [-1, 1), integers in [0, 10));
` + "`shapes`" + ` gives the full shape of inputs with dynamic dims that are not
batch-like (` + "`shapes: {input_ids: [1, 128]}`" + `; axis 0 is set by ` + "`batch_sizes`" + `; see
"Data for verification and calibration" above).

**Figures**, per model and batch size: mean, median (with its 95% interval),
p90, p95, p99, min, max and standard deviation of the latency (ms), queries and
samples per second, speedup (baseline median / model median at the same batch
size, with its 95% interval: medians, because a few outliers move a mean); per model: file size (plus
` + "`<file>.data`" + `), size ratio to the baseline, load time, resident memory gained
while loading and warming up (an estimate), and the process's peak RSS. With
` + "`providers: [cuda]`" + ` or ` + "`[tensorrt]`" + ` on a machine with an NVIDIA GPU, each model and
batch size then runs alone for 0.5 s while NVML samples GPU 0's memory and
utilization; elsewhere these read "n/a". On a machine with a GPU, ` + "`go test ./gpu ./stages/benchmark -run NVML -v`" + `
checks these readings against nvidia-smi's while resnet_small runs on the GPU
(it needs the NVIDIA driver and a GPU build of ONNX Runtime in ` + "`SZRUN_ORT_LIB`" + `,
and skips, saying which is missing, elsewhere). The machine: CPU, ONNX Runtime
version, the load average before and after timing and the CPU frequency
governor where readable, with a warning when other programs kept the machine
busy (timing stages run alone in a recipe, but not alone on the machine).

**Names.** ` + "`models`" + ` maps names to models; a value may be a whole matrix output
(a map label -> model), whose entries are named by their label alone, or
"name/label" when two entries would share a name. ` + "`baseline`" + ` defaults to the
only plain (non-map) entry, else the first name in sorted order.

**Outputs.** ` + "`metrics`" + ` (metrics.json, everything) and ` + "`table`" + ` (table.md). Value
maps are keyed by model name and taken at the first batch size
(` + "`p50_ms`, `p90_ms`, `p95_ms`, `p99_ms`, `mean_ms`, `throughput`" + ` in samples/s,
` + "`speedup`, `speedup_low`, `speedup_high`" + `); the
` + "`_by_batch`" + ` maps are keyed "model@batch". ` + "`best_batch_size`" + `, with
` + "`latency_budget_ms`" + `, is per model the batch size of highest throughput whose p95
fits the budget (0 when none does).

Errors, before anything is timed: a ` + "`baseline`" + ` that is not a model, inputs that do
not fit a model, ` + "`iterations: 0`" + `, an unknown provider, or a batch size that a
model's static batch dimension forbids.

Example:

` + "```yaml norun=\"a speed gate: tests never assert times\"" + `
stages:
  bench:
    uses: benchmark
    with:
      models:
        fp32: ${{ params.model }}
        int8: ${{ stages.quantize.outputs.model }}   # int8-dynamic, int8-static
      batch_sizes: [1, 8]
      iterations: 200
      latency_budget_ms: 5

  gate:
    uses: assert
    with:
      checks:
        - that: ${{ stages.bench.outputs.speedup["int8-static"] >= 1.5 }}
          message: static INT8 must be 1.5x faster than fp32
` + "```" + `
`
