"""--emit functions and --emit split against ONNX Runtime: the same outputs, bit for bit, as the
annotated model.

For each model (default pipeline): `npuopt M -o annotated.onnx`, `npuopt M -o functions.onnx
--emit functions`, `npuopt M -o split.onnx --emit split`. Every file written — the functions
model, the split's annotated model and each part — passes onnx.checker's full check; the
manifest lists every part file, each node of the annotated model in exactly one part, and parts in
an order where each reads only graph inputs and tensors of parts before it. ORT (optimisations off)
on seeded inputs: the functions model, and the split parts chained through the manifest, give
outputs identical to the annotated model's.

usage: emit.py --npuopt PATH MODEL...
Prints one line per model and `emit: N passed, M failed`; exit 1 on any failure.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from model_checks import run_checks, session

RUNS = 3


def check_manifest(manifest: dict, annotated: onnx.ModelProto, tmp: Path) -> str | None:
    """A reason the manifest is wrong, or None."""
    available = set(manifest["inputs"])
    seen_nodes = []
    for p in manifest["parts"]:
        missing = [i for i in p["inputs"] if i not in available]
        if missing:
            return f"part {p['name']} reads {missing[:3]} before any part computes them"
        available.update(p["outputs"])
        part = onnx.load(tmp / p["file"])
        seen_nodes += [n.name or n.output[0] for n in part.graph.node]
        if p["kind"] == "npu" and any(
            m.key == "npuopt.placement" and m.value != f"npu:{p['region']}" for n in part.graph.node for m in n.metadata_props
        ):
            return f"part {p['name']} holds a node placed elsewhere"
    whole = sorted(n.name or n.output[0] for n in annotated.graph.node)
    if sorted(seen_nodes) != whole:
        return f"the parts hold {len(seen_nodes)} nodes, the model {len(whole)} (each must be in exactly one part)"
    missing = [o for o in manifest["outputs"] if o not in available]
    if missing:
        return f"graph outputs {missing[:3]} are computed by no part"
    listed = {t["name"] for t in manifest["tensors"]}
    crossing = {i for p in manifest["parts"] for i in p["inputs"]} | {o for p in manifest["parts"] for o in p["outputs"]}
    if not crossing <= listed:
        return f"boundary tensors missing from the manifest: {sorted(crossing - listed)[:3]}"
    return None


def run_split(manifest: dict, sessions: dict, feeds: dict) -> dict:
    tensors = dict(feeds)
    for p in manifest["parts"]:
        s = sessions[p["name"]]
        got = s.run(None, {i.name: tensors[i.name] for i in s.get_inputs()})
        tensors.update(zip([o.name for o in s.get_outputs()], got))
    return {o: tensors[o] for o in manifest["outputs"]}


def check(npuopt: str, model: Path, tmp: Path) -> tuple[bool, str]:
    annotated, functions, split = tmp / "annotated.onnx", tmp / "functions.onnx", tmp / "split.onnx"
    for out, mode in ((annotated, "annotated"), (functions, "functions"), (split, "split")):
        r = subprocess.run([npuopt, str(model), "-o", str(out), "--emit", mode, "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            return False, f"npuopt --emit {mode} failed: {r.stderr.strip()}"
    manifest = json.loads((tmp / "split.manifest.json").read_text())
    fn_model = onnx.load(functions)
    for f in [functions, split] + [tmp / p["file"] for p in manifest["parts"]]:
        onnx.checker.check_model(onnx.load(f), full_check=True)
    reason = check_manifest(manifest, onnx.load(annotated), tmp)
    if reason:
        return False, reason
    ref, fn = session(annotated), session(functions)
    parts = {p["name"]: session(tmp / p["file"]) for p in manifest["parts"]}
    rng = np.random.default_rng(0)
    for _ in range(RUNS):
        feeds = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32) for i in ref.get_inputs()}
        want = dict(zip([o.name for o in ref.get_outputs()], ref.run(None, feeds)))
        got_fn = dict(zip([o.name for o in fn.get_outputs()], fn.run(None, feeds)))
        got_split = run_split(manifest, parts, feeds)
        for label, got in (("functions", got_fn), ("split", got_split)):
            for name, w in want.items():
                g = got.get(name)
                if g is None or g.shape != w.shape or g.dtype != w.dtype or not np.array_equal(g, w, equal_nan=True):
                    diff = "missing" if g is None else f"max |Δ| {np.abs(g.astype(np.float64) - w).max()}"
                    return False, f"{label}: output {name} differs ({diff})"
    npu = sum(p["kind"] == "npu" for p in manifest["parts"])
    return True, (
        f"{model.name}: {len(fn_model.functions)} region function(s); {len(manifest['parts'])} parts "
        f"({npu} npu, {len(manifest['parts']) - npu} cpu), {len(manifest['tensors'])} boundary tensors; "
        f"functions and split outputs identical to the annotated model"
    )


if __name__ == "__main__":
    sys.exit(run_checks("emit", check))
