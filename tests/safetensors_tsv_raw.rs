//! The safetensors, Embedding Projector TSV and raw float32 readers against the fixtures of
//! `tests/reference/make_safetensors_tsv_fixtures.py`: exact names, dtypes, shapes, values and
//! metadata for the good files, and a one-line error naming the file and the problem (never a
//! panic) for each malformed one.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::PathBuf;

use infoplane::formats::raw::RawF32;
use infoplane::formats::safetensors::SafetensorsFile;
use infoplane::formats::tensor::{DType, TensorFile};
use infoplane::formats::tsv::{TsvMetadata, TsvVectors};
use infoplane::formats::FormatError;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_slice(&bytes(rel)).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn safetensors(name: &str) -> Result<SafetensorsFile<Cursor<Vec<u8>>>, FormatError> {
    let data = bytes(&format!("safetensors/{name}"));
    let len = data.len() as u64;
    SafetensorsFile::open(name, Cursor::new(data), len)
}

/// Every element of `tensor` streamed in chunks of `chunk`, checking each chunk's size.
fn read_all(f: &mut dyn TensorFile, tensor: &str, chunk: usize) -> Vec<f64> {
    let len = f.tensor(tensor).unwrap().len();
    let mut out = Vec::new();
    f.read_f64(tensor, 0..len, chunk, &mut |c: &[f64]| {
        assert!(!c.is_empty() && c.len() <= chunk);
        out.extend_from_slice(c);
        Ok(())
    })
    .unwrap();
    out
}

/// Compares bit for bit, so -0.0 and the rounding of f16/bf16 are checked exactly.
fn assert_same(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{what}[{i}]: got {g}, want {w}");
    }
}

fn dtype_of(name: &str) -> DType {
    match name {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "I64" => DType::I64,
        other => panic!("unexpected dtype {other} in expected.json"),
    }
}

fn check_safetensors(name: &str) {
    let expected = json("safetensors/expected.json");
    let want = &expected[name];
    let mut f = safetensors(name).unwrap();
    assert_eq!(f.file_name(), name);

    let mut meta = f.metadata();
    meta.sort();
    let mut want_meta: Vec<(String, String)> = want["metadata"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    want_meta.sort();
    assert_eq!(meta, want_meta, "{name}: metadata");

    let tensors = want["tensors"].as_array().unwrap();
    let names: Vec<&str> = f.tensors().iter().map(|t| t.name.as_str()).collect();
    let want_names: Vec<&str> = tensors
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want_names, "{name}: tensors in data order");

    for t in tensors {
        let tname = t["name"].as_str().unwrap();
        let info = f.tensor(tname).unwrap().clone();
        assert_eq!(
            info.dtype,
            dtype_of(t["dtype"].as_str().unwrap()),
            "{tname}"
        );
        let shape: Vec<usize> = t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(info.shape, shape, "{name}: {tname} shape");
        if info.dtype.is_float() {
            let want_values = floats(&t["values"]);
            for chunk in [1, 7, 16, 4096] {
                assert_same(
                    &read_all(&mut f, tname, chunk),
                    &want_values,
                    &format!("{name}: {tname} (chunk {chunk})"),
                );
            }
            assert!(f.read_i64(tname).is_err());
        } else {
            let want_values: Vec<i64> = t["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(f.read_i64(tname).unwrap(), want_values, "{name}: {tname}");
            let e = f
                .read_f64(tname, 0..1, 1, &mut |_: &[f64]| Ok(()))
                .unwrap_err();
            assert!(e.to_string().contains("expected floating-point"), "{e}");
        }
    }
}

#[test]
fn safetensors_f32_matches_expected() {
    check_safetensors("hidden_f32.safetensors");
}

#[test]
fn safetensors_f16_matches_expected() {
    check_safetensors("hidden_f16.safetensors");
}

#[test]
fn safetensors_bf16_matches_expected() {
    check_safetensors("hidden_bf16.safetensors");
}

#[test]
fn safetensors_per_layer_matches_expected() {
    check_safetensors("per_layer.safetensors");
}

#[test]
fn safetensors_tensors_are_listed_in_data_order_not_header_order() {
    // The bf16 fixture's header lists seq_lens, input_ids, hidden_states; its data is the reverse.
    let f = safetensors("hidden_bf16.safetensors").unwrap();
    let names: Vec<&str> = f.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["hidden_states", "input_ids", "seq_lens"]);
}

