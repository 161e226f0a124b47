//! `.safetensors` files: an 8-byte little-endian header length, a JSON header giving each tensor's
//! dtype, shape and byte range, then the data. Opening reads and fully validates the header only;
//! elements are then streamed with seeks, so files far larger than memory are read in chunks.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::raw::{some_names, stream_le};
use super::tensor::{
    checked_len, decode_i64, ByteOrder, DType, FloatSink, StoredSpan, StreamError, TensorFile,
    TensorInfo,
};
use super::FormatError;

/// Largest header accepted, the limit of the reference implementation (the `safetensors` crate).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// numpy's limit on dimensions: a longer shape is refused while parsing rather than stored.
const MAX_DIMS: usize = 64;

/// Bytes decoded at a time by [`TensorFile::read_i64`].
const INT_CHUNK_BYTES: usize = 1 << 16;

const METADATA_KEY: &str = "__metadata__";

/// The dtypes infoplane decodes, by their safetensors names.
const DTYPES: [(&str, DType); 13] = [
    ("F16", DType::F16),
    ("BF16", DType::BF16),
    ("F32", DType::F32),
    ("F64", DType::F64),
    ("I8", DType::I8),
    ("I16", DType::I16),
    ("I32", DType::I32),
    ("I64", DType::I64),
    ("U8", DType::U8),
    ("U16", DType::U16),
    ("U32", DType::U32),
    ("U64", DType::U64),
    ("BOOL", DType::Bool),
];

/// An opened safetensors file: header validated, data read on demand.
///
/// Tensors are listed in the order of their data in the file (by `data_offsets`), which is also
/// the header's order in files written by the `safetensors` library; zero-sized tensors that share
/// an offset keep their header order.
///
/// The header is parsed here with serde_json rather than the `safetensors` crate: that crate's
/// `SafeTensors::read_metadata` wants the whole file in one buffer, and although its `Metadata`
/// deserializes from the header alone, its errors do not name the offending tensor
/// ("invalid shape, data type, or offset for tensor"), it keeps tensors in a `HashMap` (losing the
/// header's order and silently keeping one of two duplicate names), and it would add a dependency
/// for about a hundred lines of checks. The checks below are the same as its own: known dtype,
/// byte length = elements × size with checked arithmetic, and tensors covering the data buffer
/// exactly, with no overlap, no gap and nothing after the last tensor.
pub struct SafetensorsFile<R: Read + Seek> {
    file: String,
    reader: R,
    tensors: Vec<TensorInfo>,
    /// Absolute byte offset of each tensor's data in the file, parallel to `tensors`.
    starts: Vec<u64>,
    /// Position in `tensors` by name: headers may list millions of tensors.
    index: HashMap<String, usize>,
    metadata: Vec<(String, String)>,
}

