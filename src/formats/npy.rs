//! `.npy` arrays (format versions 1, 2 and 3; C or Fortran order; either byte order), read
//! defensively: the header is size-checked before it is parsed (npyz parses the dict and dtype),
//! the shape is checked for overflow and against the bytes present, and data is decoded in bounded
//! chunks. [`NpyFile`] is one `.npy` file as a [`TensorFile`].

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::ops::Range;

use npyz::{DType as NpyDType, Endianness, NpyHeader, Order, TypeChar};

use super::tensor::{
    checked_len, chunk_read_failure, decode_i64, decode_strings, dense_ids, ByteOrder, DType,
    FloatDecoder, FloatSink, Floats, StoredSpan, StreamError, TensorFile, TensorInfo,
};
use super::FormatError;

/// numpy refuses headers above 10 000 bytes by default; allow more, but never an allocation sized by
/// an untrusted length field.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Fortran-ordered arrays are transposed in memory; beyond this size they are refused instead.
pub const MAX_FORTRAN_BYTES: usize = 1 << 30;

/// Opening brackets accepted in a header: the dict and the shape, with room to spare (records,
/// which would need more, are refused anyway).
const MAX_HEADER_NESTING: usize = 4;

/// What an `.npy` header says, checked against the bytes present.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub byte_order: ByteOrder,
    /// Stored in Fortran (column-major) order.
    pub fortran: bool,
    /// Bytes before the first data byte.
    pub data_offset: u64,
}

impl Header {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads and checks the header of a `.npy` stream, leaving `reader` at the first data byte.
/// `available` is the number of bytes the stream holds in all.
pub fn read_header<R: Read>(
    file: &str,
    tensor: &str,
    reader: &mut R,
    available: u64,
) -> Result<Header, FormatError> {
    let err = |m: String| FormatError::new(file, Some(tensor), m);
    let mut preamble = [0u8; 8];
    reader
        .read_exact(&mut preamble)
        .map_err(|_| err("not a .npy array (too short for the header)".into()))?;
    if &preamble[..6] != b"\x93NUMPY" {
        return Err(err("not a .npy array (bad magic bytes)".into()));
    }
    let mut len_bytes = vec![0u8; if preamble[6] == 1 { 2 } else { 4 }];
    if !matches!(preamble[6], 1..=3) {
        return Err(err(format!(
            "unsupported .npy format version {}",
            preamble[6]
        )));
    }
    reader
        .read_exact(&mut len_bytes)
        .map_err(|_| err("truncated .npy header".into()))?;
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |a, &b| (a << 8) | usize::from(b));
    let prefix = 8 + len_bytes.len();
    if header_len > MAX_HEADER_BYTES || (prefix + header_len) as u64 > available {
        return Err(err(format!(
            "header claims {header_len} bytes, more than the file holds"
        )));
    }
    let mut head = Vec::with_capacity(prefix + header_len);
    head.extend_from_slice(&preamble);
    head.extend_from_slice(&len_bytes);
    head.resize(prefix + header_len, 0);
    reader
        .read_exact(&mut head[prefix..])
        .map_err(|_| err("truncated .npy header".into()))?;
    let text = String::from_utf8_lossy(&head[prefix..]).into_owned();
    // npyz's literal parser backtracks exponentially on deeply nested brackets (found by fuzzing:
    // a 151-byte header hung it). numpy writes a flat dict, and records are refused anyway, so
    // anything nested deeper than a record descr is not a numpy header.
    if nesting_depth(&text) > MAX_HEADER_NESTING {
        return Err(err(
            "header is not a numpy header dict (brackets nested too deeply)".into(),
        ));
    }
    let shape = parse_shape(&text).map_err(err)?;
    let len = checked_len(&shape).ok_or_else(|| err(format!("shape {shape:?} overflows")))?;

