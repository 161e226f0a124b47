//! Helpers shared by the integration tests: running the real `infoplane` binary and writing small
//! `.npy`/`.npz` files by hand (so malformed files can be made on purpose).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn infoplane(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infoplane"))
        .args(args)
        .output()
        .expect("the infoplane binary runs")
}

pub fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "infoplane failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `.npy` (version 1.0) with the given dtype descr, shape text and raw little-endian data.
pub fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes an uncompressed `.npz` with the given members (names without `.npy`).
pub fn write_npz(path: &Path, members: &[(&str, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// A deterministic flat dump: `layers × t × d` values from a simple generator, tokens `i % vocab`.
pub fn flat_dump(
    layers: usize,
    t: usize,
    d: usize,
    vocab: i64,
    seq_lens: &[i64],
) -> Vec<(&'static str, Vec<u8>)> {
    let mut x = 0x2545F4914F6CDD1Du64;
    let hs: Vec<f32> = (0..layers * t * d)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let ids: Vec<i64> = (0..t as i64).map(|i| (i * 7 + i / 3) % vocab).collect();
    vec![
        (
            "hidden_states",
            npy("<f4", &format!("({layers}, {t}, {d})"), &f32_bytes(&hs)),
        ),
        (
            "input_ids",
            npy("<i8", &format!("({t},)"), &i64_bytes(&ids)),
        ),
        (
            "seq_lens",
            npy(
                "<i8",
                &format!("({},)", seq_lens.len()),
                &i64_bytes(seq_lens),
            ),
        ),
    ]
}

/// `|ours - theirs| <= tolerance` for two JSON numbers (both null, e.g. a NaN ratio, also
/// matches); returns the difference.
pub fn close_within(
    ours: &serde_json::Value,
    theirs: &serde_json::Value,
    tolerance: f64,
    what: &str,
) -> f64 {
    match (ours.as_f64(), theirs.as_f64()) {
        (Some(a), Some(b)) => {
            let diff = (a - b).abs();
            assert!(
                diff <= tolerance,
                "{what}: infoplane {a} vs reference {b} (diff {diff:e})"
            );
            diff
        }
        (None, None) => 0.0,
        _ => panic!("{what}: infoplane {ours} vs reference {theirs}"),
    }
}

/// Compares infoplane's `--format reference` output with the reference package's
/// `{"per_layer": [...], "mean": {...}}`: same layers, same keys in each layer, every value within
/// `tolerance`. Returns (values compared, largest difference).
pub fn compare_reference_shape(
    ours: &serde_json::Value,
    theirs: &serde_json::Value,
    tolerance: f64,
    what: &str,
) -> (usize, f64) {
    let (mut compared, mut worst) = (0usize, 0.0f64);
    let their_layers = theirs["per_layer"].as_array().expect("reference per_layer");
    let our_layers = ours["per_layer"].as_array().expect("infoplane per_layer");
    assert_eq!(our_layers.len(), their_layers.len(), "{what}: layer count");
    for (l, (o, t)) in our_layers.iter().zip(their_layers).enumerate() {
        let t = t.as_object().expect("reference layer is an object");
        assert_eq!(
            o.as_object()
                .expect("infoplane layer is an object")
                .keys()
                .collect::<Vec<_>>(),
            t.keys().collect::<Vec<_>>(),
            "{what}: keys of layer {l}"
        );
        for (k, v) in t {
            worst = worst.max(close_within(
                &o[k],
                v,
                tolerance,
                &format!("{what}/layer {l}/{k}"),
            ));
            compared += 1;
        }
    }
    for (k, v) in theirs["mean"].as_object().expect("reference mean") {
        worst = worst.max(close_within(
            &ours["mean"][k],
            v,
            tolerance,
            &format!("{what}/mean/{k}"),
        ));
        compared += 1;
    }
    (compared, worst)
}
