//! The page's built-in sample (www/sample/minilm_sample.npz: all-MiniLM-L6-v2 hidden states on
//! www/sample/sentences.txt) against the reference package's numbers for it.
//!
//! tests/fixtures/sample/minilm_sample.reference.json was written by scripts/make_sample.py, which
//! runs `soft-entropy` 0.1.5 (numpy backend) on the dump through tests/reference/make_golden.py's
//! functions at infoplane's defaults: 100 bins, seed 0, find-eps, orders 1-3, all layers.

mod common;

use common::{close_within, compare_reference_shape, infoplane, stdout_json};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TOLERANCE: f64 = 1e-6;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/sample/minilm_sample.npz")
}

fn expected() -> Value {
    let path = common::fixture("sample/minilm_sample.reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn analyze(extra: &[&str]) -> Value {
    let npz = sample();
    let mut argv = vec!["analyze", npz.to_str().unwrap()];
    argv.extend_from_slice(extra);
    stdout_json(&infoplane(&argv))
}

#[test]
fn sample_matches_the_reference_package_at_the_defaults() {
    let spec = expected();
    let ours = analyze(&["--format", "reference"]);
    let find_eps = &spec["modes"]["find-eps"];
    let (mut compared, mut worst) = (0usize, 0.0f64);
    for (split, theirs) in find_eps["accumulator"].as_object().unwrap() {
        let (n, w) =
            compare_reference_shape(&ours, theirs, TOLERANCE, &format!("sample/batch {split}"));
        compared += n;
        worst = worst.max(w);
    }
    for (l, t) in find_eps["functions"].as_array().unwrap().iter().enumerate() {
        for (k, v) in t.as_object().unwrap() {
            worst = worst.max(close_within(
                &ours["per_layer"][l][k],
                v,
                TOLERANCE,
                &format!("sample/functions/layer {l}/{k}"),
            ));
            compared += 1;
        }
    }
    // 7 layers x (H + 6 MI + 6 regularity), plus the mean, for three batch splits, plus functions.
    assert!(
        compared >= 3 * (7 + 1) * 13 + 7 * 7,
        "only {compared} values"
    );
    eprintln!("compared {compared} reference values, largest difference {worst:e}");
}

#[test]
fn sample_is_read_as_the_dump_the_reference_saw() {
    let spec = expected();
    let report = analyze(&[]);
    let settings = &report["settings"];
    let eps = spec["modes"]["find-eps"]["temperature"].as_f64().unwrap();
    let ours = settings["temperature"].as_f64().unwrap();
    assert!(
        ((ours - eps) / eps).abs() < 1e-9,
        "temperature {ours} vs {eps}"
    );
    assert_eq!(settings["n_bins"], spec["n_bins"]);
    assert_eq!(settings["seed"], spec["seed"]);
    assert_eq!(settings["orders"], spec["orders"]);
    let input = &report["input"];
    assert_eq!(input["d"], spec["d"]);
    assert_eq!(input["layers_in_file"], spec["layers"]);
    assert_eq!(input["sequences"], spec["sentences"]);
    assert_eq!(input["tokens"], spec["tokens"]);
    assert_eq!(input["sequences_without_positions"], 0);
}