    // Version 1 and 2 headers are latin-1, version 3 utf-8; npyz handles both once the length
    // is known to be sane.
    let header = NpyHeader::from_reader(Cursor::new(&head))
        .map_err(|e| err(format!("unreadable .npy header ({e})")))?;
    let (dtype, byte_order) = match header.dtype() {
        NpyDType::Plain(ts) => {
            let order = if ts.endianness() == Endianness::Big {
                ByteOrder::Big
            } else {
                ByteOrder::Little
            };
            let dtype = match (ts.type_char(), ts.size_field()) {
                (TypeChar::Float, 2) => DType::F16,
                (TypeChar::Float, 4) => DType::F32,
                (TypeChar::Float, 8) => DType::F64,
                (TypeChar::Int, 1) => DType::I8,
                (TypeChar::Int, 2) => DType::I16,
                (TypeChar::Int, 4) => DType::I32,
                (TypeChar::Int, 8) => DType::I64,
                (TypeChar::Uint, 1) => DType::U8,
                (TypeChar::Uint, 2) => DType::U16,
                (TypeChar::Uint, 4) => DType::U32,
                (TypeChar::Uint, 8) => DType::U64,
                (TypeChar::Bool, 1) => DType::Bool,
                (TypeChar::UnicodeStr, n) if n > 0 && n <= 1 << 16 => DType::Utf32(n as usize),
                (TypeChar::ByteStr, n) if n > 0 && n <= 1 << 18 => DType::Bytes(n as usize),
                (TypeChar::Object, _) => {
                    return Err(err(format!(
                        "holds Python objects (dtype '{ts}'), which only unpickling could read; pickles are never executed"
                    )))
                }
                _ => return Err(err(format!("unsupported dtype '{ts}'"))),
            };
            (dtype, order)
        }
        other => {
            return Err(err(format!(
                "unsupported dtype {} (records and sub-arrays are not read)",
                other.descr()
            )))
        }
    };
    let data_offset = (prefix + header_len) as u64;
    let data_bytes = (len as u64).saturating_mul(dtype.size() as u64);
    if data_bytes > available - data_offset {
        return Err(err(format!(
            "shape {shape:?} needs {data_bytes} bytes of data but the file holds {}",
            available - data_offset
        )));
    }
    Ok(Header {
        fortran: header.order() == Order::Fortran && shape.len() > 1,
        shape,
        dtype,
        byte_order,
        data_offset,
    })
}

/// How many brackets the header text opens, inside quotes or not. A plain numpy header opens two
/// (the dict and the shape); counting every opening bracket cannot be fooled by quotes, escapes or
/// brackets closed inside strings, all of which fuzzing used against a depth count.
fn nesting_depth(text: &str) -> usize {
    text.chars()
        .filter(|c| matches!(c, '(' | '[' | '{'))
        .count()
}

/// Extracts the `'shape': (...)` tuple from the header dict text, without trusting it.
fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let start = text
        .find("'shape'")
        .ok_or_else(|| "header has no 'shape'".to_string())?;
    let rest = &text[start + 7..];
    let open = rest
        .find('(')
        .ok_or_else(|| "header 'shape' is not a tuple".to_string())?;
    let close = rest[open..]
        .find(')')
        .ok_or_else(|| "header 'shape' is not a tuple".to_string())?;
    rest[open + 1..open + close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("header 'shape' has a bad dimension '{s}'"))
        })
        .collect()
}

/// Streams `count` elements from `reader` (positioned at the first of them) to `sink` as
/// [`Floats`], in chunks of `chunk` elements (the last may be shorter).
pub fn stream_floats<R: Read>(
    reader: &mut R,
    header: &Header,
    count: usize,
    chunk: usize,
    sink: &mut FloatSink<'_>,
    err: &dyn Fn(String) -> FormatError,
) -> Result<(), StreamError> {
    if !header.dtype.is_float() {
        return Err(err(format!(
            "holds {}, expected floating-point values",
            header.dtype.name()
        ))
        .into());
    }
    let chunk = chunk.max(1);
    let (mut raw, mut decoder) = (Vec::new(), FloatDecoder::default());
    let mut left = count;
    while left > 0 {
        let n = chunk.min(left);
        let values = decoder
            .read(reader, header.dtype, header.byte_order, n, &mut raw)
            .map_err(|e| err(chunk_read_failure(&e, chunk, None)))?;
        sink(values).map_err(StreamError::Sink)?;
        left -= n;
    }
    Ok(())
}

/// Reads all elements of a text array, in C order.
pub fn read_all_strings<R: Read>(
    reader: &mut R,
    header: &Header,
    err: &dyn Fn(String) -> FormatError,
) -> Result<Vec<String>, FormatError> {
    if !header.dtype.is_text() {
        return Err(err(format!("holds {}, not text", header.dtype.name())));
    }
    // The length was checked against the bytes present, so this allocation is bounded by the file.
    let mut raw = vec![0u8; header.len() * header.dtype.size()];
    reader
        .read_exact(&mut raw)
        .map_err(|e| err(format!("data is truncated or unreadable ({e})")))?;
    let values = decode_strings(header.dtype, header.byte_order, &raw);
    Ok(if header.fortran {
        fortran_to_c(&values, &header.shape)
    } else {
        values
    })
}

