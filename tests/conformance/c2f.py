"""c2f against onnx.checker and ONNX Runtime: the rewritten model is valid and runs.

For each model: `npuopt M -o out.onnx --passes c2f` (the graph as exported,
only rewritten) and `npuopt M -o npu.onnx --c2f` (the default pipeline with c2f before fold-qdq).
Both pass onnx.checker (full check); ORT runs both on seeded inputs; the rewritten model's outputs
have the original's names and shapes, and it has no MatMul of two activations nor an attention
Softmax (the only Softmax left is the DFL's, in the head). The function changes by design (the
model must be retrained), so values are not compared. YOLOv8 models (C2f already) go through
the same checks.

usage: c2f.py --npuopt PATH MODEL...
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from model_checks import run_checks


def session(path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def attention_ops(model: onnx.ModelProto) -> list[str]:
    consts = {i.name for i in model.graph.initializer}
    consts |= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    found = []
    for n in model.graph.node:
        if n.op_type in ("MatMul", "QLinearMatMul"):
            data = [n.input[0], n.input[1 if n.op_type == "MatMul" else 3]]
            if not any(d in consts for d in data):
                found.append(n.name)
        if n.op_type in ("Softmax", "QLinearSoftmax") and "/dfl/" not in n.name:
            found.append(n.name)
    return found


def check(npuopt: str, model: Path, tmp: Path) -> tuple[bool, str]:
    out, npu = tmp / "out.onnx", tmp / "npu.onnx"
    for args in ([str(model), "-o", str(out), "--passes", "c2f"],
                 [str(model), "-o", str(npu), "--c2f"]):
        r = subprocess.run([npuopt, *args, "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            return False, f"npuopt {' '.join(args[2:])} failed: {r.stderr.strip()}"
    for f in (out, npu):
        onnx.checker.check_model(onnx.load(f), full_check=True)
    left = attention_ops(onnx.load(out))
    if left:
        return False, f"attention ops left: {', '.join(left)}"
    orig_s, out_s, npu_s = session(model), session(out), session(npu)
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
             for i in orig_s.get_inputs()}
    want = {o.name: v.shape for o, v in zip(orig_s.get_outputs(), orig_s.run(None, feeds))}
    got = {o.name: v.shape for o, v in zip(out_s.get_outputs(), out_s.run(None, feeds))}
    if got != want:
        return False, f"outputs {got} differ from the original's {want}"
    npu_s.run(None, {i.name: feeds[i.name] for i in npu_s.get_inputs()})
    return True, f"{model.name}: valid, runs, no attention ops, outputs {want}"


if __name__ == "__main__":
    sys.exit(run_checks("c2f", check))
