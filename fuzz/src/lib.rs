//! What each fuzz target does with its input, shared by the libFuzzer targets in `fuzz_targets/`
//! and by `tests/fuzz_regressions.rs` (which includes this file with `#[path]`), so a saved crash
//! input is replayed through exactly the code path that found it.
//!
//! Every function here takes the raw fuzz input, opens it with one reader over
//! `std::io::Cursor<Vec<u8>>`, and then drives everything the [`TensorFile`] trait offers. A
//! reader may answer `Ok` or `Err` to anything; what is checked is that it never panics, never
//! hangs, never allocates without bound, and keeps the trait's promises:
//!
//! * `read_f64` hands out chunks of at most `chunk` elements (0 counts as 1) and, when it returns
//!   `Ok`, exactly `range.len()` elements in all;
//! * `read_f64` refuses a range past the end or reversed, and an unknown tensor;
//! * an `Err` from the sink stops the stream with an error;
//! * `read_i64`, when `Ok`, returns one value per element, and refuses an unknown tensor.

#![allow(clippy::missing_panics_doc)]

use std::io::{Cursor, Write};
use std::ops::Range;

use infoplane::formats::layout::{self, LayoutOverrides};
use infoplane::formats::npy::NpyFile;
use infoplane::formats::npz::NpzFile;
use infoplane::formats::open;
use infoplane::formats::pickle;
use infoplane::formats::raw::RawF32;
use infoplane::formats::safetensors::SafetensorsFile;
use infoplane::formats::tensor::{StreamError, TensorFile};
use infoplane::formats::torch::TorchFile;
use infoplane::formats::tsv::{TsvMetadata, TsvVectors};

/// Elements read with `read_f64` over all tensors of one input, whole-tensor reads included: a
/// 64 KiB deflated member can inflate to some 64 MiB, and views of a torch storage can repeat it,
/// so this keeps one input's work to well under the 2 s timeout without hiding small-file bugs.
const ELEMENT_BUDGET: usize = 1 << 24;
/// Longest sub-range read with the small chunk size.
const SUB_RANGE: usize = 257;
/// A tensor name no reader hands out.
const NO_SUCH: &str = "\u{1}no such tensor\u{1}";

/// Separates the members of a `*_members` input (see [`zip_members`]).
pub const MEMBER_SEP: &[u8] = b"\xfe\xfdMEMBER\xfd\xfe";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn cursor(data: &[u8]) -> Cursor<Vec<u8>> {
    Cursor::new(data.to_vec())
}

/// A cheap, stable number from the input, to vary chunk sizes between inputs.
fn seed_of(data: &[u8]) -> usize {
    data.iter().fold(data.len(), |h, &b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    })
}

/// Streams `range` of `tensor` and checks the chunking promises. `stop_after` makes the sink
/// refuse its n-th chunk. Returns whether the read succeeded.
fn read_range(
    f: &mut dyn TensorFile,
    tensor: &str,
    range: Range<usize>,
    chunk: usize,
    stop_after: Option<usize>,
) -> bool {
    let mut chunks = 0usize;
    let mut total = 0usize;
    let mut refused = false;
    let limit = chunk.max(1);
    let result = f.read_f64(tensor, range.clone(), chunk, &mut |c: &[f64]| {
        assert!(
            c.len() <= limit,
            "read_f64({tensor:?}, {range:?}, chunk {chunk}) gave a chunk of {} elements",
            c.len()
        );
        chunks += 1;
        total += c.len();
        if stop_after == Some(chunks) {
            refused = true;
            return Err::<(), BoxError>("sink refuses".into());
        }
        Ok(())
    });
    match result {
        Ok(()) => {
            assert!(
                !refused,
                "read_f64({tensor:?}, {range:?}) returned Ok after its sink returned Err"
            );
            assert_eq!(
                total,
                range.len(),
                "read_f64({tensor:?}, {range:?}, chunk {chunk}) returned Ok with {total} elements"
            );
            true
        }
        Err(StreamError::Sink(_)) => {
            assert!(
                refused,
                "read_f64({tensor:?}) reported a sink error the sink never gave"
            );
            false
        }
        Err(StreamError::Format(e)) => {
            // Messages are one line and name the file.
            let _ = e.to_string();
            false
        }
    }
}

