"""szrun torch-export helper: embedded in szrun-plugin-torch, written into the
stage's work dir and run with the recipe's interpreter as

    python3 export.py SPEC.json

SPEC.json is written by the plugin (see spec.go for the fields). The script
builds the PyTorch model, exports it with torch.onnx.export, runs it on fixed
random inputs and saves the inputs and PyTorch's outputs as .npz files that the
plugin compares with ONNX Runtime. Progress goes to stderr, one line per step,
and the plugin turns each line into a log record. The outcome is written to
spec["result_path"] as JSON: {"ok": true, ...} or {"ok": false, "step": ...,
"message": ..., "traceback": ...}, so the plugin can tell an import failure from
an export failure without parsing stderr.
"""
import json
import os
import sys
import time
import traceback


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class StepError(Exception):
    """A failure with the step it happened in and a message for the user."""

    def __init__(self, step, message, tb=""):
        super().__init__(message)
        self.step, self.message, self.tb = step, message, tb


def step(name, fn, *args):
    try:
        return fn(*args)
    except StepError:
        raise
    except BaseException as e:  # SystemExit from user code counts too
        raise StepError(name, "%s: %s" % (type(e).__name__, e), traceback.format_exc())


def resolve(path):
    """Imports "package.module:attr.attr" and returns the attribute."""
    import importlib

    mod_name, _, attr = path.partition(":")
    obj = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def build_model(spec, torch):
    model = None
    if spec.get("torchscript"):
        log("loading TorchScript %s" % spec["torchscript"])
        model = torch.jit.load(spec["torchscript"], map_location="cpu")
    elif spec.get("model"):
        log("importing %s" % spec["model"])
        factory = step("import", resolve, spec["model"])
        if not callable(factory):
            raise StepError("import", "%s is not callable" % spec["model"])
        model = factory(**(spec.get("kwargs") or {}))
        if not isinstance(model, torch.nn.Module):
            raise StepError("import", "%s returned %s, not a torch.nn.Module" % (spec["model"], type(model).__name__))
    if spec.get("checkpoint"):
        model = step("checkpoint", load_checkpoint, spec, torch, model)
    if model is None:
        raise StepError("import", "no model: set model (a factory), torchscript, or a checkpoint holding a whole module")
    return model.eval()


def load_checkpoint(spec, torch, model):
    path = spec["checkpoint"]
    log("loading checkpoint %s" % path)
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        if model is not None:
            raise StepError("checkpoint", "%s holds a whole module; do not also set model or torchscript" % path)
        return obj
    if model is None:
        raise StepError("checkpoint", "%s holds a %s, not a module: set model to the factory it belongs to" % (path, type(obj).__name__))
    if not isinstance(obj, dict):
        raise StepError("checkpoint", "%s holds a %s, neither a state_dict nor a module" % (path, type(obj).__name__))
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj.get(key), dict):
            log("using the checkpoint's %r entry" % key)
            obj = obj[key]
            break
    if obj and all(k.startswith("module.") for k in obj):  # saved from DataParallel
        obj = {k[len("module."):]: v for k, v in obj.items()}
    res = model.load_state_dict(obj, strict=spec.get("strict", True))
    if res is not None and (res.missing_keys or res.unexpected_keys):
        log("checkpoint: missing keys %s, unexpected keys %s" % (res.missing_keys[:10], res.unexpected_keys[:10]))
    return model


def make_inputs(spec, np, torch):
    rng = np.random.RandomState(spec.get("seed", 0))
    arrays = {}
    for inp in spec["inputs"]:
        shape, dtype = tuple(inp["shape"]), inp["dtype"]
        if dtype in ("float32", "float64", "float16"):
            a = rng.uniform(inp.get("low", -1.0), inp.get("high", 1.0), size=shape).astype(dtype)
        elif dtype == "bool":
            a = rng.randint(0, 2, size=shape).astype(bool)
        else:
            a = rng.randint(int(inp.get("low", 0)), int(inp.get("high", 10)), size=shape).astype(dtype)
        arrays[inp["name"]] = a
    return arrays


