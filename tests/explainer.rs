//! The explainer's numbers are the analyser's: a 3-D cloud of labelled points explained by
//! `infoplane::explainer` gives the H(Z), I(X;Z), regularity and ceiling that `infoplane analyze`
//! prints for the same points written as a dump, with the same bins, seed and temperature.

mod common;

use common::{f32_bytes, i64_bytes, infoplane, npy, stderr, stdout_json, write_npz};
use infoplane::estimator::rng::Pcg64;
use infoplane::estimator::{calibration, Calibration};
use infoplane::explainer::{explain, Cloud};

#[test]
fn explained_cloud_equals_the_cli_on_the_same_points() {
    let (n, d, bins, seed) = (150usize, 3usize, 20usize, 3u64);
    // Three loose clusters, stored as float32 so the dump holds exactly these values.
    let mut r = Pcg64::from_seed(9);
    let centres = [[1.0, 0.2, 0.1], [-0.3, 1.0, 0.4], [0.1, -0.5, 1.0]];
    let mut points = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        labels.push(c as u32);
        for v in centres[c] {
            points.push(f64::from((v + 0.4 * r.standard_normal()) as f32));
        }
    }
    let dir = std::env::temp_dir().join(format!("infoplane-explainer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cloud.npz");
    let as_f32: Vec<f32> = points.iter().map(|&v| v as f32).collect();
    let as_i64: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    write_npz(
        &path,
        &[
            (
                "hidden_states",
                npy("<f4", &format!("(1, {n}, {d})"), &f32_bytes(&as_f32)),
            ),
            (
                "labels",
                npy("<i8", &format!("({n},)"), &i64_bytes(&as_i64)),
            ),
        ],
    );
    for temperature in [Some(0.15), None] {
        let eps = temperature
            .unwrap_or_else(|| calibration::temperature(Calibration::Exact, bins, d).unwrap());
        let e = explain(&Cloud {
            points: &points,
            d,
            labels: &labels,
            n_bins: bins,
            seed,
            calibration: temperature.map_or(Calibration::Exact, Calibration::Fixed),
            shuffles: 0,
            shuffle_seed: 0,
            per_point: true,
        })
        .unwrap();
        assert_eq!(e.temperature, eps);
        let out = infoplane(&[
            "analyze",
            path.to_str().unwrap(),
            "--ids",
            "none",
            "--bins",
            &bins.to_string(),
            "--seed",
            &seed.to_string(),
            "--eps",
            &format!("{eps:e}"),
            "--shuffles",
            "0",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report = stdout_json(&out);
        let layer = &report["layers"][0];
        let set = &layer["label_sets"][0];
        let pairs = [
            ("H(Z)", layer["entropy"].as_f64().unwrap(), e.entropy),
            ("ceiling", layer["ceiling"].as_f64().unwrap(), e.ceiling),
            (
                "I",
                set["mutual_information"].as_f64().unwrap(),
                e.mutual_information,
            ),
            (
                "regularity",
                set["regularity"].as_f64().unwrap(),
                e.regularity,
            ),
        ];
        for (what, cli, ours) in pairs {
            assert!(
                (cli - ours).abs() < 1e-12,
                "{what} at ε {eps}: CLI {cli} vs explainer {ours}"
            );
        }
        assert!(e.mutual_information > 0.01, "clusters carry information");
    }
    std::fs::remove_dir_all(&dir).ok();
}
