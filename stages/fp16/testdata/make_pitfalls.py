#!/usr/bin/python3
"""Writes the small models behind the fp16 pitfall tests into pitfalls/.
Each reproduces a known failure of the reference float16 converters
(onnx-transforms.md section 3, peers.md item 9). Run from this folder:
/usr/bin/python3 make_pitfalls.py"""
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

rng = np.random.default_rng(0)

def init(name, a):
    return nh.from_array(np.asarray(a), name)

def save(name, nodes, inputs, outputs, inits, opset=13):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="szrun-pitfalls")
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, "pitfalls/%s.onnx" % name)

f32 = lambda n, s: h.make_tensor_value_info(n, TP.FLOAT, s)

# Resize with constant scales, and with an empty roi/scales plus sizes
# (onnxconverter-common #207 #208 #306, onnxruntime #8327, onnxmltools #361).
save("resize", [
    h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
    h.make_node("Resize", ["c", "", "scales"], ["r1"], mode="linear"),
    h.make_node("Resize", ["c", "roi_empty", "scales_empty", "sizes"], ["r2"], mode="nearest"),
    h.make_node("Relu", ["r1"], ["y1"]),
    h.make_node("Relu", ["r2"], ["y2"]),
], [f32("x", ["N", 3, 8, 8])], [f32("y1", ["N", 4, 16, 16]), f32("y2", ["N", 4, 12, 12])], [
    init("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
    init("scales", np.array([1, 1, 2, 2], np.float32)),
    init("roi_empty", np.zeros((0,), np.float32)),
    init("scales_empty", np.zeros((0,), np.float32)),
    init("sizes", np.array([1, 4, 12, 12], np.int64)),
])

# Concat of a float32 (blocked TopK) and a float16 value (onnxmltools #446).
save("mixed_concat", [
    h.make_node("TopK", ["x", "k"], ["vals", "idx"], axis=1),
    h.make_node("Relu", ["x"], ["rx"]),
    h.make_node("Concat", ["vals", "rx"], ["y"], axis=1),
], [f32("x", ["N", 6])], [f32("y", ["N", 9])], [init("k", np.array([3], np.int64))])

# An initializer read by a float32 node and a float16 node (onnxconverter-common #304);
# the test puts "blocked_add" in node_block_list.
save("shared_init", [
    h.make_node("MatMul", ["x", "w"], ["mm"], name="mm"),
    h.make_node("Add", ["x", "w_row"], ["xa"], name="blocked_add"),
    h.make_node("Mul", ["xa", "w_row"], ["xm"], name="mul"),
    h.make_node("Concat", ["mm", "xm"], ["y"], axis=1),
], [f32("x", ["N", 4])], [f32("y", ["N", 8])], [
    init("w", rng.standard_normal((4, 4)).astype(np.float32)),
    init("w_row", rng.standard_normal((4,)).astype(np.float32)),
])

# Casts in the original: a narrowing pair (a rounding to keep), a widening
# pair (exact, removable) and a no-op Cast (onnxruntime #20346).
save("cascaded_casts", [
    h.make_node("Cast", ["x"], ["x16"], to=TP.FLOAT16),
    h.make_node("Cast", ["x16"], ["x32"], to=TP.FLOAT),
    h.make_node("Relu", ["x32"], ["r"]),
    h.make_node("Cast", ["r"], ["rd"], to=TP.DOUBLE),
    h.make_node("Cast", ["rd"], ["rf"], to=TP.FLOAT),
    h.make_node("Cast", ["rf"], ["rf2"], to=TP.FLOAT),
    h.make_node("Sigmoid", ["rf2"], ["y"]),
], [f32("x", ["N", 5])], [f32("y", ["N", 5])], [])

# Shape maths done in float: Range over a length of 2051 (not a float16
# number) and a Slice/Reshape whose sizes are Floor(Cast(dim) / 2) maths.
save("shape_maths", [
    h.make_node("Shape", ["x"], ["shp"]),
    h.make_node("Gather", ["shp", "one_s"], ["n"], axis=0),
    h.make_node("Cast", ["n"], ["nf"], to=TP.FLOAT),
    h.make_node("Range", ["zero_f", "nf", "one_f"], ["ramp"]),
    h.make_node("Mul", ["ramp", "tiny"], ["ramp_s"]),
    h.make_node("Add", ["x", "ramp_s"], ["xr"]),
    h.make_node("Div", ["nf", "two_f"], ["half"]),
    h.make_node("Floor", ["half"], ["halff"]),
    h.make_node("Sub", ["halff", "zero_f"], ["cols"]),
    h.make_node("Cast", ["cols"], ["cols_i"], to=TP.INT64),
    h.make_node("Unsqueeze", ["cols_i", "axes0"], ["cols_1d"]),
    h.make_node("Mul", ["cols_1d", "two_i"], ["keep"]),
    h.make_node("Slice", ["xr", "zero_i", "keep", "one"], ["xs"]),
    h.make_node("Gather", ["shp", "zero_i"], ["n0"], axis=0),
    h.make_node("Concat", ["n0", "cols_1d", "minus_one"], ["shape2"], axis=0),
    h.make_node("Tanh", ["xs"], ["t"]),
    h.make_node("Reshape", ["t", "shape2"], ["y"]),
], [f32("x", [2, 2051])], [f32("y", ["A", "B", "C"])], [
    init("one_s", np.array(1, np.int64)), init("one", np.array([1], np.int64)),
    init("zero_i", np.array([0], np.int64)), init("two_i", np.array([2], np.int64)),
    init("minus_one", np.array([-1], np.int64)), init("axes0", np.array([0], np.int64)),
    init("zero_f", np.array(0, np.float32)), init("one_f", np.array(1, np.float32)),
    init("two_f", np.array(2, np.float32)), init("tiny", np.array(1e-4, np.float32)),
])

# If and Loop bodies that read outer-scope activations and initializers,
# hold their own initializers, and (Loop) a node the test blocks
# ("Inconsistent type on If", Model-Optimizer PR #1628).
then_g = h.make_graph([
    h.make_node("MatMul", ["rx", "w_in"], ["tm"]),
    h.make_node("Add", ["tm", "b"], ["t_out"]),
], "then", [], [f32("t_out", ["N", 4])], [init("w_in", rng.standard_normal((4, 4)).astype(np.float32))])
else_g = h.make_graph([
    h.make_node("Mul", ["rx", "b"], ["e_out"]),
], "else", [], [f32("e_out", ["N", 4])], [])
body = h.make_graph([
    h.make_node("Mul", ["v_in", "decay"], ["vm"], name="body_mul"),
    h.make_node("Add", ["vm", "rx"], ["va"], name="body_add"),
    h.make_node("Exp", ["va"], ["ve"], name="body_blocked_exp"),
    h.make_node("Mul", ["ve", "b"], ["v_out"], name="body_scale"),
    h.make_node("Identity", ["cond_in"], ["cond_out"]),
    h.make_node("Identity", ["v_out"], ["scan_out"]),
], "body", [h.make_tensor_value_info("iter", TP.INT64, []), h.make_tensor_value_info("cond_in", TP.BOOL, []),
            f32("v_in", ["N", 4])],
    [h.make_tensor_value_info("cond_out", TP.BOOL, []), f32("v_out", ["N", 4]), f32("scan_out", ["N", 4])],
    [init("decay", np.array([0.5], np.float32))])
save("control_flow", [
    h.make_node("Relu", ["x"], ["rx"]),
    h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
    h.make_node("Greater", ["s", "zero"], ["c"]),
    h.make_node("If", ["c"], ["yi"], then_branch=then_g, else_branch=else_g),
    h.make_node("Loop", ["trips", "true", "rx"], ["yl", "scans"], body=body),
    h.make_node("Add", ["yi", "b"], ["y_if"]),
    h.make_node("Mul", ["yl", "b"], ["y_loop"]),
], [f32("x", ["N", 4])], [f32("y_if", ["N", 4]), f32("y_loop", ["N", 4]), f32("scans", [3, "N", 4])], [
    init("b", rng.standard_normal((4,)).astype(np.float32) * 0.1),
    init("zero", np.array(0, np.float32)),
    init("trips", np.array(3, np.int64)), init("true", np.array(True)),
])

# A sparse initializer (stays float32 and sparse; its float16 reader gets a Cast).
vals = nh.from_array(np.array([1.5, -2.0, 0.25], np.float32), "ws")
idx = nh.from_array(np.array([0, 5, 10], np.int64), "ws_idx")
g = h.make_graph([
    h.make_node("MatMul", ["x", "ws"], ["mm"]),
    h.make_node("Relu", ["mm"], ["y"]),
], "sparse_init", [f32("x", ["N", 4])], [f32("y", ["N", 4])], [], sparse_initializer=[h.make_sparse_tensor(vals, idx, [4, 4])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="szrun-pitfalls")
m.ir_version = 7
onnx.checker.check_model(m)  # onnx 1.12's shape inference cannot read sparse initializers
onnx.save(m, "pitfalls/sparse_init.onnx")

# Float maths computed only from shapes, past float16's exact integers: a
# sinusoidal position table over a 3000-long sequence and a 1/sqrt(dim)
# scale; the data path converts, the shape path stays float32.
save("shape_scalars", [
    h.make_node("Shape", ["x"], ["shp"]),
    h.make_node("Gather", ["shp", "one_s"], ["len"], axis=0),
    h.make_node("Cast", ["len"], ["len_f"], to=TP.FLOAT),
    h.make_node("Range", ["zero_f", "len_f", "one_f"], ["pos"]),
    h.make_node("Unsqueeze", ["pos", "axes1"], ["pos2"]),
    h.make_node("Mul", ["pos2", "freq"], ["angle"]),
    h.make_node("Sin", ["angle"], ["pe"]),
    h.make_node("Gather", ["shp", "two_s"], ["dim"], axis=0),
    h.make_node("Cast", ["dim"], ["dim_f"], to=TP.FLOAT),
    h.make_node("Pow", ["dim_f", "minus_half"], ["scale"]),
    h.make_node("Mul", ["x", "scale"], ["xs"]),
    h.make_node("Add", ["xs", "pe"], ["y"]),
], [f32("x", ["N", "L", 4])], [f32("y", ["N", "L", 4])], [
    init("one_s", np.array(1, np.int64)), init("two_s", np.array(2, np.int64)),
    init("axes1", np.array([1], np.int64)),
    init("zero_f", np.array(0, np.float32)), init("one_f", np.array(1, np.float32)),
    init("freq", np.array([1.0, 0.1, 0.01, 0.001], np.float32)),
    init("minus_half", np.array(-0.5, np.float32)),
])
