//! The faithful round trip, on every fixture: what npuopt reads, it writes back byte for byte —
//! in memory, through files, and through external data and back.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use npuopt::ir::{NodeKind, TensorData};
use npuopt::onnx::{self, ExternalPolicy};

/// Every `.onnx` file in tests/fixtures, sorted; fails if there is none (a vacuous pass hides a
/// missing folder).
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn encode(bytes: &[u8]) -> Vec<u8> {
    let model = onnx::decode_bytes(Bytes::copy_from_slice(bytes)).unwrap();
    onnx::encode_bytes(&model).unwrap()
}

/// The index of the first differing byte, for a failure message that says where to look.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).position(|(x, y)| x != y);
    format!(
        "{} vs {} bytes, first difference at byte {}",
        a.len(),
        b.len(),
        at.unwrap_or(a.len().min(b.len()))
    )
}

fn assert_same(what: &str, fixture: &Path, want: &[u8], got: &[u8]) {
    assert!(
        want == got,
        "{}: {what}: {}",
        fixture.display(),
        first_difference(want, got)
    );
}

#[test]
fn decode_then_encode_is_byte_identical() {
    for f in fixtures() {
        let original = fs::read(&f).unwrap();
        assert_same("decode → encode", &f, &original, &encode(&original));
    }
}

#[test]
fn encoding_twice_gives_the_same_bytes() {
    for f in fixtures() {
        let model = onnx::decode_bytes(Bytes::from(fs::read(&f).unwrap())).unwrap();
        let first = onnx::encode_bytes(&model).unwrap();
        let second = onnx::encode_bytes(&model).unwrap();
        assert_same("encode twice", &f, &first, &second);
    }
}

#[test]
fn save_then_load_is_byte_identical() {
    for f in fixtures() {
        let original = fs::read(&f).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("model.onnx");
        onnx::save(&onnx::load(&f).unwrap(), &out, ExternalPolicy::Keep).unwrap();
        assert_same("load → save", &f, &original, &fs::read(&out).unwrap());
        let again = onnx::encode_bytes(&onnx::load(&out).unwrap()).unwrap();
        assert_same("save → load → encode", &f, &original, &again);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["model.onnx"], "{}: stray files", f.display());
    }
}

#[test]
fn externalized_then_inlined_is_byte_identical() {
    for f in fixtures() {
        let original = fs::read(&f).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let external = dir.path().join("external.onnx");
        let policy = ExternalPolicy::Externalize {
            threshold: 1024,
            file: "w.data".into(),
        };
        onnx::save(&onnx::load(&f).unwrap(), &external, policy).unwrap();

        let data = fs::metadata(dir.path().join("w.data")).unwrap().len();
        let model = fs::metadata(&external).unwrap().len();
        assert!(data > 0, "{}: w.data is empty", f.display());
        assert!(
            (model as usize) < original.len(),
            "{}: externalized model has {model} bytes, the original {}",
            f.display(),
            original.len()
        );
        // Exactly the tensors of at least 1024 bytes went out, back to back.
        let reloaded = onnx::load(&external).unwrap();
        let g = &reloaded.graph;
        let mut moved = 0;
        for &id in g.initializers() {
            let NodeKind::Initializer(init) = &g.node(id).kind else {
                continue;
            };
            let len = init.le_bytes(&g.pool).unwrap().len();
            let is_external = matches!(init.data, TensorData::External(_));
            assert_eq!(
                is_external,
                len >= 1024,
                "{}: tensor '{}' of {len} bytes",
                f.display(),
                init.shell.name()
            );
            moved += if is_external { len as u64 } else { 0 };
        }
        assert_eq!(data, moved, "{}: w.data size", f.display());

        let inlined = dir.path().join("inlined.onnx");
        onnx::save(&reloaded, &inlined, ExternalPolicy::Inline).unwrap();
        assert_same(
            "externalize → load → inline",
            &f,
            &original,
            &fs::read(&inlined).unwrap(),
        );
    }
}