/// Drives every method of `f`. `seed` varies chunk sizes.
pub fn exercise(f: &mut dyn TensorFile, seed: usize) {
    let _ = f.file_name().len();
    let infos = f.tensors().to_vec();
    for (k, v) in f.metadata() {
        let _ = (k.len(), v.len());
    }
    let mut budget = ELEMENT_BUDGET;
    for info in &infos {
        assert!(
            f.tensor(&info.name).is_some(),
            "tensor({:?}) finds nothing, but tensors() lists it",
            info.name
        );
        // Readers promise the shape's product does not overflow.
        let len = info.len();

        if info.dtype.is_float() {
            // The whole tensor, in chunks of a few elements (small tensors) or of 4096.
            if len <= budget {
                budget -= len;
                let chunk = if len <= 4096 { seed % 9 } else { 4096 };
                read_range(f, &info.name, 0..len, chunk, None);
            }
            // A sub-range from a third of the way in, with a small chunk size.
            let start = len / 3;
            let end = start + (len - start).min(SUB_RANGE);
            read_range(f, &info.name, start..end, 1 + seed % 5, None);
            // The same, with a sink that refuses its second chunk.
            read_range(f, &info.name, start..end, 1 + seed % 3, Some(2));
            // An empty range at the end is fine either way; past the end or reversed is not.
            read_range(f, &info.name, len..len, 3, None);
            assert!(
                !read_range(f, &info.name, len.saturating_sub(1)..len + 1, 3, None),
                "read_f64({:?}) accepted a range past its {len} elements",
                info.name
            );
            if len >= 2 {
                #[allow(clippy::reversed_empty_ranges)]
                let reversed = 2..1;
                assert!(
                    !read_range(f, &info.name, reversed, 3, None),
                    "read_f64({:?}) accepted the reversed range 2..1",
                    info.name
                );
            }
            // Floats are not ids; the reader may refuse, but must not panic.
            let _ = f.read_i64(&info.name);
        } else {
            if let Ok(v) = f.read_i64(&info.name) {
                assert_eq!(
                    v.len(),
                    len,
                    "read_i64({:?}) returned {} values for {len} elements",
                    info.name,
                    v.len()
                );
            }
            // Integers read as floats: either answer is allowed.
            if len <= budget {
                budget -= len;
                read_range(f, &info.name, 0..len, 4096, None);
            }
        }
        let _ = f.read_strings(&info.name);
    }
    if !infos.iter().any(|t| t.name == NO_SUCH) {
        assert!(
            !read_range(f, NO_SUCH, 0..0, 1, None),
            "read_f64 accepted an unknown tensor"
        );
        assert!(
            f.read_i64(NO_SUCH).is_err(),
            "read_i64 accepted an unknown tensor"
        );
        let _ = f.read_strings(NO_SUCH);
    }
}

/// `npy`: the input is one `.npy` file.
pub fn npy(data: &[u8]) {
    if let Ok(mut f) = NpyFile::open("fuzz.npy", "fuzz", cursor(data), data.len() as u64) {
        exercise(&mut f, seed_of(data));
    }
}

/// `npz`: the input is one `.npz` (zip) file.
pub fn npz(data: &[u8]) {
    if let Ok(mut f) = NpzFile::open("fuzz.npz", cursor(data)) {
        exercise(&mut f, seed_of(data));
    }
}

