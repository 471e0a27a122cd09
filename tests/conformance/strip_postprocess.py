"""strip-postprocess against ONNX Runtime: `post(main(x))` equals the unsplit model bit for bit.

For each model: `npuopt M -o split.onnx` (default pipeline, writes split.post.onnx too) and
`npuopt M -o whole.onnx --keep-postprocess` (the same pipeline without the cut). Both parts and the
whole pass onnx.checker; ORT (optimisations off, so both run the same kernels) on seeded inputs
must give identical outputs for post(main(x)) and whole(x).

usage: strip_postprocess.py --npuopt PATH MODEL...
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
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def check(npuopt: str, model: Path, tmp: Path) -> tuple[bool, str]:
    split, whole = tmp / "split.onnx", tmp / "whole.onnx"
    post = tmp / "split.post.onnx"
    for args in ([str(model), "-o", str(split)], [str(model), "-o", str(whole), "--keep-postprocess"]):
        r = subprocess.run([npuopt, *args, "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            return False, f"npuopt failed: {r.stderr.strip()}"
    if not post.exists():
        return False, "no post model was written"
    for f in (split, post, whole):
        onnx.checker.check_model(onnx.load(f), full_check=True)
    main_s, post_s, whole_s = session(split), session(post), session(whole)
    rng = np.random.default_rng(0)
    cuts = [o.name for o in main_s.get_outputs()]
    for _ in range(3):
        feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32) for i in whole_s.get_inputs()}
        mid = dict(zip(cuts, main_s.run(None, feeds)))
        got = post_s.run(None, {i.name: mid[i.name] for i in post_s.get_inputs()})
        want = whole_s.run(None, feeds)
        for g, w, o in zip(got, want, whole_s.get_outputs()):
            if g.shape != w.shape or not np.array_equal(g, w, equal_nan=True):
                return False, f"output {o.name} differs: max |Δ| {np.abs(g - w).max()}"
    shapes = ", ".join(f"{o.name} {o.shape}" for o in main_s.get_outputs())
    return True, f"{model.name}: cut at {len(cuts)} tensors ({shapes})"


if __name__ == "__main__":
    sys.exit(run_checks("strip-postprocess", check))
