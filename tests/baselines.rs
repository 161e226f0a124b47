//! Known answers for the bias diagnostics: identical labels carry no information, labels unrelated
//! to the rows are corrected to their shuffled baseline's noise, labels that name tight clusters
//! reach the ceiling, and shards, merges and batch sizes leave the baselines unchanged.

mod common;

use std::path::PathBuf;

use common::{f32_bytes, fixture, i64_bytes, infoplane, npy, stderr, stdout_json, write_npz};
use infoplane::estimator::rng::Pcg64;
use serde_json::Value;

/// Writes `rows` (N × d, one layer, no token ids) and a `labels` column to a temporary `.npz`.
fn plain_dump(name: &str, rows: &[f32], d: usize, labels: &[i64]) -> PathBuf {
    let n = labels.len();
    assert_eq!(rows.len(), n * d);
    let dir = std::env::temp_dir().join(format!("infoplane-baselines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.npz"));
    write_npz(
        &path,
        &[
            (
                "hidden_states",
                npy("<f4", &format!("(1, {n}, {d})"), &f32_bytes(rows)),
            ),
            ("labels", npy("<i8", &format!("({n},)"), &i64_bytes(labels))),
        ],
    );
    path
}

fn isotropic(seed: u64, n: usize, d: usize) -> Vec<f32> {
    let mut r = Pcg64::from_seed(seed);
    (0..n * d).map(|_| r.standard_normal() as f32).collect()
}

