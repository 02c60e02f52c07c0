#!/usr/bin/python3
"""Regenerate runtime/testdata fixtures (run with Debian's /usr/bin/python3: onnx, numpy).

backend/<case>/model.onnx + io.npz come from ONNX's backend node tests (Debian package
libonnx-testdata): io.npz holds the inputs under their graph input names and expected
outputs as "expected.<output name>". Copying them here keeps the Go tests independent of
that package.

convbn.onnx is Conv -> BatchNormalization -> Relu with a dynamic batch axis, for Optimize
(ONNX Runtime folds the BatchNormalization into the Conv); external/convbn.onnx is the
same model with its weights in external/convbn.weights. dyn.onnx has input
x: float32 [N, ?, 4] (a dynamic non-batch axis) for RandomInputs' errors. npy/ holds
.npy files of several dtypes for LoadDir. fp16dyn.onnx is a float16 Relu over [N, L]:
its output shape is only known after running. scalar_empty.onnx takes a scalar s and an
empty-able past [1, P, 4] (a KV cache on its first step): y = concat(past, cur) * s.
warns.onnx is a Relu with an unused initializer, on which ONNX Runtime prints a warning.
"""
import os
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = "/usr/share/libonnx-testdata/data/node"
CASES = [
    "test_add",
    "test_add_uint8",
    "test_relu",
    "test_and2d",
    "test_argmax_default_axis_random",
    "test_cast_FLOAT_to_FLOAT16",
    "test_cast_FLOAT16_to_FLOAT",
    "test_conv_with_strides_padding",
]


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def backend():
    for case in CASES:
        src = os.path.join(SRC, case)
        dst = os.path.join(HERE, "backend", case)
        os.makedirs(dst, exist_ok=True)
        shutil.copyfile(os.path.join(src, "model.onnx"), os.path.join(dst, "model.onnx"))
        model = onnx.load(os.path.join(src, "model.onnx"))
        init = {i.name for i in model.graph.initializer}
        ins = [i.name for i in model.graph.input if i.name not in init]
        outs = [o.name for o in model.graph.output]
        ds = os.path.join(src, "test_data_set_0")
        arrays = {}
        for i, name in enumerate(ins):
            arrays[name] = load_pb(os.path.join(ds, "input_%d.pb" % i))
        for i, name in enumerate(outs):
            arrays["expected." + name] = load_pb(os.path.join(ds, "output_%d.pb" % i))
        np.savez(os.path.join(dst, "io.npz"), **arrays)


def convbn():
    rng = np.random.default_rng(7)
    c_in, c_out = 3, 8
    w = rng.standard_normal((c_out, c_in, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(c_out).astype(np.float32) * 0.1
    scale = rng.uniform(0.5, 1.5, c_out).astype(np.float32)
    bias = rng.standard_normal(c_out).astype(np.float32) * 0.1
    mean = rng.standard_normal(c_out).astype(np.float32) * 0.1
    var = rng.uniform(0.5, 1.5, c_out).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "W"), (b, "B"), (scale, "scale"), (bias, "bias"), (mean, "mean"), (var, "var")]]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"]),
        helper.make_node("Relu", ["n"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "convbn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c_in, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", c_out, 8, 8])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "convbn.onnx"))
    # The same model with its weights in a side file, as big models are stored.
    ext = os.path.join(HERE, "external")
    os.makedirs(ext, exist_ok=True)
    onnx.save(model, os.path.join(ext, "convbn.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="convbn.weights", size_threshold=64)


def dyn():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "L", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "dyn.onnx"))


def fp16dyn():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "fp16dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", "L"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["N", "L"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "fp16dyn.onnx"))


def scalar_empty():
    graph = helper.make_graph(
        [helper.make_node("Concat", ["past", "cur"], ["cat"], axis=1),
         helper.make_node("Mul", ["cat", "s"], ["y"])], "scalar_empty",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("past", TensorProto.FLOAT, [1, "P", 4]),
         helper.make_tensor_value_info("cur", TensorProto.FLOAT, [1, 2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "T", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "scalar_empty.onnx"))


def warns():
    # An initializer no node reads: ONNX Runtime warns "Removing initializer
    # 'unused'. It is not used by any node ..." on stderr while loading.
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "warns",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        initializer=[numpy_helper.from_array(np.ones(4, dtype=np.float32), "unused")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "warns.onnx"))


def npy():
    d = os.path.join(HERE, "npy")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "half.npy"), np.arange(6, dtype=np.float16).reshape(2, 3) / 4)
    np.save(os.path.join(d, "mask.npy"), np.array([[True, False], [False, True]]))
    np.save(os.path.join(d, "ids.npy"), np.arange(12, dtype=np.int64).reshape(3, 4))


if __name__ == "__main__":
    npy()
    backend()
    convbn()
    dyn()
    fp16dyn()
    scalar_empty()
    warns()