impl<R: Read + Seek> SafetensorsFile<R> {
    /// Reads and validates the header of a safetensors file of `file_len` bytes held by `reader`.
    /// At most `min(file_len, MAX_HEADER_BYTES)` bytes are read and allocated.
    pub fn open(file: &str, mut reader: R, file_len: u64) -> Result<Self, FormatError> {
        let err = |m: String| FormatError::new(file, None, m);
        if file_len < 8 {
            return Err(err(format!(
                "not a safetensors file: {file_len} bytes is too short for the 8-byte header length"
            )));
        }
        let mut len_bytes = [0u8; 8];
        reader
            .seek(SeekFrom::Start(0))
            .and_then(|_| reader.read_exact(&mut len_bytes))
            .map_err(|e| err(format!("cannot read the header length ({e})")))?;
        let n = u64::from_le_bytes(len_bytes);
        if n > file_len - 8 {
            return Err(err(format!(
                "header length {n} is beyond the end of the file, which holds {file_len} bytes \
                 (truncated, or not a safetensors file)"
            )));
        }
        if n > MAX_HEADER_BYTES {
            return Err(err(format!(
                "header length {n} is above the {MAX_HEADER_BYTES}-byte limit of safetensors"
            )));
        }
        // n <= MAX_HEADER_BYTES, so this fits in usize on every target.
        let mut head = vec![0u8; n as usize];
        reader
            .read_exact(&mut head)
            .map_err(|e| err(format!("header is truncated or unreadable ({e})")))?;
        let header = parse_header(file, &head)?;
        drop(head);

        let data_start = 8 + n;
        let buffer_len = file_len - data_start;
        let mut index = HashMap::with_capacity(header.entries.len());
        let mut checked = Vec::with_capacity(header.entries.len());
        for (name, entry) in header.entries {
            if index.insert(name.clone(), 0).is_some() {
                return Err(FormatError::new(
                    file,
                    Some(&name),
                    "is listed twice in the header",
                ));
            }
            let (info, span) = check_entry(file, name, entry, buffer_len)?;
            checked.push((info, span));
        }
        // Stable: zero-sized tensors at one offset keep the header's order.
        checked.sort_by_key(|(_, span)| (span.start, span.end));
        let mut covered = 0u64;
        for (i, (info, span)) in checked.iter().enumerate() {
            let after = || match i {
                0 => "the start of the data".to_string(),
                _ => format!("tensor '{}'", checked[i - 1].0.name),
            };
            if span.start < covered {
                return Err(FormatError::new(
                    file,
                    Some(&info.name),
                    format!(
                        "data_offsets [{}, {}] overlap {} (which ends at {covered})",
                        span.start,
                        span.end,
                        after()
                    ),
                ));
            }
            if span.start > covered {
                return Err(FormatError::new(
                    file,
                    Some(&info.name),
                    format!(
                        "data_offsets [{}, {}] leave {} unused bytes after {}; safetensors data must be contiguous",
                        span.start,
                        span.end,
                        span.start - covered,
                        after()
                    ),
                ));
            }
            covered = span.end;
        }
        if covered != buffer_len {
            return Err(err(format!(
                "the tensors cover {covered} bytes of data but the file holds {buffer_len} after \
                 the header; safetensors data must end with the last tensor"
            )));
        }
        let (tensors, starts): (Vec<TensorInfo>, Vec<u64>) = checked
            .into_iter()
            .map(|(info, span)| (info, data_start + span.start))
            .unzip();
        for (i, t) in tensors.iter().enumerate() {
            index.insert(t.name.clone(), i);
        }
        Ok(Self {
            file: file.to_owned(),
            reader,
            tensors,
            starts,
            index,
            metadata: header.metadata,
        })
    }

    fn find(&self, tensor: &str) -> Result<usize, FormatError> {
        self.index.get(tensor).copied().ok_or_else(|| {
            let names = some_names(self.tensors.iter().map(|t| t.name.as_str()));
            FormatError::new(
                &self.file,
                Some(tensor),
                format!("is not in the file (it holds: {names})"),
            )
        })
    }
}

