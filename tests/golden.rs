//! `infoplane analyze --format reference` against the reference package's own numbers.
//!
//! The fixtures in tests/fixtures/golden were written by tests/reference/make_golden.py, which runs
//! `soft-entropy` 0.1.5 (numpy backend) on each dump the way its `llm.py` does, for every
//! calibration mode and several batch splits. Nothing here compares against infoplane's own output.

mod common;

use common::{close_within, fixture, infoplane, stderr, stdout_json};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture("golden"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "json")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 8, "golden fixtures are missing");
    names
}

fn close(ours: &Value, theirs: &Value, what: &str) -> f64 {
    close_within(ours, theirs, TOLERANCE, what)
}

fn mode_args(mode: &str, fixed: f64) -> Vec<String> {
    match mode {
        "fixed" => vec!["--eps".into(), fixed.to_string()],
        m => vec!["--calibration".into(), m.into()],
    }
}

#[test]
fn reference_shape_matches_the_reference_package_for_every_case_and_mode() {
    let mut compared = 0usize;
    let mut worst = 0.0f64;
    let mut worst_at = String::new();
    for case in cases() {
        let spec: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("golden/{case}.json"))).unwrap(),
        )
        .unwrap();
        let npz = fixture(&format!("golden/{case}.npz"));
        let orders: Vec<String> = spec["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.to_string())
            .collect();
        for (mode, expected) in spec["modes"].as_object().unwrap() {
            let mut args: Vec<String> = vec![
                "analyze".into(),
                npz.to_string_lossy().into(),
                "--format".into(),
                "reference".into(),
                "--bins".into(),
                spec["n_bins"].to_string(),
                "--seed".into(),
                spec["seed"].to_string(),
                "--orders".into(),
                orders.join(","),
            ];
            args.extend(mode_args(mode, spec["fixed_eps"].as_f64().unwrap()));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = infoplane(&argv);
            if let Some(err) = expected.get("error") {
                // Only find-eps refuses in our implementation; exact works where scipy underflows.
                if mode == "find-eps" {
                    assert!(
                        !out.status.success(),
                        "{case}/{mode}: reference raised {err}, we did not"
                    );
                    let msg = stderr(&out);
                    assert!(
                        msg.contains("exact"),
                        "{case}: error should point to exact mode: {msg}"
                    );
                    assert_eq!(msg.trim().lines().count(), 1, "one-line error: {msg}");
                } else {
                    assert!(out.status.success(), "{case}/{mode}: {}", stderr(&out));
                }
                continue;
            }
            let ours = stdout_json(&out);
            for (split, theirs) in expected["accumulator"].as_object().unwrap() {
                let their_layers = theirs["per_layer"].as_array().unwrap();
                let our_layers = ours["per_layer"].as_array().unwrap();
                assert_eq!(
                    our_layers.len(),
                    their_layers.len(),
                    "{case}/{mode}: layer count"
                );
                for (l, (o, t)) in our_layers.iter().zip(their_layers).enumerate() {
                    let t = t.as_object().unwrap();
                    assert_eq!(
                        o.as_object().unwrap().keys().collect::<Vec<_>>(),
                        t.keys().collect::<Vec<_>>(),
                        "{case}/{mode}: keys of layer {l}"
                    );
                    for (k, v) in t {
                        let what = format!("{case}/{mode}/batch {split}/layer {l}/{k}");
                        let diff = close(&o[k], v, &what);
                        if diff > worst {
                            (worst, worst_at) = (diff, what);
                        }
                        compared += 1;
                    }
                }
                for (k, v) in theirs["mean"].as_object().unwrap() {
                    let what = format!("{case}/{mode}/batch {split}/mean/{k}");
                    let diff = close(&ours["mean"][k], v, &what);
                    if diff > worst {
                        (worst, worst_at) = (diff, what);
                    }
                    compared += 1;
                }
            }
            if let Some(functions) = expected.get("functions") {
                for (l, t) in functions.as_array().unwrap().iter().enumerate() {
                    for (k, v) in t.as_object().unwrap() {
                        let o = &ours["per_layer"][l][k];
                        let what = format!("{case}/{mode}/functions/layer {l}/{k}");
                        let diff = close(o, v, &what);
                        if diff > worst {
                            (worst, worst_at) = (diff, what);
                        }
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 1000, "only {compared} values compared");
    eprintln!("compared {compared} reference values, largest difference {worst:e} ({worst_at})");
}

#[test]
fn temperature_used_is_the_reference_temperature() {
    for case in cases() {
        let spec: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("golden/{case}.json"))).unwrap(),
        )
        .unwrap();
        let npz = fixture(&format!("golden/{case}.npz"));
        for (mode, expected) in spec["modes"].as_object().unwrap() {
            let Some(eps) = expected.get("temperature").and_then(Value::as_f64) else {
                continue;
            };
            let mut args: Vec<String> = vec![
                "analyze".into(),
                npz.to_string_lossy().into(),
                "--bins".into(),
                spec["n_bins"].to_string(),
                "--orders".into(),
                "1".into(),
                "--layers".into(),
                "0".into(),
            ];
            args.extend(mode_args(mode, spec["fixed_eps"].as_f64().unwrap()));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let report = stdout_json(&infoplane(&argv));
            let ours = report["settings"]["temperature"].as_f64().unwrap();
            assert!(
                ((ours - eps) / eps).abs() < 1e-9,
                "{case}/{mode}: temperature {ours} vs reference {eps}"
            );
        }
    }
}

