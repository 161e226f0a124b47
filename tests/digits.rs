//! The explainer's digits data set (`www/explainer/digits.npz`) against the reference package's
//! numbers for it (`tests/fixtures/explainer/digits_reference.json`, written by
//! tests/reference/make_digits.py): H(Z), I(digit; Z), regularity and the shuffled-label baseline
//! for both calibrations and two seeds, and H, I as classes are added, through `infoplane analyze`
//! and through the explainer's own core (what its digits view shows: those numbers, per-class
//! regularity and the 2-D projection, against numpy's eigh).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use infoplane::estimator::Calibration;
use infoplane::explainer::data::LabelledRows;
use infoplane::explainer::projection::principal_components;
use infoplane::explainer::{explain, Cloud};

use common::{close_within, f32_bytes, fixture, i64_bytes, infoplane, npy, stdout_json, write_npz};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

fn digits_npz() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("www/explainer/digits.npz")
}

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture("explainer/digits_reference.json")).unwrap(),
    )
    .unwrap()
}

/// The rows and labels of digits.npz, read with zip + npyz rather than infoplane's own readers.
fn read_digits() -> (Vec<f32>, Vec<i64>, usize) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(digits_npz()).unwrap()).unwrap();
    let mut member = |name: &str| {
        let mut bytes = Vec::new();
        zip.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
        npyz::NpyFile::new(std::io::Cursor::new(bytes)).unwrap()
    };
    let hs = member("hidden_states.npy");
    let shape = hs.shape().to_vec();
    assert_eq!(shape.len(), 3, "hidden_states {shape:?}");
    assert_eq!(shape[0], 1, "hidden_states {shape:?}");
    let rows = hs.into_vec::<f32>().unwrap();
    let labels = member("labels.npy").into_vec::<i64>().unwrap();
    assert_eq!(shape[1] as usize, labels.len());
    (rows, labels, shape[2] as usize)
}

fn analyze(path: &Path, args: &[&str]) -> Value {
    stdout_json(&infoplane(
        &[&["analyze", path.to_str().unwrap(), "--ids", "none"], args].concat(),
    ))
}

