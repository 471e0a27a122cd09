"""Check that roundtrip.py catches what it claims to catch.

roundtrip.py reports "identical" on every model when npuopt is right, so its failure paths would
never run. This script runs it against fake `npuopt` programs that misbehave on purpose, on a few
models built here, and checks the verdict for each:

  copy        copies the model (and its external data): byte-identical, all checks pass
  reorder     writes initializers in reverse order: semantically identical, passes
  mutate      turns Add into Sub: differing, and ORT outputs differ: fails
  unstable    writes a different doc_string on every run: the two runs differ: fails
  reject      exits 1 on everything: a valid model fails, an invalid one is rightly rejected, one
              whose external data is absent is listed as such
  crash       exits 101 (a Rust panic): fails

Usage: selftest_roundtrip.py   (exit 1 if a verdict is not the expected one)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


# ----- models ---------------------------------------------------------------------------------

def valid_model() -> onnx.ModelProto:
    """y = (x + a) * b, with two initializers so their order can change."""
    a = numpy_helper.from_array(np.arange(4, dtype=np.float32), "a")
    b = numpy_helper.from_array(np.full(4, 0.5, dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "a"], ["t"]), helper.make_node("Mul", ["t", "b"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [a, b],
    )
    # IR 10: the pinned ONNX Runtime refuses the newest IR versions, and this model must run.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def write_models(root: Path) -> None:
    onnx.save(valid_model(), root / "valid.onnx")

    (root / "external").mkdir()
    onnx.save(valid_model(), root / "external" / "model.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="w.bin", size_threshold=0)

    (root / "absent").mkdir()
    onnx.save(valid_model(), root / "absent" / "model.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="gone.bin", size_threshold=0)
    (root / "absent" / "gone.bin").unlink()

    broken = valid_model()
    broken.graph.node[1].input[1] = "undefined"
    onnx.save(broken, root / "invalid.onnx")


# ----- the fake npuopt ------------------------------------------------------------------------

def fake_npuopt(mode: str, src: Path, out: Path) -> int:
    if mode == "crash":
        print("thread 'main' panicked", file=sys.stderr)
        return 101
    if mode == "reject":
        print(f"error: {src}: refused by the fake", file=sys.stderr)
        return 1
    model = onnx.load(str(src), load_external_data=False)
    if mode == "copy":
        shutil.copyfile(src, out)
        for t in model.graph.initializer:
            for e in t.external_data:
                if e.key == "location":
                    shutil.copyfile(src.parent / e.value, out.parent / e.value)
        return 0
    onnx.load_external_data_for_model(model, str(src.parent))
    if mode == "reorder":
        inits = list(model.graph.initializer)[::-1]
        del model.graph.initializer[:]
        model.graph.initializer.extend(inits)
    elif mode == "mutate":
        for n in model.graph.node:
            if n.op_type == "Add":
                n.op_type = "Sub"
    elif mode == "unstable":
        model.doc_string = uuid.uuid4().hex
    onnx.save(model, str(out))
    return 0


# ----- the checks -----------------------------------------------------------------------------

EXPECTED = {
    # mode: {model label: (status, identity)}
    "copy": {"valid.onnx": ("checked", "byte"), "external": ("checked", "byte"),
             "invalid.onnx": ("checked", "byte")},
    "reorder": {"valid.onnx": ("checked", "semantic")},
    "mutate": {"valid.onnx": ("failed", "differ")},
    "unstable": {"valid.onnx": ("failed", "differ")},
    "reject": {"valid.onnx": ("failed", ""), "invalid.onnx": ("rejected", ""),
               "absent": ("external-absent", "")},
    "crash": {"valid.onnx": ("failed", "")},
}

# What ONNX Runtime's comparison must say (a prefix of the reported verdict).
EXPECTED_ORT = {
    ("copy", "valid.onnx"): "identical",
    ("copy", "external"): "identical",
    ("copy", "invalid.onnx"): "skipped: ORT cannot run the input",
    ("reorder", "valid.onnx"): "identical",
}

# What each failure must say (a substring of the reported reason).
EXPECTED_REASON = {
    ("mutate", "valid.onnx"): "ORT outputs differ",
    ("unstable", "valid.onnx"): "two runs wrote different files",
    ("reject", "valid.onnx"): "rejected a model the checker accepts",
    ("crash", "valid.onnx"): "exited 101",
}


def run_mode(mode: str, models: Path, tmp: Path) -> dict[str, list[str]]:
    """roundtrip.py's verdicts with the fake npuopt `mode`:
    {model: [status, identity, ORT verdict, reasons]}."""
    wrapper = tmp / f"npuopt-{mode}"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" '
                       f'--fake {mode} "$@"\n')
    wrapper.chmod(0o755)
    report = tmp / f"report-{mode}.tsv"
    targets = [models / m for m in EXPECTED[mode]]
    subprocess.run([sys.executable, str(HERE / "roundtrip.py"), "--npuopt", str(wrapper),
                    "--report", str(report), "-j", "1", *map(str, targets)],
                   capture_output=True, text=True)
    rows = {}
    for line in report.read_text().splitlines():
        label, status, identity, ort, reasons = line.split("\t")
        rows[label.removeprefix(f"{models.name}/")] = [status, identity, ort, reasons]
    return rows


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--fake":
        # Called as npuopt: --fake MODE SRC -o OUT --pipeline none -q
        return fake_npuopt(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[5]))
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory(prefix="selftest-") as tmp:
        tmp = Path(tmp)
        models = tmp / "models"
        models.mkdir()
        write_models(models)
        for mode, expected in EXPECTED.items():
            rows = run_mode(mode, models, tmp)
            for name, (status, identity) in expected.items():
                got = rows.get(name)
                want_ort = EXPECTED_ORT.get((mode, name), "")
                want_reason = EXPECTED_REASON.get((mode, name), "")
                ok = (got is not None and got[0] == status and got[1] == (identity or "-")
                      and got[2].startswith(want_ort) and want_reason in got[3])
                verdict = "ok" if ok else "WRONG"
                print(f"selftest {verdict}: {mode} {name}: expected {status} {identity or '-'} "
                      f"{want_ort or '-'} {want_reason!r}, got {got}")
                passed += ok
                failed += not ok
    print(f"selftest: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
