//! What every reader offers the rest of infoplane: a list of named tensors with dtype and shape, and
//! reading of their elements in chunks (floats as f32 or f64, see [`Floats`]; ids as i64). Layout
//! detection and analysis only see this interface, so a new format is one new reader.

use std::ops::Range;

use super::FormatError;

/// Element type of a stored tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    BF16,
    F32,
    F64,
    /// numpy `U<n>`: fixed-width text of n UTF-32 code points (labels only).
    Utf32(usize),
    /// numpy `S<n>`: fixed-width bytes, zero-padded (labels only).
    Bytes(usize),
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
            DType::Utf32(n) => 4 * n,
            DType::Bytes(n) => n,
        }
    }

    /// numpy's / torch's name for the type, for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::Utf32(_) => "str",
            DType::Bytes(_) => "bytes",
        }
    }

    /// Whether the elements are floating point (rows) rather than integers (ids, labels).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Whether the elements are text (label values only).
    pub fn is_text(self) -> bool {
        matches!(self, DType::Utf32(_) | DType::Bytes(_))
    }
}

/// Byte order of stored elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

/// One tensor a file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Name within the file (`hidden_states`, `blocks.3.hook_resid_post`, `hidden_states.2` for the
    /// third item of a list under `hidden_states`).
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Number of elements (the product of the shape; readers check it does not overflow).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why streaming stopped: the file was bad, or the consumer of the elements refused them.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("{0}")]
    Sink(Box<dyn std::error::Error + Send + Sync>),
}

/// Receives consecutive chunks of f64 elements; an `Err` stops the stream.
pub type Sink<'a> = dyn FnMut(&[f64]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> + 'a;

/// A chunk of float elements as decoded: f32 for float32, float16 and bfloat16 tensors (each of
/// their values is an f32 exactly), f64 for float64 ones. Widening float32 rows to f64 and copying
/// them again had been a sixth of a d = 2048 analysis; the estimator takes either.
#[derive(Clone, Copy, Debug)]
pub enum Floats<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl Floats<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Floats::F32(v) => v.len(),
            Floats::F64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends the values to `out` as f64 (exact for either type).
    pub fn widen_into(self, out: &mut Vec<f64>) {
        match self {
            Floats::F32(v) => out.extend(v.iter().map(|&x| f64::from(x))),
            Floats::F64(v) => out.extend_from_slice(v),
        }
    }
}

/// Where a run of a float tensor's elements lies in its file, stored as they are read: raw,
/// uncompressed bytes from `offset` on (see [`TensorFile::stored_span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredSpan {
    /// The file's byte at which the first element starts.
    pub offset: u64,
    pub dtype: DType,
    pub order: ByteOrder,
}

impl StoredSpan {
    /// The file bytes of `elements` elements from the span's start on (`None` on overflow).
    pub fn bytes(&self, elements: usize) -> Option<Range<u64>> {
        let len = u64::try_from(elements.checked_mul(self.dtype.size())?).ok()?;
        Some(self.offset..self.offset.checked_add(len)?)
    }

    /// The span of the elements that start `elements` elements after this one's first.
    pub fn skip(&self, elements: usize) -> Option<StoredSpan> {
        Some(StoredSpan {
            offset: self.bytes(elements)?.end,
            ..*self
        })
    }
}

