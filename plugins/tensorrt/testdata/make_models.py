#!/usr/bin/python3
"""Writes the tiny ONNX models the tensorrt plugin's tests read for input names
and shapes, with the reference onnx package (Debian's onnx 1.12): run with
/usr/bin/python3 from plugins/tensorrt/testdata. TensorRT never sees them here."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, name)

# Two inputs: a dynamic batch of images and a static bias; one Add.
images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 16, 16])
bias = helper.make_tensor_value_info("bias", TensorProto.FLOAT, [1, 3, 1, 1])
out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3, 16, 16])
g = helper.make_graph([helper.make_node("Add", ["images", "bias"], ["out"])], "two_inputs", [images, bias], [out])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="szrun-tests"), "two_inputs.onnx")

# Explicitly quantized (Q/DQ) model: int8 and fp8 need no calibration for it.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
inits = [numpy_helper.from_array(np.array(0.05, dtype=np.float32), "scale"),
         numpy_helper.from_array(np.array(0, dtype=np.int8), "zero")]
nodes = [helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["xq"]),
         helper.make_node("DequantizeLinear", ["xq", "scale", "zero"], ["y"])]
g = helper.make_graph(nodes, "qdq", [x], [y], initializer=inits)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="szrun-tests"), "qdq.onnx")
