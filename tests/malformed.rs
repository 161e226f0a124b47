//! Every file of the malformed corpus (tests/fixtures/malformed, made by
//! tests/reference/make_malformed.py from the good fixtures) makes `infoplane analyze` exit with
//! code 1 and a one-line message naming the file: never a panic (exit 101), never a hang.

mod common;

use std::time::{Duration, Instant};

use common::{fixture, stderr};

#[test]
fn every_malformed_file_is_refused_in_one_line() {
    let mut files: Vec<_> = std::fs::read_dir(fixture("malformed"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 80, "corpus is missing");
    let mut slowest = (Duration::ZERO, String::new());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_infoplane"))
            .args(["analyze", path.to_str().unwrap(), "--bins", "10"])
            .output()
            .unwrap();
        let took = started.elapsed();
        if took > slowest.0 {
            slowest = (took, name.clone());
        }
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: exit {:?}, stderr {err}",
            out.status.code()
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{name}: not one line: {err}"
        );
        assert!(
            err.contains(&name),
            "{name}: message does not name the file: {err}"
        );
        // A hang guard, not a speed goal: the corpus is small files.
        assert!(took < Duration::from_secs(20), "{name} took {took:?}");
    }
    eprintln!(
        "{} malformed files refused; slowest {:?} ({})",
        files.len(),
        slowest.0,
        slowest.1
    );
}
