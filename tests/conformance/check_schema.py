"""Compare proto/onnx.proto with the schema shipped in the pinned `onnx` package.

prost drops fields it does not know, so a message or field missing from our schema is data that
npuopt would silently lose. This check compiles our schema with grpcio-tools' protoc and compares it
with `onnx.onnx_ml_pb2` (the ONNX-ML schema the onnx package itself uses), message by message and
field by field: number, label, type, type name and packedness. Enums are compared value by value.
Exit 1 on any difference, printing each one.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from onnx import onnx_ml_pb2

ROOT = Path(__file__).resolve().parents[2]


def ours() -> descriptor_pb2.FileDescriptorProto:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ours.pb"
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}",
             f"--descriptor_set_out={out}", "onnx.proto"],
            check=True,
        )
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return fds.file[0]


def official() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto()
    onnx_ml_pb2.DESCRIPTOR.CopyToProto(fdp)
    return fdp


def messages(fdp):
    """Yields (qualified name, DescriptorProto) for every message, nested ones included."""
    def walk(prefix, msgs):
        for m in msgs:
            name = f"{prefix}.{m.name}"
            yield name, m
            yield from walk(name, m.nested_type)
    yield from walk(fdp.package, fdp.message_type)


def enums(fdp):
    for e in fdp.enum_type:
        yield f"{fdp.package}.{e.name}", e
    for name, m in messages(fdp):
        for e in m.enum_type:
            yield f"{name}.{e.name}", e


def field_sig(f):
    packed = f.options.packed if f.options.HasField("packed") else None
    oneof = f.oneof_index if f.HasField("oneof_index") else None
    return (f.name, f.label, f.type, f.type_name.lstrip("."), packed, oneof)


def compare(a, b) -> list[str]:
    diffs = []
    am, bm = dict(messages(a)), dict(messages(b))
    for name in sorted(set(am) | set(bm)):
        if name not in am:
            diffs.append(f"message {name}: missing from proto/onnx.proto")
            continue
        if name not in bm:
            diffs.append(f"message {name}: not in the official schema")
            continue
        af = {f.number: field_sig(f) for f in am[name].field}
        bf = {f.number: field_sig(f) for f in bm[name].field}
        for num in sorted(set(af) | set(bf)):
            if af.get(num) != bf.get(num):
                diffs.append(f"message {name} field {num}: ours {af.get(num)} official {bf.get(num)}")
    ae, be = dict(enums(a)), dict(enums(b))
    for name in sorted(set(ae) | set(be)):
        av = {v.name: v.number for v in ae[name].value} if name in ae else None
        bv = {v.name: v.number for v in be[name].value} if name in be else None
        if av != bv:
            diffs.append(f"enum {name}: ours {av} official {bv}")
    return diffs


def main() -> int:
    diffs = compare(ours(), official())
    for d in diffs:
        print(d)
    n = len(list(messages(official())))
    if diffs:
        print(f"schema check: {len(diffs)} difference(s) against onnx {onnx_ml_pb2.__name__}")
        return 1
    print(f"schema check: proto/onnx.proto matches the onnx package's schema ({n} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
