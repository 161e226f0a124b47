//! `torch.save` checkpoints: every fixture's tensors (names, dtypes, shapes, values) equal what
//! torch itself reported (tests/reference/make_torch_fixtures.py), whatever range and chunk size
//! are read; hostile and broken files give one-line errors naming file and problem, never a panic.

use std::cell::Cell;
use std::fs;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use infoplane::formats::tensor::{DType, StreamError, TensorFile};
use infoplane::formats::torch::TorchFile;
use serde_json::Value as Json;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch")
}

fn open(name: &str) -> Result<TorchFile<Cursor<Vec<u8>>>, infoplane::formats::FormatError> {
    let bytes = fs::read(dir().join(name)).expect("fixture exists");
    TorchFile::open(name, Cursor::new(bytes))
}

fn expected(stem: &str) -> Vec<Json> {
    let text = fs::read_to_string(dir().join(format!("{stem}.json"))).unwrap();
    let v: Json = serde_json::from_str(&text).unwrap();
    v["tensors"].as_array().unwrap().clone()
}

/// Reads `range` of a float tensor in chunks of `chunk`, checking every chunk's size.
fn floats(
    f: &mut impl TensorFile,
    name: &str,
    range: std::ops::Range<usize>,
    chunk: usize,
) -> Vec<f64> {
    let mut out = Vec::new();
    f.read_f64(name, range, chunk, &mut |c: &[f64]| {
        assert!(
            !c.is_empty() && c.len() <= chunk.max(1),
            "chunk of {}",
            c.len()
        );
        out.extend_from_slice(c);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    out
}

fn stems() -> Vec<String> {
    let mut stems: Vec<String> = fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect();
    stems.sort();
    stems
}

#[test]
fn every_fixture_matches_torch_exactly() {
    let stems = stems();
    assert!(stems.len() >= 15, "fixtures missing: {stems:?}");
    for stem in stems {
        let want = expected(&stem);
        let mut f = open(&format!("{stem}.pt")).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = want.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let got: Vec<&str> = f.tensors().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(got, names, "{stem}: tensor names and order");
        for t in &want {
            let name = t["name"].as_str().unwrap();
            let info = f.tensor(name).unwrap().clone();
            assert_eq!(
                info.dtype.name(),
                t["dtype"].as_str().unwrap(),
                "{stem}/{name}"
            );
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(info.shape, shape, "{stem}/{name}: shape");
            let values = t["values"].as_array().unwrap();
            assert_eq!(values.len(), info.len(), "{stem}/{name}");
            if info.dtype.is_float() {
                let want: Vec<f64> = values.iter().map(|v| v.as_f64().unwrap()).collect();
                let n = want.len();
                for chunk in [1, 7, 1 << 20] {
                    let got = floats(&mut f, name, 0..n, chunk);
                    assert_eq!(got, want, "{stem}/{name}: chunk {chunk}");
                }
                // A window from the middle, as a sharded analysis reads it.
                let (a, b) = (n / 3, n - n / 4);
                assert_eq!(floats(&mut f, name, a..b, 5), want[a..b], "{stem}/{name}");
                let e = f.read_i64(name).unwrap_err().to_string();
                assert!(e.contains("expected integers"), "{e}");
            } else {
                let want: Vec<i64> = values.iter().map(|v| v.as_i64().unwrap()).collect();
                assert_eq!(f.read_i64(name).unwrap(), want, "{stem}/{name}");
                let e = f
                    .read_f64(name, 0..0, 1, &mut |_: &[f64]| Ok(()))
                    .unwrap_err()
                    .to_string();
                assert!(e.contains("expected floating-point"), "{e}");
            }
        }
    }
}

#[test]
fn containers_flatten_into_documented_names() {
    let names = |file: &str| -> Vec<String> {
        open(file)
            .unwrap()
            .tensors()
            .iter()
            .map(|t| t.name.clone())
            .collect()
    };
    assert_eq!(
        names("dict_stacked.pt"),
        ["hidden_states", "input_ids", "seq_lens"]
    );
    assert_eq!(
        names("dict_layers.pt"),
        [
            "hidden_states.0",
            "hidden_states.1",
            "hidden_states.2",
            "input_ids",
            "seq_lens"
        ]
    );
    assert_eq!(names("bare.pt"), ["tensor"]);
    assert_eq!(names("tuple.pt"), ["0", "1"]);
    let nested = names("nested.pt");
    for n in [
        "model.blocks.0.w",
        "model.blocks.1.w",
        "model.blocks.3.hook_resid_post",
        "5",
        "ints.i8",
        "ints.bool",
    ] {
        assert!(nested.iter().any(|x| x == n), "{n} not in {nested:?}");
    }
    assert!(!nested.iter().any(|x| x.starts_with("meta")), "{nested:?}");
    // A tied parameter is one tensor under two names.
    assert_eq!(
        names("parameters.pt"),
        ["embed.weight", "lm_head.weight", "b"]
    );
    let sd = names("state_dict.pt");
    assert_eq!(
        sd,
        ["steps", "0.weight", "0.bias", "1.weight", "1.bias"],
        "state_dict keys (its _metadata is not a tensor)"
    );
    let f = open("dict_stacked.pt").unwrap();
    let hs = f.tensor("hidden_states").unwrap();
    assert_eq!((hs.dtype, hs.shape.clone()), (DType::F32, vec![3, 40, 16]));
}

#[test]
fn archive_prefix_byte_order_and_version_are_reported() {
    let meta = |file: &str| open(file).unwrap().metadata();
    let get = |m: &[(String, String)], k: &str| {
        m.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let m = meta("dict_layers.pt");
    assert_eq!(
        get(&m, "archive"),
        "dict_layers",
        "saved to a path: the stem"
    );
    assert_eq!(get(&m, "byteorder"), "little");
    assert_eq!(get(&m, "version"), "3");
    assert_eq!(get(&meta("dict_stacked.pt"), "archive"), "archive");
    assert_eq!(get(&meta("bigendian.pt"), "byteorder"), "big");
    assert_eq!(open("bare.pt").unwrap().file_name(), "bare.pt");
}

#[test]
fn foreign_globals_are_refused_by_name() {
    for (file, global) in [
        ("os_system.pt", "os.system"),
        ("builtins_eval.pt", "builtins.eval"),
        ("posix_system.pt", "posix.system"),
    ] {
        let e = open(file).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{file}: ")), "{e}");
        assert!(
            e.contains(&format!(
                "refused pickle global '{global}' (infoplane never executes code from files)"
            )),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn broken_and_hostile_files_are_errors_not_panics() {
    let cases: &[(&str, &[&str])] = &[
        ("truncated.pt", &["not a readable torch.save checkpoint"]),
        (
            "short_storage.pt",
            &[
                "tensor 'hidden_states'",
                "storage '0' holds 3840 bytes",
                "7680",
            ],
        ),
        (
            "missing_storage.pt",
            &["tensor 'input_ids'", "storage '1' is missing"],
        ),
        (
            "view_out_of_bounds.pt",
            &["tensor 'x'", "reaches past the 4 elements of storage '0'"],
        ),
        (
            "offset_out_of_bounds.pt",
            &["tensor 'x'", "offset 3", "reaches past"],
        ),
        ("negative_stride.pt", &["tensor 'x'", "negative", "stride"]),
        (
            "huge_binunicode.pt",
            &["data.pkl", "needs 4294967280 bytes"],
        ),
        ("deep_nesting.pt", &["data.pkl", "nest deeper than"]),
        ("memo_bomb.pt", &["data.pkl", "shared references"]),
        ("legacy.pt", &["legacy", "before PyTorch 1.6"]),
    ];
    for (file, parts) in cases {
        let e = open(file).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{file}: ")), "{e}");
        for p in *parts {
            assert!(e.contains(p), "{file}: '{p}' not in: {e}");
        }
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    // Not a zip at all, and empty.
    for bytes in [b"hello, this is text".to_vec(), Vec::new()] {
        let e = TorchFile::open("x.pt", Cursor::new(bytes)).unwrap_err();
        assert!(e.to_string().starts_with("x.pt: "), "{e}");
    }
    // A zip without data.pkl: an .npz dump.
    let npz = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/d3_bins10_seed0.npz"),
    )
    .unwrap();
    let e = TorchFile::open("d.npz", Cursor::new(npz))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("d.npz: has no data.pkl record") && e.contains("hidden_states.npy"),
        "{e}"
    );
}

#[test]
fn no_truncation_or_byte_flip_panics() {
    let good = fs::read(dir().join("nested.pt")).unwrap();
    let try_all = |bytes: Vec<u8>| {
        if let Ok(mut f) = TorchFile::open("n.pt", Cursor::new(bytes)) {
            let infos = f.tensors().to_vec();
            for t in infos {
                if t.dtype.is_float() {
                    let _ = f.read_f64(&t.name, 0..t.len(), 3, &mut |_: &[f64]| Ok(()));
                } else {
                    let _ = f.read_i64(&t.name);
                }
            }
        }
    };
    for n in (0..good.len()).step_by(7) {
        try_all(good[..n].to_vec());
    }
    for i in 0..good.len() {
        let mut bytes = good.clone();
        bytes[i] ^= 0x5a;
        try_all(bytes);
    }
}

#[test]
fn bad_requests_are_errors() {
    let mut f = open("dict_stacked.pt").unwrap();
    let e = f
        .read_f64("nope", 0..1, 1, &mut |_: &[f64]| Ok(()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "dict_stacked.pt: tensor 'nope': is not in this checkpoint"
    );
    let e = f
        .read_f64("hidden_states", 1900..1921, 4, &mut |_: &[f64]| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("1900..1921") && e.contains("1920"), "{e}");
    assert!(f.read_i64("nope").is_err());
    // The consumer's refusal stops the stream and comes back as a sink error.
    let mut calls = 0;
    let r = f.read_f64("hidden_states", 0..1920, 100, &mut |_: &[f64]| {
        calls += 1;
        Err("enough".into())
    });
    assert!(matches!(r, Err(StreamError::Sink(ref e)) if e.to_string() == "enough"));
    assert_eq!(calls, 1);
    // Empty ranges are fine and call nothing.
    f.read_f64("hidden_states", 5..5, 3, &mut |_: &[f64]| panic!("called"))
        .unwrap();
}

#[test]
fn views_read_in_c_order_from_any_window() {
    for file in ["views", "compressed", "protocol5"] {
        let want = expected(file);
        let mut f = open(&format!("{file}.pt")).unwrap();
        for t in &want {
            let name = t["name"].as_str().unwrap();
            if !f.tensor(name).unwrap().dtype.is_float() {
                continue;
            }
            let all: Vec<f64> = t["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let n = all.len();
            for a in 0..n.min(12) {
                for b in a..=n {
                    for chunk in [1, 3] {
                        assert_eq!(
                            floats(&mut f, name, a..b, chunk),
                            all[a..b],
                            "{file}/{name} {a}..{b} chunk {chunk}"
                        );
                    }
                }
            }
        }
    }
}

/// Counts the bytes read through it, to show contiguous reads stream only what they need.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn contiguous_tensors_are_streamed_not_loaded() {
    let bytes = fs::read(dir().join("dict_stacked.pt")).unwrap();
    let read = Rc::new(Cell::new(0));
    let mut f = TorchFile::open(
        "dict_stacked.pt",
        Counting {
            inner: Cursor::new(bytes),
            read: read.clone(),
        },
    )
    .unwrap();
    let want = expected("dict_stacked");
    let all: Vec<f64> = want[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let before = read.get();
    // The last row of the last layer: 16 floats of a 7680-byte storage.
    let got = floats(&mut f, "hidden_states", 1904..1920, 16);
    assert_eq!(got, all[1904..1920]);
    let used = read.get() - before;
    assert!(
        used < 1024,
        "read {used} bytes for 64 bytes of data (local header included)"
    );
}