/// Receives consecutive chunks of float elements; an `Err` stops the stream.
pub type FloatSink<'a> =
    dyn FnMut(Floats<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> + 'a;

/// Decodes each element of `$bytes` (`$n` bytes of type `$t` in byte order `$order`) with `$conv`
/// into `$out`.
macro_rules! decode_each {
    ($out:expr, $bytes:expr, $order:expr, $t:ty, $n:expr, $conv:expr) => {
        for (o, c) in $out.iter_mut().zip($bytes.chunks_exact($n)) {
            let mut b = [0u8; $n];
            b.copy_from_slice(c);
            let v = match $order {
                ByteOrder::Little => <$t>::from_le_bytes(b),
                ByteOrder::Big => <$t>::from_be_bytes(b),
            };
            *o = $conv(v);
        }
    };
}

/// Decodes chunks of stored float elements into buffers it keeps, so a stream allocates once.
#[derive(Debug, Default)]
pub struct FloatDecoder {
    narrow: Vec<f32>,
    wide: Vec<f64>,
}

impl FloatDecoder {
    /// Reads `n` elements of `dtype` in `order` from `reader` and decodes them: little-endian
    /// float32 straight into the f32 buffer (a d = 2048 analysis had spent 4 % copying it from a
    /// byte buffer), other types through `raw`. Memory for the buffers is asked for, not assumed.
    pub fn read<R: std::io::Read + ?Sized>(
        &mut self,
        reader: &mut R,
        dtype: DType,
        order: ByteOrder,
        n: usize,
        raw: &mut Vec<u8>,
    ) -> std::io::Result<Floats<'_>> {
        let no_memory = |_: std::collections::TryReserveError| {
            std::io::Error::from(std::io::ErrorKind::OutOfMemory)
        };
        if dtype == DType::F32 && order == ByteOrder::Little && cfg!(target_endian = "little") {
            // Grown (and zeroed) once; later chunks overwrite it.
            if self.narrow.len() < n {
                self.narrow
                    .try_reserve_exact(n - self.narrow.len())
                    .map_err(no_memory)?;
                self.narrow.resize(n, 0.0);
            }
            let values = &mut self.narrow[..n];
            reader.read_exact(bytemuck::cast_slice_mut(values))?;
            return Ok(Floats::F32(values));
        }
        let len = n
            .checked_mul(dtype.size())
            .ok_or(std::io::ErrorKind::OutOfMemory)?;
        if raw.len() < len {
            raw.try_reserve_exact(len - raw.len()).map_err(no_memory)?;
            raw.resize(len, 0);
        }
        reader.read_exact(&mut raw[..len])?;
        Ok(self.decode(dtype, order, &raw[..len]))
    }

    /// `bytes` (whole elements of `dtype` in `order`) as [`Floats`]: f32 for float32, float16 and
    /// bfloat16 (exact), f64 for the rest.
    pub fn decode(&mut self, dtype: DType, order: ByteOrder, bytes: &[u8]) -> Floats<'_> {
        let n = bytes.len() / dtype.size();
        let narrow = &mut self.narrow;
        match dtype {
            DType::F32 | DType::F16 | DType::BF16 => narrow.resize(n, 0.0),
            _ => {
                self.wide.resize(n, 0.0);
                decode_f64(dtype, order, bytes, &mut self.wide);
                return Floats::F64(&self.wide);
            }
        }
        match dtype {
            DType::F16 => decode_each!(narrow, bytes, order, u16, 2, |v: u16| {
                half::f16::from_bits(v).to_f32()
            }),
            DType::BF16 => decode_each!(narrow, bytes, order, u16, 2, |v: u16| {
                half::bf16::from_bits(v).to_f32()
            }),
            _ => decode_each!(narrow, bytes, order, f32, 4, |v: f32| v),
        }
        Floats::F32(narrow)
    }
}

/// The message for a failed [`FloatDecoder::read`] of chunks of `per` elements (the failing one
/// starting at element `at`, when known).
pub fn chunk_read_failure(e: &std::io::Error, per: usize, at: Option<usize>) -> String {
    match (e.kind(), at) {
        (std::io::ErrorKind::OutOfMemory, _) => {
            format!("chunks of {per} elements do not fit in memory")
        }
        (_, Some(at)) => format!("data is truncated or unreadable at element {at} ({e})"),
        (_, None) => format!("data is truncated or unreadable ({e})"),
    }
}

