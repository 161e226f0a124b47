//! Raw little-endian float32 bytes with no header (the Embedding Projector's binary `tensorPath`,
//! `numpy.ndarray.tofile`): the user gives the shape, the file length must match it exactly. Also
//! holds the chunked, seeking element stream the safetensors reader shares.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use super::tensor::{
    checked_len, chunk_read_failure, ByteOrder, DType, FloatDecoder, FloatSink, StoredSpan,
    StreamError, TensorFile, TensorInfo,
};
use super::FormatError;

/// The one tensor a raw file holds.
pub const VECTORS: &str = "vectors";

/// A headerless float32 file read as one tensor [`VECTORS`] of a shape the user gave.
pub struct RawF32<R: Read + Seek> {
    file: String,
    reader: R,
    tensors: Vec<TensorInfo>,
}

impl<R: Read + Seek> RawF32<R> {
    /// Checks that `file_len` (the file's size in bytes) is exactly `shape`'s element count × 4.
    /// Nothing is read until [`TensorFile::read_f64`].
    pub fn open(
        file: &str,
        reader: R,
        file_len: u64,
        shape: &[usize],
    ) -> Result<Self, FormatError> {
        let err = |m: String| FormatError::new(file, Some(VECTORS), m);
        if shape.is_empty() {
            return Err(err(
                "raw float32 data needs a shape, e.g. [N, d]; none was given".into(),
            ));
        }
        let need = checked_len(shape)
            .and_then(|n| u64::try_from(n).ok())
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| err(format!("shape {shape:?} is too large to address")))?;
        if need != file_len {
            return Err(err(format!(
                "shape {shape:?} of float32 needs {need} bytes, but the file holds {file_len} bytes"
            )));
        }
        Ok(Self {
            file: file.to_owned(),
            reader,
            tensors: vec![TensorInfo {
                name: VECTORS.into(),
                dtype: DType::F32,
                shape: shape.to_vec(),
            }],
        })
    }

    fn check_name(&self, tensor: &str) -> Result<(), FormatError> {
        if tensor == VECTORS {
            Ok(())
        } else {
            Err(FormatError::new(
                &self.file,
                Some(tensor),
                format!("no such tensor (a raw file holds only '{VECTORS}')"),
            ))
        }
    }
}

impl<R: Read + Seek> std::fmt::Debug for RawF32<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("RawF32")
            .field("file", &self.file)
            .field("tensors", &self.tensors)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> TensorFile for RawF32<R> {
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
        self.check_name(tensor)?;
        let len = self.tensors[0].len();
        stream_le(
            &self.file,
            tensor,
            &mut self.reader,
            0,
            DType::F32,
            len,
            range,
            chunk,
            sink,
        )
    }

    fn stored_span(&self, tensor: &str, range: Range<usize>) -> Option<StoredSpan> {
        self.check_name(tensor).ok()?;
        (range.start <= range.end && range.end <= self.tensors[0].len())
            .then(|| {
                StoredSpan {
                    offset: 0,
                    dtype: DType::F32,
                    order: ByteOrder::Little,
                }
                .skip(range.start)
            })
            .flatten()
    }

    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        self.check_name(tensor)?;
        Err(FormatError::new(
            &self.file,
            Some(tensor),
            "holds float32, expected integers",
        ))
    }
}

