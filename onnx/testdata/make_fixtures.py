#!/usr/bin/python3
"""Writes the small ONNX fixtures in this directory with the reference
onnx Python package (Debian's onnx 1.12): run with /usr/bin/python3 from
onnx/testdata. They seed FuzzLoad and check that szrun reads what the
reference writer produces (typed fields, external data, subgraphs)."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

def typed_fields():
    # float_data / int32_data / int64_data instead of raw_data.
    w = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, 0.0, -2.0, 3.5])
    # make_tensor converts float values to fp16 bit patterns in int32_data.
    h = helper.make_tensor("H", TensorProto.FLOAT16, [2], [1.0, -0.5])
    s = helper.make_tensor("S", TensorProto.INT64, [2], [2, 2])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                          "typed", [x], [y], [w, h, s])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="fixtures")
    onnx.save(m, "typed_fields.onnx")

def if_subgraph():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    then_g = helper.make_graph([helper.make_node("Neg", ["x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [3])])
    else_g = helper.make_graph([helper.make_node("Abs", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [3])])
    n = helper.make_node("If", ["c"], ["y"], name="if", then_branch=then_g, else_branch=else_g)
    g = helper.make_graph([n], "ifgraph", [x, c], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="fixtures")
    onnx.save(m, "if_subgraph.onnx")

def external():
    w = numpy_helper.from_array(np.arange(4096, dtype=np.float32).reshape(64, 64), "W")
    b = numpy_helper.from_array(np.zeros(64, dtype=np.float32), "b")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])
    g = helper.make_graph([helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="gemm")],
                          "ext", [x], [y], [w, b])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="fixtures")
    onnx.save_model(m, "external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external.onnx.data", size_threshold=0)

typed_fields()
if_subgraph()
external()
