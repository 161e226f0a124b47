//! Shards merge exactly: the states of two halves of a dump, merged, give the numbers of the whole.

mod common;

use common::{fixture, infoplane, stderr, stdout_json};
use serde_json::Value;

fn numbers(v: &Value, path: String, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => out.push((path, n.as_f64().unwrap())),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| numbers(x, format!("{path}/{i}"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| numbers(x, format!("{path}/{k}"), out)),
        _ => {}
    }
}

fn merged_equals_whole(case: &str, bins: &str, split: usize, sequences: usize) {
    let npz = fixture(&format!("golden/{case}.npz"));
    let npz = npz.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("infoplane-merge-{case}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.state");
    let b = dir.join("b.state");
    let common = ["--bins", bins, "--orders", "1,2,3"];
    let whole = stdout_json(&infoplane(
        &[&["analyze", npz, "--format", "reference"], &common[..]].concat(),
    ));
    for (range, path) in [
        (format!("0..{split}"), &a),
        (format!("{split}..{sequences}"), &b),
    ] {
        let out = infoplane(
            &[
                &[
                    "analyze",
                    npz,
                    "--sequences",
                    &range,
                    "--save-state",
                    path.to_str().unwrap(),
                ],
                &common[..],
            ]
            .concat(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let merged = stdout_json(&infoplane(&[
        "merge",
        "--format",
        "reference",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]));
    let (mut w, mut m) = (Vec::new(), Vec::new());
    numbers(&whole, String::new(), &mut w);
    numbers(&merged, String::new(), &mut m);
    assert_eq!(w.len(), m.len());
    assert!(w.len() > 20);
    for ((pw, vw), (pm, vm)) in w.iter().zip(&m) {
        assert_eq!(pw, pm);
        assert!(
            (vw - vm).abs() <= 1e-12,
            "{case} {pw}: whole {vw} vs merged {vm}"
        );
    }
    // The documented report of the merge counts both halves.
    let report = stdout_json(&infoplane(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]));
    assert_eq!(report["input"]["sequences"], sequences);
    assert_eq!(report["input"]["files"].as_array().unwrap().len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn halves_of_a_flat_dump_merge_to_the_whole() {
    merged_equals_whole("d768_bins100_seed0", "100", 2, 5);
}

#[test]
fn halves_of_a_padded_dump_merge_to_the_whole() {
    merged_equals_whole("d8_bins100_seed1", "100", 4, 9);
}

#[test]
fn states_of_different_settings_do_not_merge() {
    let npz = fixture("golden/d8_bins100_seed1.npz");
    let npz = npz.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("infoplane-merge-refuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.state");
    let b = dir.join("b.state");
    assert!(infoplane(&[
        "analyze",
        npz,
        "--bins",
        "100",
        "--save-state",
        a.to_str().unwrap()
    ])
    .status
    .success());
    assert!(infoplane(&[
        "analyze",
        npz,
        "--bins",
        "50",
        "--save-state",
        b.to_str().unwrap()
    ])
    .status
    .success());
    let out = infoplane(&["merge", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot merge"), "{}", stderr(&out));

    // A damaged state is refused with a message naming it, not a panic.
    let bytes = std::fs::read(&a).unwrap();
    let cut = dir.join("cut.state");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let out = infoplane(&["merge", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cut.state: state file is"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