/// A file of named tensors, opened on bytes or a reader (never a path).
pub trait TensorFile {
    /// The file's name, used in every message.
    fn file_name(&self) -> &str;
    /// Every tensor the file holds, in file order.
    fn tensors(&self) -> &[TensorInfo];
    /// Free-form key/value metadata the file carries (safetensors `__metadata__`, ...).
    fn metadata(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Streams elements `range` (flat indices in C order) of the float tensor `tensor`, in chunks
    /// of at most `chunk` elements, to `sink`: f32 chunks for float32/16 and bfloat16 tensors, f64
    /// for float64 ones.
    fn read_floats(
        &mut self,
        tensor: &str,
        range: Range<usize>,
        chunk: usize,
        sink: &mut FloatSink<'_>,
    ) -> Result<(), StreamError>;
    /// Where elements `range` of the float tensor `tensor` lie in the file when they are stored
    /// there as plain bytes (not compressed, not transposed): a caller may then fetch those bytes
    /// itself (the page reads them ahead in another worker) and decode them with
    /// [`FloatDecoder::decode`], instead of [`read_floats`](Self::read_floats). `None` where the
    /// format, the member or the tensor does not allow it; what `read_floats` would refuse is
    /// refused by it, not here. The bytes are not checked against the file's length.
    fn stored_span(&self, _tensor: &str, _range: Range<usize>) -> Option<StoredSpan> {
        None
    }
    /// [`read_floats`](Self::read_floats) with every chunk as f64.
    fn read_f64(
        &mut self,
        tensor: &str,
        range: Range<usize>,
        chunk: usize,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let mut wide = Vec::new();
        self.read_floats(tensor, range, chunk, &mut |c| match c {
            Floats::F64(v) => sink(v),
            narrow => {
                wide.clear();
                narrow.widen_into(&mut wide);
                sink(&wide)
            }
        })
    }
    /// Reads a whole integer or bool tensor as i64 (ids, lengths, masks, labels).
    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError>;
    /// Reads a column of text labels (TSV metadata); formats without text say so.
    fn read_strings(&mut self, tensor: &str) -> Result<Vec<String>, FormatError> {
        Err(FormatError::new(
            self.file_name(),
            Some(tensor),
            "holds no text labels",
        ))
    }

    /// Looks a tensor up by name.
    fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors().iter().find(|t| t.name == name)
    }
}

/// Decodes `bytes` (whole elements of `dtype` in `order`) into `out`, one f64 per element.
/// Integers convert exactly up to 2^53; callers use this for float tensors.
pub fn decode_f64(dtype: DType, order: ByteOrder, bytes: &[u8], out: &mut [f64]) {
    match dtype {
        DType::F64 => decode_each!(out, bytes, order, f64, 8, |v: f64| v),
        DType::F32 => decode_each!(out, bytes, order, f32, 4, f64::from),
        DType::F16 => decode_each!(out, bytes, order, u16, 2, |v: u16| half::f16::from_bits(v)
            .to_f64()),
        DType::BF16 => decode_each!(out, bytes, order, u16, 2, |v: u16| half::bf16::from_bits(v)
            .to_f64()),
        DType::Bool | DType::U8 => decode_each!(out, bytes, order, u8, 1, f64::from),
        DType::I8 => decode_each!(out, bytes, order, i8, 1, f64::from),
        DType::I16 => decode_each!(out, bytes, order, i16, 2, f64::from),
        DType::U16 => decode_each!(out, bytes, order, u16, 2, f64::from),
        DType::I32 => decode_each!(out, bytes, order, i32, 4, f64::from),
        DType::U32 => decode_each!(out, bytes, order, u32, 4, f64::from),
        DType::I64 => decode_each!(out, bytes, order, i64, 8, |v: i64| v as f64),
        DType::U64 => decode_each!(out, bytes, order, u64, 8, |v: u64| v as f64),
        // Text never reaches here: readers refuse it as rows.
        DType::Utf32(_) | DType::Bytes(_) => out.fill(f64::NAN),
    }
}