/// `--exclude-first` against the reference accumulator fed positions [1, L-1) of each sequence
/// (tests/reference/make_exclude_first.py): the reference itself has no such option.
#[test]
fn excluding_the_first_position_matches_the_reference_fed_without_it() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("golden/variants/exclude_first.json")).unwrap(),
    )
    .unwrap();
    for (case, expected) in spec.as_object().unwrap() {
        let npz = fixture(&format!("golden/{case}.npz"));
        let run = |exclude: bool| {
            let (bins, seed) = (expected["n_bins"].to_string(), expected["seed"].to_string());
            let mut argv = vec![
                "analyze",
                npz.to_str().unwrap(),
                "--format",
                "reference",
                "--orders",
                "1",
                "--bins",
                &bins,
                "--seed",
                &seed,
            ];
            if exclude {
                argv.push("--exclude-first");
            }
            stdout_json(&infoplane(&argv))
        };
        let ours = run(true);
        let theirs = &expected["accumulator"];
        let mut compared = 0;
        for (l, t) in theirs["per_layer"].as_array().unwrap().iter().enumerate() {
            for (k, v) in t.as_object().unwrap() {
                close(
                    &ours["per_layer"][l][k],
                    v,
                    &format!("{case}/layer {l}/{k}"),
                );
                compared += 1;
            }
        }
        assert!(compared >= 10, "{case}: too few values compared");
        // Without the option the first positions count, and the numbers move.
        let with_first = run(false);
        let moved = (with_first["mean"]["H(Z)"].as_f64().unwrap()
            - theirs["mean"]["H(Z)"].as_f64().unwrap())
        .abs();
        assert!(
            moved > 1e-6,
            "{case}: excluding the first position changed nothing"
        );
    }
}