fn run_args(calibration: &str, seed: &str, shuffles: &str, shuffle_seed: &str) -> Vec<String> {
    [
        "--calibration",
        calibration,
        "--seed",
        seed,
        "--bins",
        "100",
        "--shuffles",
        shuffles,
        "--shuffle-seed",
        shuffle_seed,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn digits_match_the_reference_for_both_calibrations_and_seeds() {
    let spec = reference();
    assert_eq!(spec["n_bins"], 100);
    let (shuffles, shuffle_seed) = (
        spec["shuffles"]["k"].to_string(),
        spec["shuffles"]["shuffle_seed"].to_string(),
    );
    let runs = spec["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "find-eps and leading-order, seeds 0 and 1");
    let (mut compared, mut worst) = (0usize, 0.0f64);
    for run in runs {
        let (calibration, seed) = (
            run["calibration"].as_str().unwrap(),
            run["seed"].to_string(),
        );
        let args = run_args(calibration, &seed, &shuffles, &shuffle_seed);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let report = analyze(&digits_npz(), &argv);
        let what = format!("{calibration}/seed {seed}");
        assert_eq!(report["settings"]["calibration"], calibration, "{what}");
        let layers = report["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "{what}: one layer of plain rows");
        let layer = &layers[0];
        assert_eq!(layer["rows"], spec["n_rows"], "{what}");
        assert_eq!(layer["rows_skipped"], 0, "{what}");
        let set = &layer["label_sets"][0];
        assert_eq!(set["name"], "labels", "{what}");
        assert_eq!(set["distinct_labels"], spec["classes"], "{what}");
        assert_eq!(set["baseline"]["shuffles"], spec["shuffles"]["k"], "{what}");
        for (ours, theirs, name) in [
            (
                &report["settings"]["temperature"],
                &run["temperature"],
                "temperature",
            ),
            (&layer["entropy"], &run["entropy"], "H(Z)"),
            (
                &set["mutual_information"],
                &run["mutual_information"],
                "I(X;Z)",
            ),
            (&set["regularity"], &run["regularity"], "regularity"),
            (
                &set["baseline"]["mean"],
                &run["baseline"]["mean"],
                "baseline mean",
            ),
            (
                &set["baseline"]["sd"],
                &run["baseline"]["sd"],
                "baseline sd",
            ),
            (&set["corrected"], &run["corrected"], "corrected"),
        ] {
            worst = worst.max(close_within(
                ours,
                theirs,
                TOLERANCE,
                &format!("{what}/{name}"),
            ));
            compared += 1;
        }
    }
    assert_eq!(compared, 28);
    eprintln!("compared {compared} reference values, largest difference {worst:e}");
}

/// The reference notebook's "how they change as classes are added": rows whose digit is below c,
/// in their original order, written to a temporary npz and analysed like the whole set.
#[test]
fn digits_match_the_reference_as_classes_are_added() {
    let spec = reference();
    let view = &spec["classes_added"];
    let (rows, labels, d) = read_digits();
    assert_eq!(d, spec["d"].as_u64().unwrap() as usize);
    let counts: Vec<u64> = (0..10)
        .map(|c| labels.iter().filter(|&&l| l == c).count() as u64)
        .collect();
    assert_eq!(
        serde_json::json!(counts),
        spec["class_counts"],
        "digits.npz is not the data the fixture was made from"
    );
    let dir = std::env::temp_dir().join(format!("infoplane-digits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = run_args(
        view["calibration"].as_str().unwrap(),
        &view["seed"].to_string(),
        "0",
        "0",
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mut compared, mut worst) = (0usize, 0.0f64);
    let per_count = view["per_count"].as_array().unwrap();
    assert_eq!(per_count.len(), 9, "c = 2..10");
    for entry in per_count {
        let c = entry["classes"].as_i64().unwrap();
        let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] < c).collect();
        assert_eq!(
            keep.len() as u64,
            entry["rows"].as_u64().unwrap(),
            "c = {c}"
        );
        let sub_rows: Vec<f32> = keep
            .iter()
            .flat_map(|&i| rows[i * d..(i + 1) * d].iter().copied())
            .collect();
        let sub_labels: Vec<i64> = keep.iter().map(|&i| labels[i]).collect();
        let n = keep.len();
        let path = dir.join(format!("below{c}.npz"));
        write_npz(
            &path,
            &[
                (
                    "hidden_states",
                    npy("<f4", &format!("(1, {n}, {d})"), &f32_bytes(&sub_rows)),
                ),
                (
                    "labels",
                    npy("<i8", &format!("({n},)"), &i64_bytes(&sub_labels)),
                ),
            ],
        );
        let report = analyze(&path, &argv);
        let layer = &report["layers"][0];
        assert_eq!(layer["rows"], n, "c = {c}");
        let set = &layer["label_sets"][0];
        assert_eq!(set["distinct_labels"], c, "c = {c}");
        worst = worst.max(close_within(
            &layer["entropy"],
            &entry["entropy"],
            TOLERANCE,
            &format!("classes < {c}/H(Z)"),
        ));
        worst = worst.max(close_within(
            &set["mutual_information"],
            &entry["mutual_information"],
            TOLERANCE,
            &format!("classes < {c}/I(X;Z)"),
        ));
        compared += 2;
    }
    std::fs::remove_dir_all(&dir).unwrap();
    eprintln!("compared {compared} reference values, largest difference {worst:e}");
}

/// The comparison can fail: a wrong seed, a wrong calibration or one wrong label each move the
/// numbers by far more than the tolerance.
#[test]
fn a_wrong_setting_or_label_is_caught() {
    let spec = reference();
    let run = &spec["runs"][0];
    assert_eq!(run["calibration"], "find-eps");
    assert_eq!(run["seed"], 0);
    let differs = |report: &Value, what: &str| {
        let layer = &report["layers"][0];
        let dh = (layer["entropy"].as_f64().unwrap() - run["entropy"].as_f64().unwrap()).abs();
        let di = (layer["label_sets"][0]["mutual_information"]
            .as_f64()
            .unwrap()
            - run["mutual_information"].as_f64().unwrap())
        .abs();
        assert!(
            dh.max(di) > 100.0 * TOLERANCE,
            "{what}: H moved {dh:e}, I moved {di:e}"
        );
    };
    for (calibration, seed, what) in [
        ("find-eps", "1", "seed 1 instead of 0"),
        ("leading-order", "0", "leading-order instead of find-eps"),
    ] {
        let args = run_args(calibration, seed, "0", "0");
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        differs(&analyze(&digits_npz(), &argv), what);
    }
    let (rows, mut labels, d) = read_digits();
    labels[0] = (labels[0] + 1) % 10;
    let n = labels.len();
    let dir = std::env::temp_dir().join(format!("infoplane-digits-wrong-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("one_wrong_label.npz");
    write_npz(
        &path,
        &[
            (
                "hidden_states",
                npy("<f4", &format!("(1, {n}, {d})"), &f32_bytes(&rows)),
            ),
            (
                "labels",
                npy("<i8", &format!("({n},)"), &i64_bytes(&labels)),
            ),
        ],
    );
    let args = run_args("find-eps", "0", "0", "0");
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = analyze(&path, &argv);
    std::fs::remove_dir_all(&dir).unwrap();
    let di = (report["layers"][0]["label_sets"][0]["mutual_information"]
        .as_f64()
        .unwrap()
        - run["mutual_information"].as_f64().unwrap())
    .abs();
    assert!(
        di > 10.0 * TOLERANCE,
        "one wrong label moved I by only {di:e}"
    );
}

/// digits.npz read as the explainer page reads it: the analyser's own file readers.
fn explainer_digits() -> LabelledRows {
    let path = digits_npz();
    let len = std::fs::metadata(&path).unwrap().len();
    let mut opened = infoplane::formats::open::open(
        "digits.npz",
        std::fs::File::open(&path).unwrap(),
        len,
        None,
    )
    .unwrap();
    let data = LabelledRows::read(opened.file.as_mut()).unwrap();
    let (rows, labels, d) = read_digits();
    assert_eq!(data.d, d);
    assert!(data
        .rows
        .iter()
        .zip(&rows)
        .all(|(a, &b)| *a == f64::from(b)));
    assert!(data
        .labels
        .iter()
        .zip(&labels)
        .all(|(&a, &b)| i64::from(a) == b));
    data
}

fn explain_digits(
    data: &LabelledRows,
    calibration: &str,
    seed: u64,
    shuffles: usize,
) -> infoplane::explainer::Explanation {
    explain(&Cloud {
        points: &data.rows,
        d: data.d,
        labels: &data.labels,
        n_bins: 100,
        seed,
        calibration: Calibration::parse(calibration).unwrap(),
        shuffles,
        shuffle_seed: 0,
        per_point: false,
    })
    .unwrap()
}

fn close(ours: f64, theirs: &Value, what: &str) -> f64 {
    close_within(&serde_json::json!(ours), theirs, TOLERANCE, what)
}

/// What the explainer's digits view shows, from its own core: every run's numbers, each shuffled
/// copy, per-class H(Z|X) and regularity, and H, I as classes are added.
#[test]
fn the_explainer_core_gives_the_reference_digits_numbers() {
    let spec = reference();
    let data = explainer_digits();
    let k = spec["shuffles"]["k"].as_u64().unwrap() as usize;
    assert_eq!(spec["shuffles"]["shuffle_seed"], 0);
    let (mut compared, mut worst) = (0usize, 0.0f64);
    let mut check = |ours: f64, theirs: &Value, what: String| {
        worst = worst.max(close(ours, theirs, &what));
        compared += 1;
    };
    for run in spec["runs"].as_array().unwrap() {
        let calibration = run["calibration"].as_str().unwrap();
        let seed = run["seed"].as_u64().unwrap();
        let e = explain_digits(&data, calibration, seed, k);
        let what = format!("{calibration}/seed {seed}");
        let b = e.baseline.as_ref().unwrap();
        check(e.temperature, &run["temperature"], format!("{what}/ε"));
        check(e.entropy, &run["entropy"], format!("{what}/H"));
        check(
            e.mutual_information,
            &run["mutual_information"],
            format!("{what}/I"),
        );
        check(
            e.regularity,
            &run["regularity"],
            format!("{what}/regularity"),
        );
        check(b.mean, &run["baseline"]["mean"], format!("{what}/baseline"));
        check(
            b.sd.unwrap(),
            &run["baseline"]["sd"],
            format!("{what}/baseline sd"),
        );
        check(b.corrected, &run["corrected"], format!("{what}/corrected"));
        for (i, v) in b.values.iter().enumerate() {
            check(*v, &run["shuffled"][i], format!("{what}/shuffled copy {i}"));
        }
        assert_eq!(b.values.len(), k);
    }
    let view = &spec["per_class_regularity"];
    let e = explain_digits(
        &data,
        view["calibration"].as_str().unwrap(),
        view["seed"].as_u64().unwrap(),
        0,
    );
    assert!(e.baseline.is_none());
    let per_class = view["per_class"].as_array().unwrap();
    assert_eq!(e.classes.len(), per_class.len());
    for (class, theirs) in e.classes.iter().zip(per_class) {
        assert_eq!(u64::from(class.label), theirs["digit"].as_u64().unwrap());
        assert_eq!(class.points as u64, theirs["rows"].as_u64().unwrap());
        check(
            class.entropy,
            &theirs["conditional_entropy"],
            format!("H(Z|{})", class.label),
        );
        check(
            class.regularity,
            &theirs["regularity"],
            format!("regularity of {}", class.label),
        );
    }
    let view = &spec["classes_added"];
    for entry in view["per_count"].as_array().unwrap() {
        let c = entry["classes"].as_u64().unwrap() as usize;
        let subset = data.first_classes(c);
        assert_eq!(subset.labels.len() as u64, entry["rows"].as_u64().unwrap());
        let e = explain_digits(
            &subset,
            view["calibration"].as_str().unwrap(),
            view["seed"].as_u64().unwrap(),
            0,
        );
        check(e.entropy, &entry["entropy"], format!("classes < {c}/H"));
        check(
            e.mutual_information,
            &entry["mutual_information"],
            format!("classes < {c}/I"),
        );
    }
    assert_eq!(compared, 4 * (7 + 5) + 2 * 10 + 2 * 9);
    eprintln!("compared {compared} reference values, largest difference {worst:e}");
}

/// The digits view's picture: the first two principal components, against numpy's eigh.
#[test]
fn the_digits_projection_matches_numpy() {
    let spec = reference();
    let view = &spec["projection"];
    let data = explainer_digits();
    let p = principal_components(&data.rows, data.d);
    let mut worst = 0.0f64;
    for k in 0..2 {
        worst = worst.max(close(
            p.variance_ratio[k],
            &view["variance_ratio"][k],
            &format!("variance ratio {k}"),
        ));
        for j in 0..data.d {
            worst = worst.max(close(
                p.components[k * data.d + j],
                &view["components"][k][j],
                &format!("component {k}[{j}]"),
            ));
        }
    }
    let every = view["every"].as_u64().unwrap() as usize;
    let rows = view["coordinates"].as_array().unwrap();
    assert_eq!(rows.len(), data.labels.len().div_ceil(every));
    for (r, theirs) in rows.iter().enumerate() {
        for k in 0..2 {
            worst = worst.max(close(
                p.coordinates[2 * r * every + k],
                &theirs[k],
                &format!("row {} coordinate {k}", r * every),
            ));
        }
    }
    eprintln!("projection: largest difference {worst:e}");
}
