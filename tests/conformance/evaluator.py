"""npuopt's evaluator against ONNX Runtime, and canonicalize against the evaluator.

For each model:
1. `npuopt run MODEL --input NAME=FILE.npy … --save-outputs DIR` and ONNX Runtime (optimisations
   off: the model's own semantics, op by op) on the same seeded inputs in [0, 1). Float outputs
   must agree within 1e-4 relative plus 1e-5 absolute; integer outputs within 1. An output that a
   DequantizeLinear produces from a QOperator graph may differ by up to 2 of its scale: ONNX
   Runtime's x86 u8×s8 QLinearConv saturates pairwise sums on CPUs without AVX-VNNI and forms
   its requantization multiplier in f32, while npuopt computes the integers exactly (the QDQ
   models, where ORT simulates in float, agree exactly).
2. `npuopt MODEL -o C --pipeline canonicalize` then `npuopt verify MODEL C` must exit 0.

usage: evaluator.py --npuopt PATH MODEL...
Prints one line per model and `evaluator: N passed, M failed`.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
from model_checks import run_checks


def check(npuopt: str, model: Path, tmp: Path) -> tuple[bool, str]:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    args = []
    feeds = {}
    for i in sess.get_inputs():
        x = rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
        path = tmp / f"in{len(feeds)}.npy"
        np.save(path, x)
        feeds[i.name] = x
        args += ["--input", f"{i.name}={path}"]
    out = tmp / "out"
    r = subprocess.run([npuopt, "run", str(model), *args, "--save-outputs", str(out)], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"npuopt run failed: {r.stderr.strip()}"
    worst = 0.0
    graph = onnx.load(model).graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    qoperator = any(n.op_type == "QLinearConv" for n in graph.node)
    for o, want in zip(sess.get_outputs(), sess.run(None, feeds)):
        p = producers.get(o.name)
        lsb = float(np.max(inits[p.input[1]])) if p is not None and p.op_type == "DequantizeLinear" and p.input[1] in inits else 0.0
        got = np.load(out / (o.name.replace("/", "_").replace("\\", "_") + ".npy"))
        if got.shape != want.shape:
            return False, f"{o.name}: shape {got.shape}, ORT {want.shape}"
        if np.issubdtype(want.dtype, np.floating):
            atol = 2 * lsb * (1 + 1e-6) if qoperator and lsb else 1e-5
            if not np.allclose(got, want, rtol=1e-4, atol=atol, equal_nan=True):
                return False, f"{o.name}: max |Δ| {np.abs(got - want).max()}"
            worst = max(worst, float(np.max(np.abs(got - want))))
        elif np.abs(got.astype(np.int64) - want.astype(np.int64)).max(initial=0) > 1:
            return False, f"{o.name}: integer outputs differ by more than 1"
    canon = tmp / "canon.onnx"
    for cmd in ([npuopt, str(model), "-o", str(canon), "--pipeline", "canonicalize", "-q"], [npuopt, "verify", str(model), str(canon)]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return False, f"{' '.join(cmd[1:3])}: exit {r.returncode}: {(r.stdout + r.stderr).strip()[-300:]}"
    return True, f"{model.name}: evaluator = ORT (max |Δ| {worst:.3g}); canonicalize verified"


if __name__ == "__main__":
    sys.exit(run_checks("evaluator", check))