def flatten(out, torch):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in flatten(o, torch)]
    if isinstance(out, dict):
        return [t for k in out for t in flatten(out[k], torch)]
    raise StepError("run", "the model returned a %s; only tensors, tuples, lists and dicts of them can be exported" % type(out).__name__)


def timed(model, args, runs, torch):
    with torch.no_grad():
        out = model(*args)  # warm-up, and the reference outputs
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(*args)
            times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return out, (times[len(times) // 2] if times else 0.0)


def serve(run, what):
    """Runs run(spec) on the spec named by argv[1] and writes its outcome to
    spec["result_path"]: the result with ok true, or the failed step, its
    message and traceback (an unexpected exception counts as step what)."""
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        res = run(spec)
        res["ok"] = True
    except StepError as e:
        res = {"ok": False, "step": e.step, "message": e.message, "traceback": e.tb}
    except BaseException as e:
        res = {"ok": False, "step": what, "message": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()}
    with open(spec["result_path"], "w") as f:
        json.dump(res, f)
    sys.exit(0 if res["ok"] else 3)


def setup(spec):
    """Puts python_path first, imports numpy and torch, logs their versions,
    sets the thread count and seeds torch; returns (numpy, torch)."""
    for p in reversed(spec.get("python_path") or []):
        sys.path.insert(0, p)
    np = step("import", __import__, "numpy")
    torch = step("import", __import__, "torch")
    log("torch %s, numpy %s, python %s" % (torch.__version__, np.__version__, sys.version.split()[0]))
    if spec.get("threads", 0) > 0:
        torch.set_num_threads(spec["threads"])
    torch.manual_seed(spec.get("seed", 0))
    return np, torch


def main():
    serve(run, "export")


def run(spec):
    np, torch = setup(spec)
    model = step("import", build_model, spec, torch)
    arrays = make_inputs(spec, np, torch)
    names = [i["name"] for i in spec["inputs"]]
    args = tuple(torch.from_numpy(arrays[n]) for n in names)

    log("running PyTorch on inputs %s" % ", ".join("%s %s %s" % (n, arrays[n].dtype, list(arrays[n].shape)) for n in names))
    out, torch_ms = step("run", timed, model, args, spec.get("runs", 10), torch)
    outs = flatten(out, torch)
    out_names = spec.get("outputs") or (["output"] if len(outs) == 1 else ["output_%d" % i for i in range(len(outs))])
    if len(out_names) != len(outs):
        raise StepError("run", "outputs names %d tensors but the model returned %d" % (len(out_names), len(outs)))
    log("PyTorch: %.3f ms per run (median of %d); outputs %s" % (torch_ms, spec.get("runs", 10), ", ".join(
        "%s %s" % (n, list(t.shape)) for n, t in zip(out_names, outs))))

    log("exporting to ONNX opset %d" % spec["opset"])
    # A list of axes gets names: "batch" for axis 0 (shared by every input
    # and output, as a batch is), NAME_dimK for the others.
    dyn = {k: ({int(a): n for a, n in v.items()} if isinstance(v, dict)
               else {int(a): ("batch" if int(a) == 0 else "%s_dim%d" % (k, int(a))) for a in v})
           for k, v in (spec.get("dynamic_axes") or {}).items()}
    unknown = sorted(set(dyn) - set(names) - set(out_names))
    if unknown:
        raise StepError("export", "dynamic_axes names %s, which is neither an input (%s) nor an output (%s)" % (
            ", ".join(unknown), ", ".join(names), ", ".join(out_names)))

    def export():
        with torch.no_grad():
            torch.onnx.export(model, args, spec["onnx_path"], input_names=names, output_names=out_names,
                              dynamic_axes=dyn or None, opset_version=spec["opset"],
                              do_constant_folding=spec.get("constant_folding", True))

    step("export", export)
    np.savez(spec["inputs_path"], **arrays)
    np.savez(spec["outputs_path"], **{n: t.detach().numpy() for n, t in zip(out_names, outs)})
    log("exported %s (%d bytes)" % (os.path.basename(spec["onnx_path"]), os.path.getsize(spec["onnx_path"])))
    return {"torch_ms": torch_ms, "outputs": out_names, "torch_version": torch.__version__}


if __name__ == "__main__":
    main()