impl<R: Read + Seek> fmt::Debug for SafetensorsFile<R> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("SafetensorsFile")
            .field("file", &self.file)
            .field("tensors", &self.tensors)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> TensorFile for SafetensorsFile<R> {
    fn file_name(&self) -> &str {
        &self.file
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// `__metadata__`, in the header's order.
    fn metadata(&self) -> Vec<(String, String)> {
        self.metadata.clone()
    }

    fn read_floats(
        &mut self,
        tensor: &str,
        range: Range<usize>,
        chunk: usize,
        sink: &mut FloatSink<'_>,
    ) -> Result<(), StreamError> {
        let i = self.find(tensor)?;
        let info = &self.tensors[i];
        if !info.dtype.is_float() {
            return Err(FormatError::new(
                &self.file,
                Some(tensor),
                format!(
                    "holds {}, expected floating-point values",
                    info.dtype.name()
                ),
            )
            .into());
        }
        let (dtype, len) = (info.dtype, info.len());
        stream_le(
            &self.file,
            tensor,
            &mut self.reader,
            self.starts[i],
            dtype,
            len,
            range,
            chunk,
            sink,
        )
    }

    fn stored_span(&self, tensor: &str, range: Range<usize>) -> Option<StoredSpan> {
        let i = self.find(tensor).ok()?;
        let info = &self.tensors[i];
        (info.dtype.is_float() && range.start <= range.end && range.end <= info.len())
            .then(|| {
                StoredSpan {
                    offset: self.starts[i],
                    dtype: info.dtype,
                    order: ByteOrder::Little,
                }
                .skip(range.start)
            })
            .flatten()
    }

    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        let i = self.find(tensor)?;
        let info = &self.tensors[i];
        let err = |m: String| FormatError::new(&self.file, Some(tensor), m);
        if info.dtype.is_float() {
            return Err(err(format!(
                "holds {}, expected integers",
                info.dtype.name()
            )));
        }
        let (dtype, len, size) = (info.dtype, info.len(), info.dtype.size());
        self.reader
            .seek(SeekFrom::Start(self.starts[i]))
            .map_err(|e| err(format!("cannot seek to its data ({e})")))?;
        // len × size bytes were checked to lie within the file, so this is bounded by its size,
        // but on a 32-bit target a large file may still not fit.
        let mut out = Vec::new();
        out.try_reserve_exact(len)
            .map_err(|_| err(format!("{len} elements do not fit in memory")))?;
        let mut buf = vec![0u8; INT_CHUNK_BYTES.min(len.saturating_mul(size))];
        let per = buf.len() / size;
        while out.len() < len {
            let n = per.min(len - out.len());
            let bytes = &mut buf[..n * size];
            self.reader
                .read_exact(bytes)
                .map_err(|e| err(format!("data is truncated or unreadable ({e})")))?;
            for c in bytes.chunks_exact(size) {
                let v = decode_i64(dtype, ByteOrder::Little, c).ok_or_else(|| {
                    err(format!("element {} is beyond the int64 range", out.len()))
                })?;
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// One header entry as written; checked by [`check_entry`].
#[derive(Deserialize)]
#[serde(expecting = "a tensor entry: an object with dtype, shape and data_offsets")]
struct Entry {
    dtype: String,
    #[serde(deserialize_with = "bounded_shape")]
    shape: Vec<u64>,
    #[serde(deserialize_with = "offset_pair")]
    data_offsets: (u64, u64),
}

#[derive(Default)]
struct Header {
    /// In header order.
    entries: Vec<(String, Entry)>,
    metadata: Vec<(String, String)>,
}

/// Parses the header JSON, naming the entry that is malformed.
fn parse_header(file: &str, head: &[u8]) -> Result<Header, FormatError> {
    let mut current = None;
    let mut de = serde_json::Deserializer::from_slice(head);
    let parsed = HeaderSeed(&mut current)
        .deserialize(&mut de)
        .and_then(|h| de.end().map(|()| h));
    parsed.map_err(|e| {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => "header is not valid JSON",
            Category::Data => "header is malformed",
        };
        match current.as_deref() {
            Some(METADATA_KEY) => FormatError::new(
                file,
                None,
                format!("{what}: {METADATA_KEY} must map strings to strings ({e})"),
            ),
            Some(name) => FormatError::new(file, Some(name), format!("{what} ({e})")),
            None => FormatError::new(file, None, format!("{what} ({e})")),
        }
    })
}

/// Checks one entry against the data buffer; returns its info and byte range within the buffer.
fn check_entry(
    file: &str,
    name: String,
    entry: Entry,
    buffer_len: u64,
) -> Result<(TensorInfo, Range<u64>), FormatError> {
    let err = |m: String| FormatError::new(file, Some(&name), m);
    let dtype = DTYPES
        .iter()
        .find(|(n, _)| *n == entry.dtype)
        .map(|&(_, d)| d)
        .ok_or_else(|| {
            let known: Vec<&str> = DTYPES.iter().map(|(n, _)| *n).collect();
            err(format!(
                "has dtype '{}', which infoplane does not read (it reads {})",
                entry.dtype,
                known.join(", ")
            ))
        })?;
    let shape_text = format!("{:?}", entry.shape);
    let shape: Vec<usize> = entry
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| err(format!("shape {shape_text} is too large to address")))?;
    let bytes = checked_len(&shape)
        .and_then(|n| u64::try_from(n).ok())
        .and_then(|n| n.checked_mul(dtype.size() as u64))
        .ok_or_else(|| err(format!("shape {shape_text} is too large to address")))?;
    let (begin, end) = entry.data_offsets;
    if end < begin {
        return Err(err(format!("data_offsets [{begin}, {end}] run backwards")));
    }
    if end - begin != bytes {
        return Err(err(format!(
            "shape {shape_text} of {} needs {bytes} bytes, but data_offsets [{begin}, {end}] span {}",
            entry.dtype,
            end - begin
        )));
    }
    if end > buffer_len {
        return Err(err(format!(
            "data_offsets [{begin}, {end}] reach past the end of the data, which holds {buffer_len} \
             bytes (the file is truncated or its header is wrong)"
        )));
    }
    Ok((TensorInfo { name, dtype, shape }, begin..end))
}

/// Walks the top-level object in order, noting which key is being read so errors can name it.
struct HeaderSeed<'a>(&'a mut Option<String>);

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Header;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Header, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Header;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of tensors")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut header = Header::default();
        let mut seen_metadata = false;
        while let Some(key) = map.next_key::<String>()? {
            *self.0 = Some(key);
            let key = self.0.as_deref().unwrap_or_default();
            if key == METADATA_KEY {
                if seen_metadata {
                    return Err(de::Error::custom("it appears twice"));
                }
                seen_metadata = true;
                // The reference reader takes `null` as no metadata.
                header.metadata = map
                    .next_value::<Option<StringPairs>>()?
                    .map_or_else(Vec::new, |p| p.0);
            } else {
                let entry = map.next_value::<Entry>()?;
                header.entries.push((key.to_owned(), entry));
            }
        }
        *self.0 = None;
        Ok(header)
    }
}

