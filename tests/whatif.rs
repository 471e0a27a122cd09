//! `npuopt inspect --what-if`: the table of what each opt-in pass and each driver release buys,
//! pinned on a real YOLO11 export (tests/fixtures/pico/yolo11-pico-silu.qdq.onnx, from the
//! Ultralytics export in ../shared/corpus, random weights).

use std::path::Path;

mod common;

const MODEL: &str = "tests/fixtures/pico/yolo11-pico-silu.qdq.onnx";

fn what_if(extra: &[&str]) -> String {
    let stdout = common::npuopt_ok(&[&["inspect", MODEL, "--what-if"], extra].concat());
    String::from_utf8(stdout).unwrap()
}

/// Every opt-in pass × every release, with the deviation and the Ultralytics hints.
#[test]
fn yolo11_pico_silu_table() {
    assert!(Path::new(MODEL).exists());
    npuopt::assert_snapshot_file!("yolo11_pico_silu", what_if(&[]));
}

/// The JSON carries the same figures: the scenario with both passes is one region from 23.08 on,
/// and the table starts at the named release.
#[test]
fn json_from_the_named_release() {
    let text = what_if(&["--json", "--target", "ethos-n78@23.08"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = v["what_if"].as_array().unwrap();
    let labels: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "as given",
            "--activation relu",
            "--c2f",
            "--activation relu --c2f"
        ]
    );
    for row in rows {
        assert_eq!(row["cells"][0]["release"], "23.08");
    }
    let both = &rows[3]["cells"];
    for cell in both.as_array().unwrap() {
        assert_eq!(cell["summary"]["npu_regions"], 1, "{cell}");
    }
    assert!(rows[0]["deviations"].as_array().unwrap().is_empty());
    assert_eq!(rows[3]["deviations"].as_array().unwrap().len(), 2);
}
