"""fold-qdq against ONNX Runtime: the folded model runs, and every quantized tensor it shares
with the original (by name) is within 1 LSB of ONNX Runtime's result on the original.

ONNX Runtime executes a QDQ model two ways: with its graph optimisations on (the default) it fuses
DQ→op→Q units into the same integer kernels fold-qdq emits; with them off it simulates each unit in
float. On x86 without AVX-VNNI its u8×s8 kernels saturate pairwise sums, so the two executions of
the *original* model already differ by tens of LSB. The reference is therefore ORT with default
optimisations; the float-simulated run is reported alongside, not gated.

usage: fold_qdq.py --npuopt PATH MODEL...
Prints one line per model and `fold-qdq: N passed, M failed`; exit 1 on any failure.
"""

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

RUNS = 3


def exposed(model: onnx.ModelProto, names) -> bytes:
    """The model with `names` added as graph outputs (to read intermediate tensors)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    return m.SerializeToString()


def session(model_bytes: bytes, optimise: bool) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimise else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def random_inputs(sess: ort.InferenceSession, rng) -> dict:
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        feeds[i.name] = rng.random(shape, dtype=np.float32)
    return feeds


def run(sess, feeds) -> dict:
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def check(npuopt: str, path: Path, tmp: Path) -> tuple[bool, str]:
    out = tmp / "folded.onnx"
    r = subprocess.run([npuopt, str(path), "-o", str(out), "--passes", "fold-qdq", "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"npuopt failed: {r.stderr.strip()}"
    original, folded = onnx.load(path), onnx.load(out)
    onnx.checker.check_model(folded)
    quantized = [n.output[0] for n in original.graph.node if n.op_type == "QuantizeLinear"]
    produced = {o for n in folded.graph.node for o in n.output} | {i.name for i in folded.graph.input}
    shared = [q for q in quantized if q in produced]
    ref, sim = session(exposed(original, shared), True), session(exposed(original, shared), False)
    new = session(exposed(folded, shared), False)
    rng = np.random.default_rng(0)
    worst_ref, worst_sim, worst_name, float_dev = 0, 0, "", 0.0
    for _ in range(RUNS):
        feeds = random_inputs(ref, rng)
        a, s, b = run(ref, feeds), run(sim, feeds), run(new, feeds)
        for n in shared:
            d = int(np.abs(a[n].astype(np.int64) - b[n].astype(np.int64)).max(initial=0))
            if d > worst_ref:
                worst_ref, worst_name = d, n
            worst_sim = max(worst_sim, int(np.abs(s[n].astype(np.int64) - b[n].astype(np.int64)).max(initial=0)))
        for o in original.graph.output:
            float_dev = max(float_dev, float(np.abs(a[o.name].astype(np.float64) - b[o.name]).max(initial=0)))
    ops = Counter(n.op_type for n in folded.graph.node)
    before = Counter(n.op_type for n in original.graph.node)
    line = (
        f"{path.name}: nodes {len(original.graph.node)}->{len(folded.graph.node)} "
        f"Q {before['QuantizeLinear']}->{ops['QuantizeLinear']} DQ {before['DequantizeLinear']}->{ops['DequantizeLinear']}; "
        f"{len(shared)} quantized tensors: max {worst_ref} LSB vs ORT (optimised){f' at {worst_name}' if worst_ref else ''}, "
        f"max {worst_sim} LSB vs ORT float simulation; outputs max |Δ| {float_dev:.6g}"
    )
    return worst_ref <= 1, line


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--npuopt", required=True)
    ap.add_argument("models", nargs="+", type=Path)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.models:
            ok, line = check(args.npuopt, path, Path(tmp))
            print(("ok   " if ok else "FAIL ") + line)
            passed += ok
            failed += not ok
    print(f"fold-qdq: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
