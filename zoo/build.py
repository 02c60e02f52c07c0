#!/usr/bin/python3
"""Build the szrun model zoo corpus (outside git; `make zoo` calls this).

    /usr/bin/python3 zoo/build.py DIR [--subset ci]
    /usr/bin/python3 zoo/build.py DIR --calib-only   (re)write only the
        <name>.calib.npz files of the models in DIR/models.txt, nothing exported

DIR/models/<name>.onnx   every model of the corpus, flat
DIR/models/<name>.npz    its calibration and verification inputs
DIR/models/<name>.calib.npz  calibration inputs drawn like the random inputs
                         szrun's compare stage tests with (floats uniform in
                         [-1, 1]), CALIB_SAMPLES of them, another seed
DIR/models.txt           the names, one a line, smallest model first
DIR/manifest.json        name -> source, kind, bytes, input shapes

Sources:
  torch   zoo/export.py: torchvision and hand-written architectures with
          random weights at opsets 11, 13, 17, batch dynamic (<arch>-op<N>)
  oww     the trained models of the npm package openwakeword-js (pinned
          version, fetched with `npm pack`, never installed) (oww_<name>)
  td      the float models of Debian's libonnx-testdata (td_<dir>), fed
          with the package's own test inputs

The corpus is a cache: exports are redone only when export.py or torch
changes, the npm tarball is fetched once, and .npz files are written when
missing. Inputs are reproducible (seeded).
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

OWW_PACKAGE = "openwakeword-js@0.1.27"
TESTDATA = "/usr/share/libonnx-testdata/data"
TD_SETS = ("pytorch-converted", "pytorch-operator", "simple")

# The CI subset: small models covering a CNN, control flow, an RNN, a
# transformer with hand-written LayerNorm, a trained wake-word model and a
# few ONNX test models. Seconds per stage.
CI_TORCH = ["ifloop", "gru", "transformer_handln", "squeezenet1_1"]
CI_OPSETS = [13]
CI_TD = ["test_Conv2d", "test_BatchNorm2d_eval"]
CI_OWW = ["hello_deepa"]

SAMPLES = 8  # rows of calibration data for inputs with a dynamic batch
# Samples of the <name>.calib.npz sets. Their floats are uniform in [-1, 1],
# as the random inputs szrun draws when a stage is given no data (runtime
# RandomInputs: compare's top-1 agreement in zoo/int8.yaml), from numpy's
# generator seeded with CALIB_SEED and the name: other inputs than those the
# agreement is measured on, from the same distribution.
CALIB_SAMPLES = 32
CALIB_SEED = 0xCA1B


def link(src, dst):
    if os.path.exists(dst):
        return
    tmp = dst + ".tmp"
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def graph_inputs(m):
    inits = {i.name for i in m.graph.initializer}
    return [i for i in m.graph.input if i.name not in inits]


def is_float_model(m):
    ins = graph_inputs(m)
    return bool(ins) and all(v.type.HasField("tensor_type") and v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
                             for v in list(ins) + list(m.graph.output))


def random_inputs(m, seed):
    """One array per graph input: dynamic first axis -> SAMPLES rows, fixed
    dims kept; floats standard normal, integers in [0, 10)."""
    rng = np.random.default_rng(seed)
    out = {}
    for v in graph_inputs(m):
        tt = v.type.tensor_type
        shape = []
        for i, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            elif i == 0:
                shape.append(SAMPLES)
            else:
                raise ValueError("input %s: dynamic dimension %d besides the batch" % (v.name, i))
        dt = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[tt.elem_type]
        if np.issubdtype(dt, np.floating):
            out[v.name] = rng.standard_normal(shape).astype(dt)
        else:
            out[v.name] = rng.integers(0, 10, size=shape).astype(dt)
    return out


def calib_inputs(m, name):
    """CALIB_SAMPLES samples per graph input, drawn like szrun's random inputs:
    floats uniform in [-1, 1], integers in [0, 10). A dynamic first axis holds
    the samples; a model whose inputs are all static gets the stacked form
    (one more leading axis, each slice one complete feed). Raises ValueError
    for a dynamic dimension besides the batch."""
    rng = np.random.default_rng([CALIB_SEED, zlib.crc32(name.encode())])
    ins = graph_inputs(m)
    stacked = all(None not in static_dims(v) for v in ins)
    out = {}
    for v in ins:
        dims = static_dims(v)
        if stacked:
            shape = [CALIB_SAMPLES] + dims
        else:
            shape = []
            for i, d in enumerate(dims):
                if d:
                    shape.append(d)
                elif i == 0:
                    shape.append(CALIB_SAMPLES)
                else:
                    raise ValueError("input %s: dynamic dimension %d besides the batch" % (v.name, i))
        dt = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[v.type.tensor_type.elem_type]
        if np.issubdtype(dt, np.floating):
            out[v.name] = rng.uniform(-1, 1, size=shape).astype(dt)
        else:
            out[v.name] = rng.integers(0, 10, size=shape).astype(dt)
    return out


def write_calib(models, names, force=False):
    """Write <name>.calib.npz for each model (all, with force) that lacks
    one; a model whose inputs cannot be drawn is skipped with a note."""
    n = 0
    for name in names:
        path = os.path.join(models, name + ".calib.npz")
        if os.path.exists(path) and not force:
            continue
        m = onnx.load(os.path.join(models, name + ".onnx"), load_external_data=False)
        try:
            write_npz(path, calib_inputs(m, name), force=True)
            n += 1
        except ValueError as e:
            print("zoo: no calibration set for %s: %s" % (name, e), file=sys.stderr)
    return n


def write_npz(path, arrays, force=False):
    if os.path.exists(path) and not force:
        return
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def add_torch(root, models, manifest, only, opsets):
    import export  # zoo/export.py
    args = [root]
    if only:
        args += ["--only", ",".join(only)]
    if opsets:
        args += ["--opsets", ",".join(map(str, opsets))]
    saved = sys.argv
    sys.argv = ["export.py"] + args
    try:
        export.main()
    finally:
        sys.argv = saved
    with open(os.path.join(root, "torch", "manifest.json")) as f:
        man = json.load(f)["models"]
    for key, rec in sorted(man.items()):
        if only and rec["name"] not in only:
            continue
        if opsets and rec["opset"] not in opsets:
            continue
        if rec.get("error"):
            manifest[key] = {"source": "torch", "kind": rec["kind"], "export_error": rec["error"]}
            continue
        dst = os.path.join(models, key + ".onnx")
        link(os.path.join(root, "torch", key + ".onnx"), dst)
        manifest[key] = {"source": "torch", "kind": rec["kind"]}


def add_oww(root, models, manifest, only):
    cache = os.path.join(root, "npm")
    os.makedirs(cache, exist_ok=True)
    tgz = [f for f in os.listdir(cache) if f.endswith(".tgz")]
    if not tgz:
        subprocess.run(["npm", "pack", OWW_PACKAGE, "--silent"], cwd=cache, check=True, stdout=subprocess.DEVNULL)
        tgz = [f for f in os.listdir(cache) if f.endswith(".tgz")]
    with tarfile.open(os.path.join(cache, tgz[0])) as t:
        for mem in t.getmembers():
            if not (mem.isfile() and mem.name.startswith("package/models/") and mem.name.endswith(".onnx")):
                continue
            base = os.path.basename(mem.name)[:-5]
            if only and base not in only:
                continue
            name = "oww_" + base
            dst = os.path.join(models, name + ".onnx")
            if not os.path.exists(dst):
                with t.extractfile(mem) as src, open(dst + ".tmp", "wb") as out:
                    shutil.copyfileobj(src, out)
                os.replace(dst + ".tmp", dst)
            manifest[name] = {"source": "oww", "kind": "audio"}


def static_dims(v):
    return [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]


def needs_stacking(ins, outs):
    """Whether a model's one test feed must be written as a stacked feed."""
    if any(not static_dims(v) for v in ins):
        return True
    firsts = [static_dims(v)[0] for v in ins]
    if len(set(firsts)) > 1:
        return True
    return any(static_dims(v) and static_dims(v)[0] not in (None, firsts[0]) for v in outs)


