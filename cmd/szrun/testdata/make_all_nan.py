#!/usr/bin/python3
"""Makes all_nan.onnx: y = Sqrt(-(|x| + 1)), NaN for every input, so a
verification that compares the model with itself (or its float16 copy) sees NaN
in every output element. Run from this folder: /usr/bin/python3 make_all_nan.py"""
import onnx
from onnx import TensorProto, helper

g = helper.make_graph(
    [
        helper.make_node("Abs", ["x"], ["a"]),
        helper.make_node("Add", ["a", "one"], ["b"]),
        helper.make_node("Neg", ["b"], ["c"]),
        helper.make_node("Sqrt", ["c"], ["y"]),
    ],
    "all_nan",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
    [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="szrun-test")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, "all_nan.onnx")