/// Decodes fixed-width text elements (`U<n>` or `S<n>`), dropping the zero padding; invalid
/// code points or bytes become U+FFFD.
pub fn decode_strings(dtype: DType, order: ByteOrder, bytes: &[u8]) -> Vec<String> {
    match dtype {
        DType::Utf32(n) if n > 0 => bytes
            .chunks_exact(4 * n)
            .map(|item| {
                item.chunks_exact(4)
                    .map(|c| {
                        let c: [u8; 4] = c.try_into().expect("4 bytes");
                        match order {
                            ByteOrder::Little => u32::from_le_bytes(c),
                            ByteOrder::Big => u32::from_be_bytes(c),
                        }
                    })
                    .collect::<Vec<u32>>()
            })
            .map(|units| {
                let end = units.iter().rposition(|&u| u != 0).map_or(0, |p| p + 1);
                units[..end]
                    .iter()
                    .map(|&u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect()
            })
            .collect(),
        DType::Bytes(n) if n > 0 => bytes
            .chunks_exact(n)
            .map(|item| {
                let end = item.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                String::from_utf8_lossy(&item[..end]).into_owned()
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Maps text labels to dense ids in order of first appearance (only the partition matters).
pub fn dense_ids(values: &[String]) -> Vec<i64> {
    let mut seen = std::collections::HashMap::new();
    values
        .iter()
        .map(|v| {
            let next = seen.len() as i64;
            *seen.entry(v.as_str()).or_insert(next)
        })
        .collect()
}

/// Decodes one integer or bool element as i64; `None` for u64 values beyond i64 or for floats.
pub fn decode_i64(dtype: DType, order: ByteOrder, c: &[u8]) -> Option<i64> {
    let n = dtype.size();
    let mut b = [0u8; 8];
    match order {
        ByteOrder::Little => b[..n].copy_from_slice(&c[..n]),
        ByteOrder::Big => {
            b[..n].copy_from_slice(&c[..n]);
            b[..n].reverse();
        }
    }
    let raw = u64::from_le_bytes(b);
    let shift = 64 - 8 * n as u32;
    match dtype {
        DType::Bool => Some(i64::from(raw != 0)),
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => Some(((raw << shift) as i64) >> shift),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => i64::try_from(raw).ok(),
        _ => None,
    }
}

/// Checked element count of a shape: `None` if the product overflows.
pub fn checked_len(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_of_every_width_decode() {
        let mut out = [0.0; 2];
        decode_f64(
            DType::F32,
            ByteOrder::Little,
            &[0, 0, 128, 63, 0, 0, 0, 192],
            &mut out,
        );
        assert_eq!(out, [1.0, -2.0]);
        decode_f64(DType::BF16, ByteOrder::Little, &[128, 63, 0, 192], &mut out);
        assert_eq!(out, [1.0, -2.0]);
        decode_f64(DType::F16, ByteOrder::Big, &[0x3c, 0, 0xc0, 0], &mut out);
        assert_eq!(out, [1.0, -2.0]);
        decode_f64(
            DType::F64,
            ByteOrder::Big,
            &[63, 240, 0, 0, 0, 0, 0, 0, 192, 0, 0, 0, 0, 0, 0, 0],
            &mut out,
        );
        assert_eq!(out, [1.0, -2.0]);
    }

    #[test]
    fn integers_decode_with_sign_and_range() {
        assert_eq!(
            decode_i64(DType::I16, ByteOrder::Little, &[0xfe, 0xff]),
            Some(-2)
        );
        assert_eq!(
            decode_i64(DType::I16, ByteOrder::Big, &[0xff, 0xfe]),
            Some(-2)
        );
        assert_eq!(
            decode_i64(DType::U16, ByteOrder::Little, &[0xfe, 0xff]),
            Some(65534)
        );
        assert_eq!(decode_i64(DType::U64, ByteOrder::Little, &[0xff; 8]), None);
        assert_eq!(decode_i64(DType::Bool, ByteOrder::Little, &[3]), Some(1));
        assert_eq!(decode_i64(DType::F32, ByteOrder::Little, &[0; 4]), None);
    }

    #[test]
    fn text_labels_decode_and_map_to_dense_ids() {
        let mut u = Vec::new();
        for s in ["ab", "c", "ab"] {
            let mut units: Vec<u32> = s.chars().map(|c| c as u32).collect();
            units.resize(2, 0);
            u.extend(units.iter().flat_map(|x| x.to_le_bytes()));
        }
        let v = decode_strings(DType::Utf32(2), ByteOrder::Little, &u);
        assert_eq!(v, ["ab", "c", "ab"]);
        assert_eq!(dense_ids(&v), [0, 1, 0]);
        let v = decode_strings(DType::Bytes(3), ByteOrder::Little, b"no\0yes");
        assert_eq!(v, ["no", "yes"]);
    }

    #[test]
    fn shape_products_are_checked() {
        assert_eq!(checked_len(&[2, 3, 4]), Some(24));
        assert_eq!(checked_len(&[]), Some(1));
        assert_eq!(checked_len(&[usize::MAX, 2]), None);
    }
}