def is_stacked(npz, ins):
    """Whether npz already holds the stacked form (one more axis than the inputs)."""
    if not os.path.exists(npz):
        return False
    with np.load(npz) as d:
        return all(v.name in d and d[v.name].ndim == len(static_dims(v)) + 1 for v in ins)


def add_testdata(models, manifest, only):
    for s in TD_SETS:
        d = os.path.join(TESTDATA, s)
        if not os.path.isdir(d):
            continue
        for t in sorted(os.listdir(d)):
            if only and t not in only:
                continue
            path = os.path.join(d, t, "model.onnx")
            if not os.path.exists(path):
                continue
            m = onnx.load(path)
            if not is_float_model(m):
                continue
            name = "td_" + t[len("test_"):] if t.startswith("test_") else "td_" + t
            link(path, os.path.join(models, name + ".onnx"))
            npz = os.path.join(models, name + ".npz")
            feeds = {}
            ins = graph_inputs(m)
            for i, v in enumerate(ins):
                pb = os.path.join(d, t, "test_data_set_0", "input_%d.pb" % i)
                if not os.path.exists(pb):
                    break
                tp = onnx.TensorProto()
                with open(pb, "rb") as f:
                    tp.ParseFromString(f.read())
                feeds[v.name] = numpy_helper.to_array(tp)
            if len(feeds) == len(ins):
                # One complete feed. When its inputs share no batch axis
                # (mm: [2,3] x [3,4]), an input is a scalar, or an output is
                # not batched like the inputs (chunk: [3] -> [2], [1]), it is
                # written in the stacked form: axis 0 the sample, so szrun
                # feeds it whole instead of splitting it into rows.
                stacked = needs_stacking(ins, m.graph.output)
                if stacked:
                    feeds = {k: a[np.newaxis] for k, a in feeds.items()}
                write_npz(npz, feeds, force=stacked and not is_stacked(npz, ins))
            manifest[name] = {"source": "td", "kind": "op"}


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    root = os.path.abspath(args[0])
    subset = None
    models = os.path.join(root, "models")
    if len(args) == 2 and args[1] == "--calib-only":
        with open(os.path.join(root, "models.txt")) as f:
            names = [n.strip() for n in f if n.strip()]
        n = write_calib(models, names, force=True)
        print("zoo: %d calibration sets in %s" % (n, models))
        return
    if len(args) == 3 and args[1] == "--subset" and args[2] == "ci":
        subset = "ci"
    elif len(args) != 1:
        sys.exit(__doc__)
    os.makedirs(models, exist_ok=True)
    manifest = {}
    if subset == "ci":
        add_torch(root, models, manifest, CI_TORCH, CI_OPSETS)
        add_oww(root, models, manifest, CI_OWW)
        add_testdata(models, manifest, CI_TD)
    else:
        add_torch(root, models, manifest, None, None)
        add_oww(root, models, manifest, None)
        add_testdata(models, manifest, None)
    names = []
    for name, rec in sorted(manifest.items()):
        if rec.get("export_error"):
            continue
        path = os.path.join(models, name + ".onnx")
        m = onnx.load(path, load_external_data=False)
        npz = os.path.join(models, name + ".npz")
        if not os.path.exists(npz):
            try:
                write_npz(npz, random_inputs(m, seed=len(name)))
            except ValueError as e:
                rec["data_error"] = str(e)
                continue
        rec["bytes"] = os.path.getsize(path)
        rec["opset"] = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)
        names.append(name)
    names.sort(key=lambda n: (manifest[n]["bytes"], n))
    write_calib(models, names)
    with open(os.path.join(root, "manifest.json.tmp"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.replace(os.path.join(root, "manifest.json.tmp"), os.path.join(root, "manifest.json"))
    with open(os.path.join(root, "models.txt.tmp"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    os.replace(os.path.join(root, "models.txt.tmp"), os.path.join(root, "models.txt"))
    print("zoo: %d models in %s" % (len(names), models))


if __name__ == "__main__":
    main()