/// Reads all elements of an integer or bool array, in C order; text arrays give dense ids in order
/// of first appearance.
pub fn read_all_i64<R: Read>(
    reader: &mut R,
    header: &Header,
    err: &dyn Fn(String) -> FormatError,
) -> Result<Vec<i64>, FormatError> {
    if header.dtype.is_text() {
        return Ok(dense_ids(&read_all_strings(reader, header, err)?));
    }
    if header.dtype.is_float() {
        return Err(err(format!(
            "holds {}, expected integers",
            header.dtype.name()
        )));
    }
    let size = header.dtype.size();
    // The length was checked against the bytes present, so this allocation is bounded by the file.
    let mut raw = vec![0u8; header.len() * size];
    reader
        .read_exact(&mut raw)
        .map_err(|e| err(format!("data is truncated or unreadable ({e})")))?;
    let values = raw
        .chunks_exact(size)
        .map(|c| {
            decode_i64(header.dtype, header.byte_order, c)
                .ok_or_else(|| err("holds an integer beyond the int64 range".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if header.fortran {
        fortran_to_c(&values, &header.shape)
    } else {
        values
    })
}

/// Reads a whole Fortran-ordered float array and returns it in C order (bounded by
/// [`MAX_FORTRAN_BYTES`]).
pub fn read_fortran_f64<R: Read>(
    reader: &mut R,
    header: &Header,
    err: &dyn Fn(String) -> FormatError,
) -> Result<Vec<f64>, FormatError> {
    let len = header.len();
    if len.saturating_mul(8) > MAX_FORTRAN_BYTES {
        return Err(err(format!(
            "is stored in Fortran order and too large ({len} elements) to transpose in memory; save it with np.ascontiguousarray"
        )));
    }
    let mut values = Vec::with_capacity(len);
    let mut sink = |c: Floats<'_>| {
        c.widen_into(&mut values);
        Ok(())
    };
    stream_floats(reader, header, len, 1 << 16, &mut sink, err).map_err(|e| match e {
        StreamError::Format(f) => f,
        StreamError::Sink(s) => err(s.to_string()),
    })?;
    Ok(fortran_to_c(&values, &header.shape))
}

/// Reorders column-major `values` of `shape` into row-major order.
pub fn fortran_to_c<T: Clone>(values: &[T], shape: &[usize]) -> Vec<T> {
    let n = values.len();
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; shape.len()];
    // Column-major strides.
    let mut strides = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        strides[k] = strides[k - 1] * shape[k - 1];
    }
    for _ in 0..n {
        let at: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.push(values[at].clone());
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Serves a `range` of an in-memory C-ordered array to a sink in chunks.
pub fn serve_f64(
    values: &[f64],
    range: Range<usize>,
    chunk: usize,
    sink: &mut FloatSink<'_>,
) -> Result<(), StreamError> {
    for c in values[range].chunks(chunk.max(1)) {
        sink(Floats::F64(c)).map_err(StreamError::Sink)?;
    }
    Ok(())
}

/// One `.npy` file as a tensor file holding a single tensor, named after the file (its stem).
pub struct NpyFile<R: Read + Seek> {
    file: String,
    reader: R,
    header: Header,
    tensors: Vec<TensorInfo>,
}

impl<R: Read + Seek> NpyFile<R> {
    /// Opens `reader` (of `file_len` bytes); the tensor is called `tensor`.
    pub fn open(
        file: &str,
        tensor: &str,
        mut reader: R,
        file_len: u64,
    ) -> Result<Self, FormatError> {
        let header = read_header(file, tensor, &mut reader, file_len)?;
        let tensors = vec![TensorInfo {
            name: tensor.to_owned(),
            dtype: header.dtype,
            shape: header.shape.clone(),
        }];
        Ok(Self {
            file: file.to_owned(),
            reader,
            header,
            tensors,
        })
    }

    fn seek_to(&mut self, element: usize) -> Result<(), FormatError> {
        let at = self.header.data_offset + (element * self.header.dtype.size()) as u64;
        self.reader
            .seek(SeekFrom::Start(at))
            .map(|_| ())
            .map_err(|e| self.error(format!("cannot seek ({e})")))
    }

    fn error(&self, m: String) -> FormatError {
        FormatError::new(&self.file, Some(&self.tensors[0].name), m)
    }

    fn check(&self, tensor: &str) -> Result<(), FormatError> {
        if tensor != self.tensors[0].name {
            return Err(FormatError::new(&self.file, Some(tensor), "no such tensor"));
        }
        Ok(())
    }
}

impl<R: Read + Seek> TensorFile for NpyFile<R> {
    fn file_name(&self) -> &str {
        &self.file
    }
    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }
    fn read_floats(
        &mut self,
        tensor: &str,
        range: Range<usize>,
        chunk: usize,
        sink: &mut FloatSink<'_>,
    ) -> Result<(), StreamError> {
        self.check(tensor)?;
        check_range(&self.file, tensor, &range, self.header.len())?;
        let header = self.header.clone();
        let (file, name) = (self.file.clone(), tensor.to_owned());
        let err = move |m: String| FormatError::new(&file, Some(&name), m);
        if header.fortran {
            self.seek_to(0)?;
            let values = read_fortran_f64(&mut self.reader, &header, &err)?;
            return serve_f64(&values, range, chunk, sink);
        }
        self.seek_to(range.start)?;
        stream_floats(&mut self.reader, &header, range.len(), chunk, sink, &err)
    }
    fn stored_span(&self, tensor: &str, range: Range<usize>) -> Option<StoredSpan> {
        (tensor == self.tensors[0].name)
            .then(|| stored_span(&self.header, 0, &range))
            .flatten()
    }
    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        self.check(tensor)?;
        self.seek_to(0)?;
        let header = self.header.clone();
        let (file, name) = (self.file.clone(), tensor.to_owned());
        read_all_i64(&mut self.reader, &header, &move |m| {
            FormatError::new(&file, Some(&name), m)
        })
    }
    fn read_strings(&mut self, tensor: &str) -> Result<Vec<String>, FormatError> {
        self.check(tensor)?;
        self.seek_to(0)?;
        let header = self.header.clone();
        let (file, name) = (self.file.clone(), tensor.to_owned());
        read_all_strings(&mut self.reader, &header, &move |m| {
            FormatError::new(&file, Some(&name), m)
        })
    }
}