/// A JSON object of strings, in its order.
struct StringPairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for StringPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    pairs.push((k, v));
                }
                Ok(StringPairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

/// A shape array, refused once it passes [`MAX_DIMS`] so a lying header cannot make it huge.
fn bounded_shape<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of at most {MAX_DIMS} non-negative integers")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
            let mut shape = Vec::new();
            while let Some(d) = seq.next_element::<u64>()? {
                if shape.len() == MAX_DIMS {
                    return Err(de::Error::custom(format!(
                        "shape has more than {MAX_DIMS} dimensions"
                    )));
                }
                shape.push(d);
            }
            Ok(shape)
        }
    }
    d.deserialize_seq(V)
}

/// `[begin, end]`; a derived tuple would report a third element as a JSON syntax error.
fn offset_pair<'de, D: Deserializer<'de>>(d: D) -> Result<(u64, u64), D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = (u64, u64);
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("data_offsets as [begin, end]")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(u64, u64), A::Error> {
            let wrong = || de::Error::custom("data_offsets must be [begin, end], two integers");
            let begin = seq.next_element::<u64>()?.ok_or_else(wrong)?;
            let end = seq.next_element::<u64>()?.ok_or_else(wrong)?;
            match seq.next_element::<de::IgnoredAny>()? {
                Some(_) => Err(wrong()),
                None => Ok((begin, end)),
            }
        }
    }
    d.deserialize_seq(V)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A file from a header text and a data buffer.
    fn st(header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn open(bytes: Vec<u8>) -> Result<SafetensorsFile<Cursor<Vec<u8>>>, FormatError> {
        let len = bytes.len() as u64;
        SafetensorsFile::open("t.safetensors", Cursor::new(bytes), len)
    }

    fn err(header: &str, data: &[u8]) -> String {
        match open(st(header, data)) {
            Ok(_) => panic!("accepted: {header}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn tensors_are_listed_in_data_order_with_metadata_kept() {
        let data: Vec<u8> = [7i64, -1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .chain([1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()))
            .collect();
        let header = r#"{"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},
            "__metadata__":{"z":"1","a":"2"},
            "empty":{"dtype":"F64","shape":[0,3],"data_offsets":[0,0]},
            "a":{"dtype":"I64","shape":[2],"data_offsets":[0,16],"extra":true}}"#;
        let mut f = open(st(header, &data)).unwrap();
        let names: Vec<&str> = f.tensors().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["empty", "a", "b"]);
        assert_eq!(
            f.metadata(),
            vec![("z".into(), "1".into()), ("a".into(), "2".into())]
        );
        assert_eq!(f.read_i64("a").unwrap(), vec![7, -1]);
        let mut got = Vec::new();
        f.read_f64("b", 0..2, 1, &mut |c: &[f64]| {
            got.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![1.5, -2.0]);
        assert!(f.read_f64("a", 0..1, 1, &mut |_: &[f64]| Ok(())).is_err());
        assert!(f.read_i64("b").is_err());
        assert!(f.read_i64("nope").unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn header_problems_name_the_tensor() {
        let cases: &[(&str, usize, &str)] = &[
            (
                r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}"#,
                8,
                "'x': is listed twice",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                8,
                "4 unused bytes",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                8,
                "cover 4 bytes",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
                8,
                "run backwards",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#,
                0,
                "too large",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"y":1},"__metadata__":{"k":3}}"#,
                8,
                "__metadata__ must map strings",
            ),
            (
                r#"{"x":{"shape":[2],"data_offsets":[0,8]}}"#,
                8,
                "'x': header is malformed (missing field `dtype`",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,
                8,
                "'x': header is malformed",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}"#,
                8,
                "'x': header is malformed",
            ),
            (r#"[1,2]"#, 0, "header is malformed"),
            (
                r#"{"x":5}"#,
                0,
                "'x': header is malformed (invalid type: integer `5`, expected a tensor entry",
            ),
            (
                r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x"#,
                8,
                "not valid JSON",
            ),
        ];
        for (header, data, want) in cases {
            let msg = err(header, &vec![0; *data]);
            assert!(msg.starts_with("t.safetensors: "), "{msg}");
            assert!(msg.contains(want), "{header}: {msg}");
        }
        let long = format!(
            r#"{{"x":{{"dtype":"F32","shape":[{}],"data_offsets":[0,4]}}}}"#,
            vec!["1"; 65].join(",")
        );
        assert!(err(&long, &[0; 4]).contains("more than 64 dimensions"));
        assert!(open(vec![1, 0, 0])
            .unwrap_err()
            .to_string()
            .contains("too short"));
    }

    #[test]
    fn an_empty_header_object_is_an_empty_file() {
        let f = open(st("{}", &[])).unwrap();
        assert!(f.tensors().is_empty());
        let f = open(st(r#"{"__metadata__":null}"#, &[])).unwrap();
        assert!(f.metadata().is_empty());
    }

    #[test]
    fn no_truncation_or_byte_flip_panics() {
        let data: Vec<u8> = (0..48u8).collect();
        let header = r#"{"__metadata__":{"m":"v"},"h":{"dtype":"BF16","shape":[2,4],"data_offsets":[0,16]},"i":{"dtype":"U64","shape":[4],"data_offsets":[16,48]}}"#;
        let good = st(header, &data);
        assert!(open(good.clone()).is_ok());
        let exercise = |bytes: Vec<u8>| {
            if let Ok(mut f) = open(bytes) {
                let names: Vec<String> = f.tensors().iter().map(|t| t.name.clone()).collect();
                for n in names {
                    let _ = f.read_i64(&n);
                    let _ = f.read_f64(&n, 0..1, 3, &mut |_: &[f64]| Ok(()));
                }
            }
        };
        for cut in 0..good.len() {
            assert!(open(good[..cut].to_vec()).is_err());
        }
        for i in 0..good.len() {
            for flip in [0x01u8, 0x20, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] ^= flip;
                exercise(b);
            }
        }
    }
}
