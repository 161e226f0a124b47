//! Replays inputs found by the fuzz targets in `fuzz/` through the same code: the targets' bodies
//! live in `fuzz/src/lib.rs`, included here by path, so a file is read exactly as the fuzzer read
//! it (open over `Cursor<Vec<u8>>`, list tensors, `read_i64`, `read_f64` whole and in small
//! chunks, `metadata()`, layout detection for `open_detect`).
//!
//! `tests/fixtures/fuzz/<target>/corpus/` holds a small corpus per target, picked from the fuzz
//! corpus for coverage; `tests/fixtures/fuzz/<target>/crash-*` are minimised inputs that once
//! made a reader panic, hang or run out of memory. Every file must come back `Ok` or `Err`
//! without a panic. See fuzz/README.md for how to run the fuzzers and add to these.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn fuzz_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz")
}

fn target(name: &str) -> fn(&[u8]) {
    harness::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target '{name}'"))
        .1
}

/// Runs `files` through `target`, catching panics so that every failing file is named.
fn replay(target_name: &str, files: &[PathBuf]) {
    let run = target(target_name);
    let mut failed = Vec::new();
    for path in files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&data)));
        let took = started.elapsed();
        if took.as_secs() >= 5 {
            eprintln!("{target_name}: {} took {took:?}", path.display());
        }
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failed.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "{target_name}: {} of {} inputs panicked:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// The regression corpus of one target: every file of `tests/fixtures/fuzz/<target>/corpus/`.
fn corpus(target_name: &str) {
    let files = files_in(&fuzz_fixtures().join(target_name).join("corpus"));
    assert!(
        !files.is_empty(),
        "tests/fixtures/fuzz/{target_name}/corpus/ holds no files"
    );
    replay(target_name, &files);
}

/// One saved crash input, `tests/fixtures/fuzz/<target>/<file>`.
fn crash(target_name: &str, file: &str) {
    let path = fuzz_fixtures().join(target_name).join(file);
    assert!(path.is_file(), "{} is missing", path.display());
    replay(target_name, &[path]);
}

macro_rules! corpus_tests {
    ($($name:ident => $target:literal,)*) => {
        $(
            #[test]
            fn $name() {
                corpus($target);
            }
        )*
        const CORPUS_TARGETS: &[&str] = &[$($target),*];
    };
}

corpus_tests! {
    corpus_npy => "npy",
    corpus_npz => "npz",
    corpus_npz_members => "npz_members",
    corpus_safetensors => "safetensors",
    corpus_torch => "torch",
    corpus_torch_members => "torch_members",
    corpus_pickle => "pickle",
    corpus_tsv_vectors => "tsv_vectors",
    corpus_tsv_metadata => "tsv_metadata",
    corpus_raw_f32 => "raw_f32",
    corpus_open_detect => "open_detect",
    corpus_state => "state",
}

/// One test per saved crash input, so an unfixed one can be ignored on its own.
macro_rules! crash_tests {
    ($($(#[$attr:meta])* $name:ident => $target:literal / $file:literal,)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                crash($target, $file);
            }
        )*
        const CRASH_FILES: &[(&str, &str)] = &[$(($target, $file)),*];
    };
}

crash_tests! {
    // States whose header claims row counts near u64::MAX: merging one with itself overflowed
    // (a panic in debug builds, wrapped counts in release). Fixed by checking on load that every
    // label set counts each row once, and by refusing merges whose row counts cannot be added.
    state_merge_overflow_1 => "state" / "crash-merge-overflow-1.state",
    state_merge_overflow_2 => "state" / "crash-merge-overflow-2.state",
    // A state whose label sets lack an order's output set: the report assumed both. Fixed by
    // checking on load that the label sets are those the orders and back-off setting imply.
    state_specs_without_output => "state" / "crash-specs-without-output.state",
    // A header whose unknown field name holds a newline: serde quotes it, and the message ran
    // over two lines. Fixed by escaping the parser's message.
    state_newline_in_field_name => "state" / "crash-newline-in-field-name.state",
    // npyz's header parser (py_literal, a backtracking pest grammar) takes time exponential in
    // the nesting of brackets in the header dict: 14 `[` took seconds, 20 hours. Fixed by
    // refusing headers nested deeper than MAX_HEADER_NESTING before npyz parses them.
    npy_timeout_nested_brackets => "npy" / "crash-timeout-nested-brackets.npy",
    // The four inputs the npy target timed out on (libFuzzer's artifacts, unminimised): nested
    // `{`/`[` in the header dict, the same root cause.
    npy_hang_nested_header_0 => "npy" / "hang-nested-header-0.npy",
    npy_hang_nested_header_1 => "npy" / "hang-nested-header-1.npy",
    npy_hang_nested_header_2 => "npy" / "hang-nested-header-2.npy",
    npy_hang_nested_header_3 => "npy" / "hang-nested-header-3.npy",
    // The same, with the brackets hidden from a quote-aware depth count by `"\""` (the count
    // took the escaped quote as closing the string). Fixed by counting brackets inside quotes.
    npy_timeout_escaped_quote_brackets => "npy" / "crash-timeout-escaped-quote-brackets.npy",
    // The same again, with each level's `[` balanced for the depth count by a `]` inside a
    // string: `'x': [']', [']', [']', ...` is 24 lists deep for npyz, depth 1 for the count.
    // Fixed by refusing headers that open more than 4 brackets at all.
    npy_timeout_brackets_closed_in_strings => "npy" / "crash-timeout-brackets-closed-in-strings.npy",
    // 166 and 486 bytes of pickle whose memo references expand (list of [prev, prev], doubling)
    // to about 2^21 values: at MAX_TREE_NODES = 2^21 they were accepted and built into trees of 2
    // million nodes (0.3 s in release, 6 to 11 s under the fuzzer). Now over the 2^20 limit, they
    // are refused as soon as the budget runs out.
    pickle_timeout_shared_reference_tree => "pickle" / "crash-timeout-shared-reference-tree.pkl",
    pickle_timeout_shared_reference_tree_2 => "pickle" / "crash-timeout-shared-reference-tree-2.pkl",
    // A 1659-byte torch zip that "timed out" (2 s of wall time) while both cores were
    // oversubscribed by builds; replayed alone it takes 0.43 s of CPU under instrumentation.
    // Kept so a real slowdown on it would show.
    open_detect_timeout_loaded_machine => "open_detect" / "crash-timeout-loaded-machine-torch.pt",
}

#[test]
fn every_target_has_a_corpus_and_every_crash_file_a_test() {
    let mut names: Vec<&str> = harness::TARGETS.iter().map(|(n, _)| *n).collect();
    let mut listed = CORPUS_TARGETS.to_vec();
    names.sort_unstable();
    listed.sort_unstable();
    assert_eq!(names, listed, "a fuzz target has no corpus test");
    for &(target_name, _) in harness::TARGETS {
        for path in files_in(&fuzz_fixtures().join(target_name)) {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                CRASH_FILES.contains(&(target_name, file.as_str())),
                "tests/fixtures/fuzz/{target_name}/{file} has no test in crash_tests!"
            );
        }
    }
}