/// Where elements `range` of the array described by `header` lie in a file whose `.npy` bytes
/// start at byte `npy_start`: see [`TensorFile::stored_span`]. `None` for Fortran order, non-float
/// types and ranges outside the array.
pub(crate) fn stored_span(
    header: &Header,
    npy_start: u64,
    range: &Range<usize>,
) -> Option<StoredSpan> {
    if header.fortran
        || !header.dtype.is_float()
        || range.start > range.end
        || range.end > header.len()
    {
        return None;
    }
    StoredSpan {
        offset: npy_start.checked_add(header.data_offset)?,
        dtype: header.dtype,
        order: header.byte_order,
    }
    .skip(range.start)
}

/// Refuses element ranges outside a tensor of `len` elements.
pub fn check_range(
    file: &str,
    tensor: &str,
    range: &Range<usize>,
    len: usize,
) -> Result<(), FormatError> {
    if range.start > range.end || range.end > len {
        return Err(FormatError::new(
            file,
            Some(tensor),
            format!("elements {}..{} requested of {len}", range.start, range.end),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_transposed() {
        // np.arange(6).reshape(2, 3, order='F') stores 0..6 column-major: [[0, 2, 4], [1, 3, 5]].
        assert_eq!(
            fortran_to_c(&[0, 1, 2, 3, 4, 5], &[2, 3]),
            vec![0, 2, 4, 1, 3, 5]
        );
        let v: Vec<usize> = (0..24).collect();
        let c = fortran_to_c(&v, &[2, 3, 4]);
        // Element (i, j, k) = (1, 2, 3) sits at (i·3 + j)·4 + k in C order and i + 2j + 6k in
        // Fortran order.
        assert_eq!(c[(3 + 2) * 4 + 3], 1 + 2 * 2 + 6 * 3);
    }

    #[test]
    fn deeply_nested_headers_are_refused_before_parsing() {
        assert_eq!(nesting_depth("{'descr': '<f4', 'shape': (3, 4), }"), 2);
        assert!(nesting_depth("{'descr': '((((', 'shape': (3,), }") > MAX_HEADER_NESTING);
        assert!(nesting_depth("{'x': [']', [']', [']', [']', [']'}") > MAX_HEADER_NESTING);
    }

    #[test]
    fn shapes_are_parsed_without_trust() {
        assert_eq!(
            parse_shape("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }").unwrap(),
            vec![3, 4]
        );
        assert_eq!(
            parse_shape("{'shape': (), 'descr': '<f4'}").unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(parse_shape("{'shape': (7,), }").unwrap(), vec![7]);
        assert!(parse_shape("{'shape': (-1,), }").is_err());
        assert!(parse_shape("{'descr': '<f4'}").is_err());
    }
}
