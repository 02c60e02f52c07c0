#!/usr/bin/python3
"""Writes small.onnx for the inspect golden tests: weights of three types,
some zeros, a sparse initializer, an If subgraph and symbolic dims. Run
from this folder: /usr/bin/python3 make_small.py"""
import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

w = np.arange(12, dtype=np.float32).reshape(3, 4) - 4  # one zero
w[0, :2] = 0
then_g = h.make_graph([h.make_node("Relu", ["mm"], ["t"])], "then", [],
                      [h.make_tensor_value_info("t", TP.FLOAT, ["batch", 4])])
else_g = h.make_graph([h.make_node("Neg", ["mm"], ["e"])], "else", [],
                      [h.make_tensor_value_info("e", TP.FLOAT, ["batch", 4])])
vals = nh.from_array(np.array([1.0, 2.0], np.float32), "sp")
idx = nh.from_array(np.array([1, 6], np.int64), "sp_idx")
g = h.make_graph([
    h.make_node("MatMul", ["x", "w"], ["mm"], name="mm"),
    h.make_node("If", ["flag"], ["y"], name="branch", then_branch=then_g, else_branch=else_g),
    h.make_node("Cast", ["y"], ["y16"], to=TP.FLOAT16),
    h.make_node("Add", ["y16", "b16"], ["out"]),
    h.make_node("Reshape", ["out", "shape"], ["flat"]),
], "small", [h.make_tensor_value_info("x", TP.FLOAT, ["batch", 3]),
             h.make_tensor_value_info("flag", TP.BOOL, [])],
   [h.make_tensor_value_info("flat", TP.FLOAT16, ["batch", 4])],
   [nh.from_array(w, "w"), nh.from_array(np.array([0.5, 0, 0, 1], np.float16), "b16"),
    nh.from_array(np.array([-1, 4], np.int64), "shape")],
   sparse_initializer=[h.make_sparse_tensor(vals, idx, [2, 4])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)], producer_name="szrun-test", producer_version="1")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, "small.onnx")
