"""Writes the expected value types that tests/infer.rs compares npuopt's inference with.

For every tests/fixtures/<model>.onnx this runs ONNX's own shape inference with data propagation
(`onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)`) and writes
tests/fixtures/<model>.shapes.json: one entry per value produced by a node,
`"name": [elem_type, dims]`, where elem_type is the ONNX TensorProto.DataType code and dims is a
list of ints (known), strings (symbolic) and nulls (unknown), or null when even the rank is
unknown. One entry per line, sorted by name, so a regenerated file diffs well.

Where ONNX's inference leaves a dim unknown and the model's inputs are static, the model is run
once in ONNX Runtime (zeros as input, every such value made an output) and the entry becomes
`[elem_type, runtime dims, "onnxruntime"]`: the shape the value really has.

Run from anywhere: /work/main/.venv/bin/python tests/conformance/gen_shapes.py
"""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import helper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def dims(tensor_type):
    if not tensor_type.HasField("shape"):
        return None
    out = []
    for d in tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def expected_types(model):
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    graph = inferred.graph
    produced = {o for n in graph.node for o in n.output if o}
    types = {}
    for vi in list(graph.value_info) + list(graph.output):
        if vi.name in produced and vi.type.HasField("tensor_type"):
            t = vi.type.tensor_type
            types[vi.name] = [t.elem_type, dims(t)]
    return types


def incomplete(entry):
    dims = entry[1]
    return dims is None or any(not isinstance(d, int) for d in dims)


def runtime_shapes(model, names):
    """The shapes `names` have when the model runs on zeros; {} when an input is not static."""
    feeds = {}
    for inp in model.graph.input:
        t = inp.type.tensor_type
        shape = dims(t)
        if shape is None or any(not isinstance(d, int) for d in shape):
            return {}
        dtype = helper.tensor_dtype_to_np_dtype(t.elem_type)
        feeds[inp.name] = np.zeros(shape, dtype)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in names:
        probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    session = onnxruntime.InferenceSession(
        probe.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return {n: list(v.shape) for n, v in zip(names, session.run(names, feeds))}


def main():
    for path in sorted(FIXTURES.glob("*.onnx")):
        model = onnx.load(path)
        types = expected_types(model)
        unknown = [n for n, entry in types.items() if incomplete(entry)]
        for name, shape in runtime_shapes(model, unknown).items():
            types[name] = [types[name][0], shape, "onnxruntime"]
        lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(types.items())]
        target = path.with_suffix(".shapes.json")
        target.write_text("{\n" + ",\n".join(lines) + "\n}\n")
        print(f"{target.name}: {len(types)} values, {len(unknown)} shapes from onnxruntime")


if __name__ == "__main__":
    main()