fn analyze(path: &std::path::Path, extra: &[&str]) -> Value {
    let out = infoplane(&[&["analyze", path.to_str().unwrap(), "--ids", "none"], extra].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn identical_labels_give_zero_information_exactly() {
    let d = 16;
    let rows = isotropic(1, 400, d);
    let path = plain_dump("identical", &rows, d, &[7; 400]);
    let report = analyze(&path, &[]);
    let set = &report["layers"][0]["label_sets"][0];
    assert_eq!(set["name"], "labels");
    assert_eq!(f(&set["mutual_information"]), 0.0);
    assert_eq!(f(&set["baseline"]["mean"]), 0.0);
    assert_eq!(f(&set["corrected"]), 0.0);
    assert_eq!(set["distinct_labels"], 1);
}

/// method.md §7: on 768-d isotropic data, N = 5000, random labels with K values give
/// I ≈ 0.006 (K = 10), 0.056 (100), 0.272 (1000), 0.570 (all unique) with the reference at the
/// defaults, although the truth is 0.
#[test]
fn random_labels_are_corrected_to_their_baseline_noise() {
    let (n, d) = (5000, 768);
    let rows = isotropic(2, n, d);
    let mut r = Pcg64::from_seed(3);
    for (k, reference) in [(10u64, 0.006), (100, 0.056), (1000, 0.272), (5000, 0.570)] {
        let labels: Vec<i64> = if k as usize == n {
            (0..n as i64).collect()
        } else {
            (0..n).map(|_| (r.next_u64() % k) as i64).collect()
        };
        let path = plain_dump(&format!("random{k}"), &rows, d, &labels);
        let report = analyze(&path, &[]);
        let layer = &report["layers"][0];
        let set = &layer["label_sets"][0];
        let raw = f(&set["mutual_information"]);
        let ceiling = f(&layer["ceiling"]);
        let (mean, sd) = (f(&set["baseline"]["mean"]), f(&set["baseline"]["sd"]));
        let corrected = f(&set["corrected"]);
        println!(
            "K = {k}: raw I {raw:.4} (reference run {reference}), ceiling {ceiling:.4}, \
             baseline {mean:.4} ± {sd:.2e}, corrected {corrected:.2e}"
        );
        // The raw estimate shows the bias the reference shows...
        assert!(
            (raw - reference).abs() <= 0.1 * reference + 0.002,
            "K = {k}: raw I {raw} vs {reference}"
        );
        // ...and the correction removes it, to within two baseline standard deviations.
        assert!((corrected - (raw - mean)).abs() < 1e-12);
        assert!(
            corrected.abs() <= 2.0 * sd,
            "K = {k}: corrected {corrected} vs baseline sd {sd}"
        );
        // The report says so in words when the baseline explains most of I.
        let notes = report["notes"].as_array().unwrap();
        if k >= 100 {
            assert!(
                notes.iter().any(|t| t
                    .as_str()
                    .unwrap()
                    .starts_with("labels: labels with the same counts but shuffled")),
                "K = {k}: {notes:?}"
            );
        }
        if k as usize == n {
            // All unique: every label is its own histogram, so I is the ceiling, and so is
            // every shuffled copy's I.
            assert!((raw - ceiling).abs() < 1e-12, "{raw} vs ceiling {ceiling}");
            assert!((mean - ceiling).abs() < 1e-12);
            assert_eq!(set["distinct_labels"], n);
        } else {
            assert!(raw < ceiling);
        }
    }
}

#[test]
fn labels_naming_tight_clusters_reach_the_ceiling() {
    let (n, d, clusters) = (2000, 64, 10);
    let centres = isotropic(4, clusters, d);
    let noise = isotropic(5, n, d);
    let mut rows = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % clusters;
        labels.push(c as i64);
        rows.extend((0..d).map(|j| centres[c * d + j] + 0.01 * noise[i * d + j]));
    }
    let path = plain_dump("clusters", &rows, d, &labels);
    let report = analyze(&path, &[]);
    let layer = &report["layers"][0];
    let set = &layer["label_sets"][0];
    let (raw, ceiling) = (f(&set["mutual_information"]), f(&layer["ceiling"]));
    assert!(raw > 0.99 * ceiling, "I {raw} vs ceiling {ceiling}");
    assert!(raw <= ceiling + 1e-12);
    // Ten frequent labels: the shuffled baseline is small and the correction barely moves I.
    let baseline = f(&set["baseline"]["mean"]);
    assert!(baseline < 0.01 * raw, "baseline {baseline} vs I {raw}");
    assert_eq!(report["notes"], serde_json::json!([]));
}

/// Shards of one dump, saved and merged, give the whole run's numbers, baselines, back-off shares
/// and seed spread included: labels are counted and shuffled over the whole data in both.
#[test]
fn shards_and_merges_keep_the_baselines() {
    let npz = fixture("golden/d768_bins100_seed0.npz");
    let npz = npz.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("infoplane-baseline-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = [
        "--orders",
        "1,2",
        "--seeds",
        "2",
        "--shuffles",
        "3",
        "--backoff",
        "2",
        "--min-count",
        "2",
        "--centre",
    ];
    let whole = stdout_json(&infoplane(&[&["analyze", npz], &options[..]].concat()));
    let mut states = Vec::new();
    for range in ["0..2", "2..5"] {
        let path = dir.join(format!("{range}.state"));
        let out = infoplane(
            &[
                &["analyze", npz, "--sequences", range, "--save-state"],
                &[path.to_str().unwrap()][..],
                &options[..],
            ]
            .concat(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        states.push(path);
    }
    let merged = stdout_json(&infoplane(&[
        "merge",
        states[0].to_str().unwrap(),
        states[1].to_str().unwrap(),
    ]));
    let mut compared = 0;
    fn walk(a: &Value, b: &Value, path: &str, compared: &mut usize) {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!((x - y).abs() <= 1e-12, "{path}: whole {x} vs merged {y}");
                *compared += 1;
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}");
                for (i, (x, y)) in x.iter().zip(y).enumerate() {
                    walk(x, y, &format!("{path}/{i}"), compared);
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    walk(v, &y[k], &format!("{path}/{k}"), compared);
                }
            }
            _ => assert_eq!(a, b, "{path}"),
        }
    }
    walk(&whole["layers"], &merged["layers"], "layers", &mut compared);
    walk(&whole["mean"], &merged["mean"], "mean", &mut compared);
    assert!(compared > 200, "only {compared} numbers compared");
    assert_eq!(whole["input"]["backoff"], merged["input"]["backoff"]);
    assert_eq!(whole["input"]["label_data"], merged["input"]["label_data"]);
    let layer = &whole["layers"][1];
    assert!(layer["orders"][0]["input"]["baseline"]["sd"].is_number());
    assert!(layer["orders"][0]["complexity_sd"].is_number());
    assert!(layer["backoff"]["complexity"].is_number());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The accumulator fed the same rows and labels (shuffled copies included) in batches of 1, 7 and
/// all rows holds the same counts, so the baselines are the same to the bit.
#[test]
fn batch_splits_do_not_change_baselines() {
    use infoplane::estimator::{EstimatorConfig, SoftEntropyAccumulator};
    use infoplane::labels::{self, LabelOptions, NamedColumn};
    let (n, d) = (300, 32);
    let rows = isotropic(6, n, d);
    let mut r = Pcg64::from_seed(7);
    let keys: Vec<u128> = (0..n).map(|_| u128::from(r.next_u64() % 40)).collect();
    let options = LabelOptions {
        shuffles: 4,
        min_count: 3,
        ..LabelOptions::default()
    };
    let plan = labels::plan_rows(
        n,
        vec![NamedColumn {
            name: "y".into(),
            keys,
        }],
        &options,
    );
    let names = ["y", "y1", "y2", "y3", "y4"];
    let columns: Vec<&[u128]> = plan
        .labels
        .iter()
        .chain(&plan.shuffled)
        .map(|c| &c[..])
        .collect();
    let view = ndarray::ArrayView2::from_shape((n, d), &rows).unwrap();
    let run = |batch: usize| {
        let mut acc = SoftEntropyAccumulator::new(EstimatorConfig::default(), d, &names).unwrap();
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            let slices: Vec<&[u128]> = columns.iter().map(|c| &c[start..end]).collect();
            acc.update(view.slice(ndarray::s![start..end, ..]), &slices)
                .unwrap();
            start = end;
        }
        (0..names.len())
            .map(|s| acc.mutual_information(s).to_bits())
            .collect::<Vec<_>>()
    };
    let whole = run(n);
    assert_eq!(run(1), whole);
    assert_eq!(run(7), whole);
    // The copies differ from the labels (and each other), so the comparison means something.
    assert!(whole[1..].iter().all(|&b| b != whole[0]));
}
