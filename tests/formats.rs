//! One dataset in every layout and encoding gives the same numbers: stored and deflated npz,
//! Fortran order and big-endian, per-layer .npy files of format versions 1–3 with ids and labels in
//! their own files; each equals the canonical npz to 1e-9 and the reference package to 1e-6
//! (fixtures from tests/reference/make_format_fixtures.py). Named label sets (`labels.*`) and plain
//! rows with class labels are checked against the reference too.

mod common;

use common::{fixture, infoplane, stdout_json};
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("formats/reference.json")).unwrap())
        .unwrap()
}

fn analyze(files: &[&str], extra: &[&str]) -> Value {
    let paths: Vec<String> = files
        .iter()
        .map(|f| {
            fixture(&format!("formats/{f}"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut args: Vec<&str> = vec!["analyze"];
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--format", "reference", "--bins", "20", "--seed", "3"]);
    args.extend(extra);
    stdout_json(&infoplane(&args))
}

/// Every number of `ours` is within `tol` of `theirs`, key for key.
fn assert_close(ours: &Value, theirs: &Value, tol: f64, what: &str) -> usize {
    let mut n = 0;
    for (part, o, t) in [
        ("per_layer", &ours["per_layer"], &theirs["per_layer"]),
        ("mean", &ours["mean"], &theirs["mean"]),
    ] {
        let (os, ts): (Vec<&Value>, Vec<&Value>) = match (o, t) {
            (Value::Array(a), Value::Array(b)) => (a.iter().collect(), b.iter().collect()),
            _ => (vec![o], vec![t]),
        };
        assert_eq!(os.len(), ts.len(), "{what}: {part} length");
        for (i, (o, t)) in os.iter().zip(&ts).enumerate() {
            let (o, t) = (o.as_object().unwrap(), t.as_object().unwrap());
            assert_eq!(
                o.keys().collect::<Vec<_>>(),
                t.keys().collect::<Vec<_>>(),
                "{what}: {part} {i} keys"
            );
            for (k, tv) in t {
                let (a, b) = (o[k].as_f64().unwrap(), tv.as_f64().unwrap());
                assert!((a - b).abs() <= tol, "{what}: {part} {i} {k}: {a} vs {b}");
                n += 1;
            }
        }
    }
    n
}

#[test]
fn canonical_npz_with_named_label_sets_matches_the_reference() {
    let ours = analyze(&["dump.npz"], &["--orders", "1,2"]);
    let n = assert_close(&ours, &reference()["dump"], 1e-6, "dump.npz vs reference");
    assert!(n >= 50);
}

#[test]
fn every_encoding_and_layout_gives_the_canonical_numbers() {
    let canonical = analyze(&["dump.npz"], &["--orders", "1,2"]);
    for files in [
        &["dump_compressed.npz"][..],
        &["dump_text_labels.npz"][..],
        &["dump_fortran_bigendian.npz"][..],
        &["dump.safetensors"][..],
        &["dump.pt"][..],
        &[
            "per_layer/layer_0.npy",
            "per_layer/layer_1.npy",
            "per_layer/layer_2.npy",
            "per_layer/input_ids.npy",
            "per_layer/seq_lens.npy",
            "per_layer/labels.preference.npy",
            "per_layer/labels.pos.npy",
        ][..],
    ] {
        let ours = analyze(files, &["--orders", "1,2"]);
        assert_close(&ours, &canonical, 1e-9, &files.join("+"));
        assert_close(&ours, &reference()["dump"], 1e-6, &files.join("+"));
    }
    // Without label sets in the file, only the n-gram numbers can be compared.
    let ours = analyze(&["dump_layers.pt"], &["--orders", "1,2"]);
    let bare = analyze(&["dump_layers.safetensors"], &["--orders", "1,2"]);
    assert_close(
        &ours,
        &bare,
        1e-9,
        "dump_layers.pt vs dump_layers.safetensors",
    );
    for (layer, theirs) in ours["per_layer"].as_array().unwrap().iter().enumerate() {
        for (k, v) in theirs.as_object().unwrap() {
            let c = canonical["per_layer"][layer][k].as_f64().unwrap();
            assert!(
                (v.as_f64().unwrap() - c).abs() <= 1e-9,
                "dump_layers.pt layer {layer} {k}"
            );
        }
    }
}

#[test]
fn one_layer_as_tsv_or_raw_bytes_gives_the_numbers_of_the_same_rows_in_npz() {
    let npz = analyze(&["layer0_rows.npz"], &[]);
    assert_close(
        &npz,
        &reference()["layer0_rows"],
        1e-6,
        "layer0_rows.npz vs reference",
    );
    let tsv = analyze(&["layer0_vectors.tsv", "layer0_metadata.tsv"], &[]);
    assert_close(&tsv, &npz, 1e-9, "tsv vs npz");
    let raw = analyze(
        &["layer0.bytes", "layer0_metadata.tsv"],
        &["--raw-shape", "114,16"],
    );
    assert_close(&raw, &npz, 1e-9, "raw float32 vs npz");
}

#[test]
fn float16_dump_matches_its_reference_and_the_float32_one_to_half_precision() {
    let f16 = analyze(&["dump_f16.npz"], &["--orders", "1,2"]);
    assert_close(&f16, &reference()["dump_f16"], 1e-6, "f16 vs reference");
    let f32 = analyze(&["dump.npz"], &["--orders", "1,2"]);
    // float16 rounds each coordinate by up to 2^-11 relative; averaged over rows the estimates move
    // far less (1.4e-5 measured).
    assert_close(&f16, &f32, 1e-4, "f16 vs f32");
}

#[test]
fn bfloat16_dump_matches_the_float32_one_to_bfloat16_precision() {
    let bf16 = analyze(&["dump_bf16.pt"], &["--orders", "1,2"]);
    let f32 = analyze(&["dump.npz"], &["--orders", "1,2"]);
    // bfloat16 rounds each coordinate by up to 2^-8 relative (1.2e-4 measured on the estimates);
    // the label sets are absent in this file.
    for (layer, ours) in bf16["per_layer"].as_array().unwrap().iter().enumerate() {
        for (k, v) in ours.as_object().unwrap() {
            let c = f32["per_layer"][layer][k].as_f64().unwrap();
            let v = v.as_f64().unwrap();
            assert!(
                (v - c).abs() <= 1e-3,
                "bf16 layer {layer} {k}: {v} vs f32 {c}"
            );
            assert!(
                v != c,
                "bf16 layer {layer} {k} equals float32 exactly: not rounded?"
            );
        }
    }
}

#[test]
fn plain_rows_with_class_labels_match_the_reference() {
    let ours = analyze(&["rows.npz"], &[]);
    assert_close(&ours, &reference()["rows"], 1e-6, "rows.npz");
    // The documented report says what was found and uses no n-grams.
    let path = fixture("formats/rows.npz");
    let report = stdout_json(&infoplane(&[
        "analyze",
        path.to_str().unwrap(),
        "--bins",
        "20",
    ]));
    assert_eq!(report["settings"]["orders"].as_array().unwrap().len(), 0);
    assert_eq!(report["layers"][0]["label_sets"][0]["name"], "y");
    assert_eq!(report["layers"][0]["label_sets"][0]["distinct_labels"], 6);
    assert_eq!(report["input"]["positions"], 300);
}

#[test]
fn inspect_lists_tensors_and_the_detected_layout() {
    let dir = fixture("formats/per_layer");
    let files: Vec<String> = [
        "layer_0.npy",
        "layer_1.npy",
        "layer_2.npy",
        "input_ids.npy",
        "seq_lens.npy",
    ]
    .iter()
    .map(|f| dir.join(f).to_string_lossy().into_owned())
    .collect();
    let mut args = vec!["inspect"];
    args.extend(files.iter().map(String::as_str));
    let out = infoplane(&args);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("layer_2") && text.contains("float32") && text.contains("[114, 16]"),
        "{text}"
    );
    assert!(text.contains("layout: per-layer"), "{text}");
    assert!(
        text.contains("3 per-layer tensors 'layer_0'..'layer_2'"),
        "{text}"
    );
    assert!(text.contains("4 sequences, 114 tokens"), "{text}");
}