/// Builds a well-formed zip from a `*_members` input, so mutations land in member contents
/// without being caught by the zip's CRCs: byte 0 chooses, bit `i % 8`, whether member `i` is
/// deflated or stored; the rest is records separated by [`MEMBER_SEP`], each a member name, a
/// NUL, and the member's bytes. Members the zip writer refuses (duplicate names) are left out.
pub fn zip_members(data: &[u8]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    use zip::CompressionMethod;

    let (flags, rest) = match data.split_first() {
        Some((&f, r)) => (f, r),
        None => (0, data),
    };
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (i, record) in split(rest, MEMBER_SEP).into_iter().enumerate() {
        let (name, body) = match record.iter().position(|&b| b == 0) {
            Some(p) => (&record[..p], &record[p + 1..]),
            None => (record, &[][..]),
        };
        let method = if flags >> (i % 8) & 1 == 1 {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default().compression_method(method);
        let name = String::from_utf8_lossy(name).into_owned();
        if w.start_file(name, options).is_ok() {
            let _ = w.write_all(body);
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

fn split<'a>(mut data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(p) = data.windows(sep.len()).position(|w| w == sep) {
        out.push(&data[..p]);
        data = &data[p + sep.len()..];
    }
    out.push(data);
    out
}

/// `npz_members`: `.npy` members (see [`zip_members`]) in a valid zip, read as an `.npz`.
pub fn npz_members(data: &[u8]) {
    npz(&zip_members(data));
}

/// `safetensors`: the input is one `.safetensors` file.
pub fn safetensors(data: &[u8]) {
    if let Ok(mut f) = SafetensorsFile::open("fuzz.safetensors", cursor(data), data.len() as u64) {
        exercise(&mut f, seed_of(data));
    }
}

/// `torch`: the input is one `torch.save` checkpoint (zip).
pub fn torch(data: &[u8]) {
    if let Ok(mut f) = TorchFile::open("fuzz.pt", cursor(data)) {
        exercise(&mut f, seed_of(data));
    }
}

/// `torch_members`: `data.pkl`, storages and records (see [`zip_members`]) in a valid zip, read
/// as a checkpoint.
pub fn torch_members(data: &[u8]) {
    torch(&zip_members(data));
}

/// `pickle`: the input is one pickle, decoded by the closed pickle VM alone.
pub fn pickle(data: &[u8]) {
    if let Ok(v) = pickle::parse(data) {
        let _ = (v.as_str(), v.as_int(), v.as_seq().map(<[_]>::len));
    }
}

/// `tsv_vectors`: the input is one `vectors.tsv`.
pub fn tsv_vectors(data: &[u8]) {
    if let Ok(mut f) = TsvVectors::open("vectors.tsv", cursor(data)) {
        let _ = (f.rows(), f.dim());
        exercise(&mut f, seed_of(data));
    }
}

/// `tsv_metadata`: the input is one `metadata.tsv`.
pub fn tsv_metadata(data: &[u8]) {
    if let Ok(mut f) = TsvMetadata::open("metadata.tsv", cursor(data)) {
        let _ = (f.rows(), f.has_header());
        exercise(&mut f, seed_of(data));
    }
}

/// `raw_f32`: byte 0 chooses the shape given with the file, the rest is the file. Low 6 bits
/// plus one are `d`; the top bits choose `[n, d]` with `n` from the length (usually matching),
/// `[len / 4]`, `[n, d, 2]`, or a shape whose byte size overflows.
pub fn raw_f32(data: &[u8]) {
    let (sel, body) = match data.split_first() {
        Some((&s, b)) => (usize::from(s), b),
        None => return,
    };
    let d = 1 + (sel & 63);
    let n = body.len() / 4 / d;
    let shape: Vec<usize> = match sel >> 6 {
        0 => vec![n, d],
        1 => vec![body.len() / 4],
        2 => vec![n / 2, d, 2],
        _ => vec![usize::MAX / 2 + d, 3],
    };
    if let Ok(mut f) = RawF32::open("fuzz.bytes", cursor(body), body.len() as u64, &shape) {
        exercise(&mut f, seed_of(data));
    }
}

/// File names `open_detect` gives its input, chosen by byte 0 (low 3 bits), so sniffing by
/// extension is exercised as well as by magic; the second name is used when bit 3 asks for a
/// two-file dataset (the input opened twice).
pub const OPEN_NAMES: [(&str, &str); 8] = [
    ("dump.npz", "more.npz"),
    ("layer_0.npy", "layer_1.npy"),
    ("hidden.safetensors", "more.safetensors"),
    ("model.pt", "more.pt"),
    ("vectors.tsv", "metadata.tsv"),
    ("metadata.tsv", "labels.tsv"),
    ("vectors.bytes", "more.bytes"),
    ("dump", "input_ids.npy"),
];

/// `open_detect`: byte 0 chooses the name (see [`OPEN_NAMES`]), the rest is the file, opened by
/// format sniffing and handed to layout detection, then exercised like every reader. For the
/// `.bytes` names, a raw float32 shape `[len / 4 / d, d]` is given, `d` being byte 0's top four
/// bits plus one.
pub fn open_detect(data: &[u8]) {
    let (sel, body) = match data.split_first() {
        Some((&s, b)) => (usize::from(s), b),
        None => return,
    };
    let (first, second) = OPEN_NAMES[sel & 7];
    let names: &[&str] = if sel & 8 != 0 {
        &[first, second]
    } else {
        &[first]
    };
    let d = 1 + (sel >> 4);
    let raw_shape = [body.len() / 4 / d, d];
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for name in names {
        let raw = name.ends_with(".bytes").then_some(&raw_shape[..]);
        match open::open(name, cursor(body), body.len() as u64, raw) {
            Ok(o) => {
                labels.push(o.labels_only);
                files.push(o.file);
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    }
    if let Err(e) = layout::detect(&mut files, &labels, &LayoutOverrides::default()) {
        let _ = e.to_string();
    }
    for f in &mut files {
        exercise(&mut **f, seed_of(data));
    }
}

/// `state`: the input is one saved analysis state (`infoplane merge` reads these from users).
/// When it loads, its report is read and it is merged with itself, which must double its counts
/// without changing any entropy.
pub fn state(data: &[u8]) {
    match infoplane::state::from_bytes("fuzz.state", data) {
        Ok(a) => {
            let report = infoplane::report::Report::from_analysis(&a);
            let _ = serde_json::to_string(&report);
            let mut twice = a.clone();
            if twice.merge(&a).is_ok() {
                let rows = |x: &infoplane::analysis::Analysis| {
                    x.layers.iter().map(|l| l.summary.rows).collect::<Vec<_>>()
                };
                let doubled: Vec<u64> = rows(&a).iter().map(|r| r.saturating_mul(2)).collect();
                assert_eq!(rows(&twice), doubled, "merging a state with itself");
            }
        }
        Err(e) => {
            assert!(!e.contains('\n'), "multi-line message: {e}");
        }
    }
}

/// Every target by name, for the regression test.
/// A fuzz target: its name and the function run on each input.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: &[Target] = &[
    ("npy", npy),
    ("npz", npz),
    ("npz_members", npz_members),
    ("safetensors", safetensors),
    ("torch", torch),
    ("torch_members", torch_members),
    ("pickle", pickle),
    ("tsv_vectors", tsv_vectors),
    ("tsv_metadata", tsv_metadata),
    ("raw_f32", raw_f32),
    ("open_detect", open_detect),
    ("state", state),
];
