"""replace-activation on real models: `npuopt MODEL -o OUT --activation relu --keep-postprocess`
leaves no LeakyRelu, no HardSwish and no Sigmoid·Mul pair (also through Q/DQ, also as
QLinearSigmoid + QLinearMul); OUT passes onnx.checker and ONNX Runtime runs it; and the deviation
npuopt prints for the pass is, figure for figure, what `npuopt verify MODEL OUT` computes on the
same inputs (seed 0) — the other passes of the default pipeline are exact. ONNX Runtime's own
difference between MODEL and OUT is printed for the record (its integer kernels round differently).

usage: replace_activation.py --npuopt PATH MODEL...
Prints one line per model and `replace-activation: N passed, M failed`; exit 1 on any failure.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from model_checks import run_checks

FIGURES = re.compile(r"^  (\S+)\s+(max (?:abs \S+  max rel \S+|\S+ LSB))")


def figures(text: str) -> dict:
    """{output: "max abs A  max rel R"} from lines as `npuopt` and `npuopt verify` print them."""
    return {m[1]: m[2] for m in map(FIGURES.match, text.splitlines()) if m}


def remaining(model: onnx.ModelProto) -> list:
    """Nodes that still compute a replaced activation."""
    producer = {o: n for n in model.graph.node for o in n.output}

    def through_qdq(name):
        n = producer.get(name)
        if n is not None and n.op_type == "DequantizeLinear":
            q = producer.get(n.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                return producer.get(q.input[0])
        return n

    left = []
    for n in model.graph.node:
        if n.op_type in ("LeakyRelu", "HardSwish", "QLinearLeakyRelu"):
            left.append(f"{n.op_type} {n.name}")
        elif n.op_type == "Mul" and any((p := through_qdq(i)) is not None and p.op_type == "Sigmoid" for i in n.input):
            left.append(f"Sigmoid·Mul {n.name}")
        elif n.op_type == "QLinearMul" and any(
            (p := producer.get(i)) is not None and p.op_type == "QLinearSigmoid" for i in n.input
        ):
            left.append(f"QLinearSigmoid·QLinearMul {n.name}")
    return left


def ort_outputs(path: Path, feeds: dict) -> dict:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def check(npuopt: str, path: Path, tmp: Path) -> tuple[bool, str]:
    out = tmp / "relu.onnx"
    r = subprocess.run(
        [npuopt, str(path), "-o", str(out), "--activation", "relu", "--keep-postprocess"],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        return False, f"npuopt failed: {r.stderr.strip()}"
    printed = figures(r.stderr.split("warning[replace-activation]: the model's function changed")[-1])
    v = subprocess.run([npuopt, "verify", str(path), str(out), "--seed", "0"], capture_output=True, text=True)
    verified = figures(v.stdout)
    original, result = onnx.load(path), onnx.load(out)
    onnx.checker.check_model(result)
    left = remaining(result)
    rng = np.random.default_rng(0)
    feeds = {
        i.name: rng.random([d.dim_value or 1 for d in i.type.tensor_type.shape.dim], dtype=np.float32)
        for i in original.graph.input
    }
    a, b = ort_outputs(path, feeds), ort_outputs(out, feeds)
    ort_dev = max(float(np.abs(a[k].astype(np.float64) - b[k]).max(initial=0)) for k in a)
    summary = next((l for l in r.stderr.splitlines() if l.startswith("ethos-n")), "")
    problems = []
    if left:
        problems.append(f"left: {', '.join(left[:5])}")
    if not printed:
        problems.append("no deviation printed")
    if printed != verified:
        problems.append(f"printed {printed} != verify {verified}")
    line = (
        f"{path.name}: nodes {len(original.graph.node)}->{len(result.graph.node)}; "
        f"deviation {'; '.join(f'{k}: {f}' for k, f in printed.items())} (= npuopt verify: {printed == verified}); "
        f"ORT max |Δ| {ort_dev:.4g}; {summary}"
    )
    return not problems, line + ("" if not problems else " -- " + "; ".join(problems))


if __name__ == "__main__":
    sys.exit(run_checks("replace-activation", check))
