//! Bad input gets a one-line error naming the file, the tensor and the problem; never a panic, a
//! hang or an allocation sized by a lying header. Rows that cannot be normalised are skipped and
//! counted.

mod common;

use common::{f32_bytes, flat_dump, i64_bytes, infoplane, npy, stderr, stdout_json, write_npz};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("infoplane-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `analyze` on a file made of `members` and returns the error line.
fn error_for(name: &str, members: &[(&str, Vec<u8>)]) -> String {
    let path = temp(name);
    write_npz(&path, members);
    let out = infoplane(&[
        "analyze",
        path.to_str().unwrap(),
        "--bins",
        "10",
        "--orders",
        "1",
    ]);
    assert!(!out.status.success(), "{name} was accepted");
    assert_eq!(out.status.code(), Some(1), "{name}: exit code");
    let err = stderr(&out);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{name}: not one line: {err}"
    );
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert!(
        err.contains(name),
        "{name}: message does not name the file: {err}"
    );
    err
}

#[test]
fn a_good_hand_made_dump_is_read() {
    let path = temp("good.npz");
    write_npz(&path, &flat_dump(2, 30, 4, 5, &[10, 20]));
    let report = stdout_json(&infoplane(&[
        "analyze",
        path.to_str().unwrap(),
        "--bins",
        "10",
        "--orders",
        "1,2",
    ]));
    assert_eq!(report["input"]["tokens"], 30);
    assert_eq!(report["input"]["sequences"], 2);
    // n = 2: positions [1, L-2) per sequence: 7 + 17.
    assert_eq!(report["input"]["positions"], 24);
    assert_eq!(report["layers"][1]["rows"], 24);
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m.retain(|(n, _)| *n != "input_ids");
    assert!(error_for("no_ids.npz", &m).contains("no token ids (expected a tensor named input_ids"));

    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m.retain(|(n, _)| *n != "hidden_states");
    assert!(error_for("no_hidden.npz", &m).contains("no hidden states found"));

    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m[1].1 = npy("<i8", "(29,)", &i64_bytes(&[1; 29]));
    assert!(error_for("short_ids.npz", &m)
        .contains("tensor 'input_ids': has shape [29], expected [30]"));

    let m = flat_dump(2, 30, 4, 5, &[10, 19]);
    assert!(error_for("bad_lens.npz", &m).contains("tensor 'seq_lens': lengths sum to 29"));

    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m[1].1 = npy("<i8", "(30,)", &i64_bytes(&[-3; 30]));
    assert!(error_for("negative_ids.npz", &m).contains("entry 0 is -3, not a token id"));

    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m[0].1 = npy("<f4", "(2, 30)", &f32_bytes(&[0.5; 60]));
    assert!(
        error_for("two_dims.npz", &m).contains("tensor 'input_ids': has shape [30], expected [2]")
    );

    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m[0].1 = npy("|O", "(2, 30, 4)", b"\x80\x04cos\nsystem\n.");
    let err = error_for("pickled.npz", &m);
    assert!(
        err.contains("tensor 'hidden_states'") && err.contains("never executed"),
        "{err}"
    );
}

#[test]
fn truncated_and_lying_files_are_refused_without_allocating() {
    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    let full = m[0].1.clone();
    m[0].1 = full[..full.len() - 7].to_vec();
    assert!(error_for("truncated.npz", &m)
        .contains("tensor 'hidden_states': shape [2, 30, 4] needs 960 bytes"));

    // A header claiming 2^40 × 2^20 floats in a few bytes must fail at once.
    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m[0].1 = npy("<f4", "(1099511627776, 1048576, 4)", &f32_bytes(&[1.0; 8]));
    assert!(error_for("lying.npz", &m).contains("needs"));
    let mut m = flat_dump(2, 30, 4, 5, &[10, 20]);
    m[1].1 = npy("<i8", "(18446744073709551615, 18446744073709551615)", &[]);
    assert!(error_for("overflow.npz", &m).contains("overflows"));

    let path = temp("not_a_zip.npz");
    std::fs::write(&path, b"hello, I am not a zip archive").unwrap();
    let out = infoplane(&["analyze", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not_a_zip.npz: is not a file infoplane reads"),
        "{}",
        stderr(&out)
    );

    let out = infoplane(&["analyze", "/nonexistent/dump.npz"]);
    assert!(stderr(&out).contains("/nonexistent/dump.npz: cannot open"));
}

#[test]
fn zero_and_non_finite_rows_are_skipped_and_reported() {
    let mut m = flat_dump(1, 12, 3, 4, &[12]);
    let mut hs: Vec<f32> = (0..36).map(|i| (i as f32 * 0.37).sin()).collect();
    hs[3..6].copy_from_slice(&[0.0, 0.0, 0.0]); // row 1: all zero
    hs[6] = f32::NAN; // row 2
    hs[11] = f32::INFINITY; // row 3
    m[0].1 = npy("<f4", "(1, 12, 3)", &f32_bytes(&hs));
    let path = temp("nan_rows.npz");
    write_npz(&path, &m);
    let report = stdout_json(&infoplane(&[
        "analyze",
        path.to_str().unwrap(),
        "--bins",
        "10",
        "--orders",
        "1",
    ]));
    // Positions [0, 11): rows 1, 2, 3 are unusable.
    assert_eq!(report["layers"][0]["rows_skipped"], 3);
    assert_eq!(report["layers"][0]["rows"], 8);
    assert!(report["layers"][0]["entropy"].as_f64().unwrap().is_finite());
}

#[test]
fn bad_settings_are_refused_in_one_line() {
    let path = temp("settings.npz");
    write_npz(&path, &flat_dump(2, 30, 4, 5, &[10, 20]));
    let p = path.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["--layers", "7"],
            "layer 7 requested, but the data has layers 0 to 1",
        ),
        (vec!["--orders", "5"], "order 5 is not supported"),
        (
            vec!["--sequences", "1..9"],
            "sequences 1..9 requested, but the data has 2",
        ),
        (vec!["--bins", "1"], "n_bins"),
        (vec!["--calibration", "magic"], "magic"),
        (vec!["--eps", "-1"], "-1"),
    ] {
        let out = infoplane(&[&["analyze", p][..], &args[..]].concat());
        assert!(!out.status.success(), "{args:?} accepted");
        let err = stderr(&out);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// A file's own text quoted in a message (a dtype, a tensor name) cannot break it over lines or
/// send escape sequences to the terminal: control characters are written as escapes.
#[test]
fn quoted_control_characters_stay_escaped_on_one_line() {
    let header = br#"{"x":{"dtype":"F\n32\u001b[2J","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0; 4]);
    let path = temp("control.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let out = infoplane(&["analyze", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(r"dtype 'F\n32\u{1b}[2J'"), "{err}");
    assert!(!err.contains('\u{1b}'));
}
