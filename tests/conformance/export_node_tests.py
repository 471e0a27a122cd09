"""Write onnx's node test cases to disk in the standard ONNX backend test layout.

The pip package of onnx ships no `backend/test/data/node` folder: its ~1,900 node cases exist only
as code (`onnx.backend.test.case.node.collect_testcases()`). This script writes each of them as

    OUTDIR/<case name>/model.onnx
    OUTDIR/<case name>/test_data_set_0/input_<j>.pb, output_<j>.pb

exactly as onnx's own generator (`onnx/backend/test/cmd_tools.py`) writes its model cases: input j
belongs to graph input j, output j to graph output j; a tensor is a TensorProto, a sequence a
SequenceProto, a map a MapProto and an optional an OptionalProto, each named after its graph
input or output. Any ONNX backend test runner can read the result.

Usage: export_node_tests.py OUTDIR   (OUTDIR must not exist or be empty)
Exit 1 if a case cannot be written; each such case is printed with the reason.
"""

import sys
import warnings
from pathlib import Path

import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases


def serialize_value(value, declared: onnx.ValueInfoProto) -> bytes:
    """One input or output value as the proto its declared type calls for (cmd_tools' rule)."""
    ty, name = declared.type, declared.name
    if ty.HasField("map_type"):
        return numpy_helper.from_dict(value, name).SerializeToString()
    if ty.HasField("sequence_type"):
        return numpy_helper.from_list(value, name).SerializeToString()
    if ty.HasField("optional_type"):
        return numpy_helper.from_optional(value, name).SerializeToString()
    if not ty.HasField("tensor_type"):
        raise ValueError(f"'{name}' has a type that is none of tensor, sequence, map, optional")
    if isinstance(value, onnx.TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()


def write_case(case, outdir: Path) -> None:
    case_dir = outdir / case.name
    case_dir.mkdir(parents=True)
    (case_dir / "model.onnx").write_bytes(case.model.SerializeToString())
    graph = case.model.graph
    for i, (inputs, outputs) in enumerate(case.data_sets):
        data_dir = case_dir / f"test_data_set_{i}"
        data_dir.mkdir()
        for j, value in enumerate(inputs):
            (data_dir / f"input_{j}.pb").write_bytes(serialize_value(value, graph.input[j]))
        for j, value in enumerate(outputs):
            (data_dir / f"output_{j}.pb").write_bytes(serialize_value(value, graph.output[j]))


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: export_node_tests.py OUTDIR", file=sys.stderr)
        return 2
    outdir = Path(sys.argv[1])
    if outdir.exists() and any(outdir.iterdir()):
        print(f"export: {outdir} is not empty; give a new or empty folder", file=sys.stderr)
        return 2
    outdir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Some cases compute their expected outputs with deliberate overflows and divisions by zero.
        warnings.simplefilter("ignore", RuntimeWarning)
        cases = node_cases.collect_testcases()
    failed = []
    seen = set()
    for case in cases:
        if case.name in seen:
            failed.append((case.name, "two cases share this name"))
            continue
        seen.add(case.name)
        try:
            write_case(case, outdir)
        except Exception as e:  # noqa: BLE001 - every failure is reported with its case
            failed.append((case.name, f"{type(e).__name__}: {e}"))
    for name, reason in failed:
        print(f"export FAILED {name}: {reason}")
    written = len(cases) - len(failed)
    print(f"export: {written} of {len(cases)} node test cases written to {outdir} "
          f"(onnx {onnx.__version__})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