/// Seeds, shuffles, minimum count, back-off, centring and excluded tokens against the reference
/// accumulator fed the same rows and labels, each built independently in numpy
/// (tests/reference/make_options.py; the shuffles are numpy's own permutations).
#[test]
fn label_and_seed_options_match_the_reference_fed_the_same_labels() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("golden/variants/options.json")).unwrap(),
    )
    .unwrap();
    let mut compared = 0usize;
    let mut worst = 0.0f64;
    for (case, expected) in spec.as_object().unwrap() {
        let npz = fixture(&format!("golden/{case}.npz"));
        let run = |extra: &[&str]| {
            let (bins, seed) = (expected["n_bins"].to_string(), expected["seed"].to_string());
            let argv = [
                &[
                    "analyze",
                    npz.to_str().unwrap(),
                    "--orders",
                    "1,2",
                    "--bins",
                    &bins,
                    "--seed",
                    &seed,
                ][..],
                extra,
            ]
            .concat();
            let out = infoplane(&argv);
            assert!(out.status.success(), "{case} {extra:?}: {}", stderr(&out));
            stdout_json(&out)
        };
        let mut check = |ours: &Value, theirs: &Value, what: String| {
            if theirs.is_null() {
                assert!(ours.is_null(), "{what}: {ours} but the reference has none");
            } else {
                worst = worst.max(close(ours, theirs, &what));
            }
            compared += 1;
        };
        let set = |layer: &Value, name: &str| -> Value {
            let (dir, order) = name.split_once('_').unwrap();
            if order == "backoff" {
                return layer["backoff"][dir].clone();
            }
            let k = ["unigram", "bigram"]
                .iter()
                .position(|o| *o == order)
                .unwrap();
            layer["orders"][k][dir].clone()
        };
        let names = [
            "input_unigram",
            "output_unigram",
            "input_bigram",
            "output_bigram",
        ];

        let seeds = run(&["--seeds", "5", "--shuffles", "0"]);
        for (l, t) in expected["seeds"]["per_layer"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let layer = &seeds["layers"][l];
            check(
                &layer["entropy"],
                &t["H"]["mean"],
                format!("{case}/seeds/{l}/H"),
            );
            check(
                &layer["entropy_sd"],
                &t["H"]["sd"],
                format!("{case}/seeds/{l}/H sd"),
            );
            for n in names {
                let s = set(layer, n);
                let what = format!("{case}/seeds/{l}/{n}");
                check(&s["mutual_information"], &t["I"][n]["mean"], what.clone());
                check(&s["mutual_information_sd"], &t["I"][n]["sd"], what + " sd");
            }
        }

        let shuffles = run(&["--shuffles", "5", "--shuffle-seed", "0"]);
        for (l, t) in expected["shuffles"]["per_layer"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            for n in names {
                let s = set(&shuffles["layers"][l], n);
                let what = format!("{case}/shuffles/{l}/{n}");
                check(&s["mutual_information"], &t[n]["I"], what.clone());
                check(
                    &s["baseline"]["mean"],
                    &t[n]["baseline_mean"],
                    what.clone() + " baseline",
                );
                check(
                    &s["baseline"]["sd"],
                    &t[n]["baseline_sd"],
                    what.clone() + " sd",
                );
                check(&s["corrected"], &t[n]["corrected"], what + " corrected");
            }
        }

        let min_count = run(&["--min-count", "2"]);
        for (l, t) in expected["min_count"]["per_layer"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            for n in names {
                let s = set(&min_count["layers"][l], n);
                let what = format!("{case}/min-count/{l}/{n}");
                check(&s["mutual_information"], &t[n]["I"], what.clone());
                check(&s["entropy"], &t[n]["H"], what.clone() + " H");
                assert_eq!(s["rows"], t[n]["rows"], "{what} rows");
            }
        }

        let backoff = run(&["--backoff", "2"]);
        for n in ["input_backoff", "output_backoff"] {
            let ours: Vec<u64> = backoff["input"]["backoff"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["name"] == n)
                .map(|b| serde_json::from_value(b["positions"].clone()).unwrap())
                .unwrap();
            let theirs: Vec<u64> =
                serde_json::from_value(expected["backoff"]["shares"][n].clone()).unwrap();
            assert_eq!(ours, theirs, "{case} {n} positions per order");
        }
        for (l, t) in expected["backoff"]["per_layer"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            for n in ["input_backoff", "output_backoff"] {
                let s = set(&backoff["layers"][l], n);
                check(
                    &s["mutual_information"],
                    &t[n],
                    format!("{case}/backoff/{l}/{n}"),
                );
            }
        }

        let ids: Vec<String> = expected["exclude_tokens"]["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        for (variant, extra) in [
            ("centre", vec!["--centre".to_owned()]),
            (
                "exclude_tokens",
                vec!["--exclude-tokens".to_owned(), ids.join(",")],
            ),
        ] {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let ours = run(&extra);
            for (l, t) in expected[variant]["per_layer"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
            {
                let layer = &ours["layers"][l];
                check(
                    &layer["entropy"],
                    &t["H"],
                    format!("{case}/{variant}/{l}/H"),
                );
                for n in names {
                    let s = set(layer, n);
                    check(
                        &s["mutual_information"],
                        &t["I"][n],
                        format!("{case}/{variant}/{l}/{n}"),
                    );
                }
            }
        }
    }
    println!("options: {compared} values compared, worst difference {worst:.2e}");
    assert!(compared > 200, "only {compared} values compared");
}