/// Streams elements `range` of a little-endian tensor of `len` elements of `dtype` whose data
/// starts at byte `start` of `reader`, as [`Floats`] chunks of at most `chunk` elements (0 counts
/// as 1). Memory is one chunk: at most `chunk × (8 + element size)` bytes, whatever the file's
/// size. The caller has checked that the tensor's bytes lie within the file.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stream_le<R: Read + Seek>(
    file: &str,
    tensor: &str,
    reader: &mut R,
    start: u64,
    dtype: DType,
    len: usize,
    range: Range<usize>,
    chunk: usize,
    sink: &mut FloatSink<'_>,
) -> Result<(), StreamError> {
    let err = |m: String| FormatError::new(file, Some(tensor), m);
    if range.start > range.end || range.end > len {
        return Err(err(format!(
            "elements {}..{} were asked for, but it holds {len}",
            range.start, range.end
        ))
        .into());
    }
    if range.is_empty() {
        return Ok(());
    }
    let size = dtype.size();
    // Within the file (the caller checked start + len × size against its length), so no overflow.
    let offset = start + range.start as u64 * size as u64;
    reader
        .seek(SeekFrom::Start(offset))
        .map_err(|e| err(format!("cannot seek to its data at byte {offset} ({e})")))?;
    let per = chunk.max(1).min(range.len());
    let (mut raw, mut decoder) = (Vec::new(), FloatDecoder::default());
    let mut at = range.start;
    while at < range.end {
        let n = per.min(range.end - at);
        let values = decoder
            .read(reader, dtype, ByteOrder::Little, n, &mut raw)
            .map_err(|e| err(chunk_read_failure(&e, per, Some(at))))?;
        sink(values).map_err(StreamError::Sink)?;
        at += n;
    }
    Ok(())
}

/// The first few of `names`, comma-separated, for a message that must stay one short line.
pub(crate) fn some_names<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 12;
    let total = names.len();
    let mut text = names.take(SHOWN).collect::<Vec<_>>().join(", ");
    if total > SHOWN {
        text.push_str(&format!(" and {} more", total - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn collect<T: TensorFile>(f: &mut T, range: Range<usize>, chunk: usize) -> Vec<Vec<f64>> {
        let mut got = Vec::new();
        f.read_f64(VECTORS, range, chunk, &mut |c: &[f64]| {
            got.push(c.to_vec());
            Ok(())
        })
        .unwrap();
        got
    }

    #[test]
    fn streams_ranges_in_chunks() {
        let data = bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut f = RawF32::open("v.bin", Cursor::new(data), 24, &[3, 2]).unwrap();
        assert_eq!(f.tensors()[0].shape, vec![3, 2]);
        assert_eq!(
            collect(&mut f, 1..6, 2),
            vec![vec![2.0, 3.0], vec![4.0, 5.0], vec![6.0]]
        );
        assert_eq!(collect(&mut f, 0..2, 0), vec![vec![1.0], vec![2.0]]);
        assert!(collect(&mut f, 3..3, 4).is_empty());
        assert_eq!(collect(&mut f, 5..6, usize::MAX), vec![vec![6.0]]);
        let e = f.read_f64(VECTORS, 4..7, 4, &mut |_: &[f64]| Ok(()));
        assert!(e.unwrap_err().to_string().contains("4..7"));
        assert!(f.read_i64(VECTORS).is_err());
        assert!(f.read_f64("x", 0..1, 1, &mut |_: &[f64]| Ok(())).is_err());
    }

    #[test]
    fn wrong_length_and_bad_shapes_are_refused() {
        let e = RawF32::open("v.bin", Cursor::new(vec![0; 25]), 25, &[3, 2]).err();
        let msg = e.unwrap().to_string();
        assert!(
            msg.contains("v.bin") && msg.contains("24") && msg.contains("25"),
            "{msg}"
        );
        assert!(RawF32::open("v.bin", Cursor::new(vec![]), 0, &[]).is_err());
        assert!(RawF32::open("v.bin", Cursor::new(vec![]), 0, &[usize::MAX, 2]).is_err());
        assert!(RawF32::open("v.bin", Cursor::new(vec![]), 0, &[0, 5]).is_ok());
    }

    #[test]
    fn a_short_reader_is_an_error_not_a_panic() {
        // The length given is a lie: the reader runs out.
        let mut f = RawF32::open("v.bin", Cursor::new(vec![0; 8]), 16, &[4]).unwrap();
        let e = f.read_f64(VECTORS, 0..4, 4, &mut |_: &[f64]| Ok(()));
        assert!(e.unwrap_err().to_string().contains("truncated"));
    }
}