#[test]
fn safetensors_streams_any_range() {
    let expected = json("safetensors/expected.json");
    let tensor = expected["hidden_f32.safetensors"]["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "hidden_states")
        .unwrap();
    let all = floats(&tensor["values"]);
    let mut f = safetensors("hidden_f32.safetensors").unwrap();
    for (range, chunk) in [
        (0..1, 1),
        (640..1280, 100),
        (17..1919, 333),
        (1919..1920, 5),
    ] {
        let mut got = Vec::new();
        f.read_f64("hidden_states", range.clone(), chunk, &mut |c: &[f64]| {
            got.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_same(&got, &all[range.clone()], &format!("{range:?}"));
    }
    let e = f
        .read_f64("hidden_states", 1900..1921, 8, &mut |_: &[f64]| Ok(()))
        .unwrap_err();
    assert!(e.to_string().contains("1900..1921"), "{e}");
    // A refusing consumer stops the stream with its own error.
    let e = f
        .read_f64("hidden_states", 0..100, 10, &mut |_: &[f64]| {
            Err("enough".into())
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "enough");
}

/// `(file, what its error must say)`: each file has one problem.
const BAD_SAFETENSORS: &[(&str, &str)] = &[
    ("bad_header_past_end.safetensors", "header length 1000 is beyond the end of the file, which holds 62 bytes"),
    ("bad_header_2pow63.safetensors", "header length 9223372036854775808 is beyond the end of the file"),
    ("bad_overlap.safetensors", "tensor 'b': data_offsets [8, 24] overlap tensor 'a'"),
    ("bad_offsets_past_end.safetensors", "tensor 'a': data_offsets [0, 4000000000] reach past the end of the data, which holds 16 bytes"),
    ("bad_dtype_f8.safetensors", "tensor 'a': has dtype 'F8_E4M3', which infoplane does not read"),
    ("bad_shape_mismatch.safetensors", "tensor 'a': shape [3, 4] of F32 needs 48 bytes, but data_offsets [0, 40] span 40"),
    ("bad_json.safetensors", "header is not valid JSON"),
    ("bad_truncated.safetensors", "tensor 'hidden_states': data_offsets"),
];

#[test]
fn malformed_safetensors_are_refused_with_a_message() {
    for (name, want) in BAD_SAFETENSORS {
        let msg = safetensors(name).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
        assert!(msg.contains(want), "{name}: {msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }
    let msg = safetensors("bad_truncated.safetensors")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn cutting_a_good_safetensors_file_anywhere_is_an_error() {
    let good = bytes("safetensors/hidden_f16.safetensors");
    for cut in (0..good.len()).step_by(37) {
        let r = SafetensorsFile::open("cut.safetensors", Cursor::new(&good[..cut]), cut as u64);
        assert!(r.is_err(), "cut at {cut} was accepted");
    }
}

/// A virtual 8 GiB safetensors file: its header, then elements whose value is their index.
struct Huge {
    header: Vec<u8>,
    len: u64,
    pos: u64,
}

impl Huge {
    const ELEMENTS: u64 = (8 << 30) / 4 + 5;

    fn new() -> Self {
        let json = format!(
            r#"{{"__metadata__":{{"size":"8GiB"}},"big":{{"dtype":"F32","shape":[{},1],"data_offsets":[0,{}]}}}}"#,
            Self::ELEMENTS,
            Self::ELEMENTS * 4
        );
        let mut header = (json.len() as u64).to_le_bytes().to_vec();
        header.extend_from_slice(json.as_bytes());
        let len = header.len() as u64 + Self::ELEMENTS * 4;
        Self {
            header,
            len,
            pos: 0,
        }
    }
}

impl Read for Huge {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.pos < self.len {
            let h = self.header.len() as u64;
            buf[n] = if self.pos < h {
                self.header[self.pos as usize]
            } else {
                let i = (self.pos - h) / 4;
                (i as f32).to_le_bytes()[((self.pos - h) % 4) as usize]
            };
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

impl Seek for Huge {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

#[test]
fn an_8_gib_safetensors_file_is_streamed_in_bounded_memory() {
    let huge = Huge::new();
    let len = huge.len;
    let mut f = SafetensorsFile::open("huge.safetensors", huge, len).unwrap();
    let n = Huge::ELEMENTS as usize;
    assert_eq!(f.tensors()[0].shape, vec![n, 1]);
    assert_eq!(f.metadata(), vec![("size".into(), "8GiB".into())]);
    let mut got = Vec::new();
    f.read_f64("big", n - 6..n, 4, &mut |c: &[f64]| {
        got.extend_from_slice(c);
        Ok(())
    })
    .unwrap();
    let want: Vec<f64> = (n - 6..n).map(|i| f64::from(i as f32)).collect();
    assert_eq!(got, want);
}

#[test]
fn tsv_vectors_match_expected() {
    let expected = json("tsv/expected.json");
    let mut v = TsvVectors::open("vectors.tsv", Cursor::new(bytes("tsv/vectors.tsv"))).unwrap();
    assert_eq!(v.rows(), 30);
    assert_eq!(v.dim(), 5);
    let names: Vec<&str> = v.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["vectors"]);
    assert_eq!(v.tensors()[0].dtype, DType::F64);
    assert_eq!(v.tensors()[0].shape, vec![30, 5]);
    let want = floats(&expected["vectors"]["values"]);
    for chunk in [1, 4, 5, 64, 1000] {
        assert_same(&read_all(&mut v, "vectors", chunk), &want, "vectors.tsv");
    }
    let mut got = Vec::new();
    v.read_f64("vectors", 13..97, 9, &mut |c: &[f64]| {
        got.extend_from_slice(c);
        Ok(())
    })
    .unwrap();
    assert_same(&got, &want[13..97], "vectors.tsv 13..97");
    assert!(v.read_i64("vectors").is_err());
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn check_metadata(file: &str, key: &str, header: bool) {
    let expected = &json("tsv/expected.json")[key];
    let mut m = TsvMetadata::open(file, &bytes(&format!("tsv/{file}"))[..]).unwrap();
    assert_eq!(m.rows(), 30);
    assert_eq!(m.has_header(), header);
    let columns = strings(&expected["columns"]);
    let names: Vec<String> = m.tensors().iter().map(|t| t.name.clone()).collect();
    assert_eq!(names, columns);
    for col in &columns {
        let info = m.tensor(col).unwrap();
        assert_eq!((info.dtype, info.shape.clone()), (DType::I64, vec![30]));
        assert_eq!(m.read_strings(col).unwrap(), strings(&expected[col]));
        let ids: Vec<i64> = expected[format!("{col}_ids")]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(m.read_i64(col).unwrap(), ids, "{file}: {col}");
    }
}

#[test]
fn tsv_metadata_with_a_header_matches_expected() {
    check_metadata("metadata.tsv", "metadata", true);
}

#[test]
fn tsv_metadata_of_one_column_matches_expected() {
    check_metadata("labels.tsv", "labels", false);
}

#[test]
fn malformed_tsv_is_refused_with_a_message() {
    let cases = [
        (
            "bad_ragged.tsv",
            "bad_ragged.tsv: line 17 has 5 values, line 1 has 4",
        ),
        (
            "bad_nonnumeric.tsv",
            "bad_nonnumeric.tsv: line 3, column 2: 'abc' is not a number",
        ),
        (
            "empty.tsv",
            "empty.tsv: holds no vectors (the file is empty)",
        ),
    ];
    for (name, want) in cases {
        let e = TsvVectors::open(name, Cursor::new(bytes(&format!("tsv/{name}")))).unwrap_err();
        assert_eq!(e.to_string(), want);
    }
    let e = TsvMetadata::open("empty.tsv", &[][..]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "empty.tsv: holds no labels (the file is empty)"
    );
}

#[test]
fn raw_float32_matches_expected() {
    let expected = json("tsv/expected.json");
    let data = bytes("tsv/vectors.bytes");
    let len = data.len() as u64;
    let mut r = RawF32::open("vectors.bytes", Cursor::new(data), len, &[30, 5]).unwrap();
    assert_eq!(r.tensors()[0].name, "vectors");
    assert_eq!(r.tensors()[0].dtype, DType::F32);
    assert_eq!(r.tensors()[0].shape, vec![30, 5]);
    let want = floats(&expected["raw"]["values"]);
    for chunk in [1, 5, 150] {
        assert_same(&read_all(&mut r, "vectors", chunk), &want, "vectors.bytes");
    }
}

#[test]
fn raw_float32_of_the_wrong_length_is_refused() {
    let data = bytes("tsv/bad_length.bytes");
    let len = data.len() as u64;
    let e = RawF32::open("bad_length.bytes", Cursor::new(data), len, &[30, 5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad_length.bytes: tensor 'vectors': shape [30, 5] of float32 needs 600 bytes, but the file holds 598 bytes"
    );
}
