//! Rows on their way from a file to the accumulators: a layer's requested rows picked out of the
//! chunks a reader decodes (or a caller fetched and [`decode_chunk`] decoded), whole and in order,
//! then fed to every seed's accumulator with their labels, or summed for the mean that centring
//! subtracts.

use std::ops::Range;
use std::sync::Arc;

use ndarray::ArrayView2;

use super::AnalysisError;
use crate::estimator::accumulator::LabelIds;
use crate::estimator::{EstimatorError, LabelKey, SoftEntropyAccumulator};
use crate::formats::layout::LayerSource;
use crate::formats::tensor::{ByteOrder, DType, FloatDecoder, Floats, StreamError, TensorFile};
use crate::labels::LabelPlan;

/// Bytes of rows read and decoded at a time (at least one row), bounding memory whatever the
/// file size. Natively 1 MiB: the decoded chunk is still in cache on its way to the estimator.
#[cfg(not(target_arch = "wasm32"))]
pub(super) const CHUNK_BYTES: usize = 1 << 20;
/// In the page 16 MiB (and at most [`CHUNK_ROWS`] rows): Chromium hands over 16 MiB pieces of a
/// file faster than 4 MiB ones (BENCHMARKS.md, *How fast the page can read at all*), and the
/// page reads them ahead in another worker (`www/worker.js`), two at a time. Larger reads (64 MiB,
/// or 16 MiB at any width) were faster on some inputs, but cost wasm memory (BENCHMARKS.md,
/// *Issue 8, fifth pass*).
#[cfg(target_arch = "wasm32")]
pub(super) const CHUNK_BYTES: usize = 16 << 20;
/// At most this many rows per chunk (short rows).
pub(super) const CHUNK_ROWS: usize = 2048;

/// Rows of `d` values of `size` bytes each that make one chunk.
pub(super) fn chunk_rows(d: usize, size: usize) -> usize {
    (CHUNK_BYTES / (d * size).max(1)).clamp(1, CHUNK_ROWS)
}

/// A rejection from the accumulator, carried through the reader's sink.
#[derive(Debug)]
struct Stop(EstimatorError);
impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for Stop {}

/// Takes a run of gathered rows: (range into the requested rows, rows × d values).
pub(super) type RowsSink<'a> =
    dyn FnMut(Range<usize>, Floats<'_>) -> Result<(), EstimatorError> + 'a;

/// The elements of a layer that hold its requested rows `rows` (ascending), first to last.
pub(super) fn elements(src: &LayerSource, d: usize, rows: &[usize]) -> Option<Range<usize>> {
    let (lo, hi) = (*rows.first()?, *rows.last()?);
    Some(src.first_element + lo * d..src.first_element + (hi + 1) * d)
}

/// Streams the rows `rows` (ascending row indices within one layer) of `src`, handing each run of
/// consecutive requested rows to `f(range into rows, rows × d values)`, in order, as the file
/// decodes them (f32 or f64). Runs are slices of the decoded chunk itself; only a row split
/// between two chunks is copied.
pub(super) fn stream_rows(
    file: &mut dyn TensorFile,
    src: &LayerSource,
    d: usize,
    rows: &[usize],
    f: &mut RowsSink<'_>,
) -> Result<(), AnalysisError> {
    let Some(range) = elements(src, d, rows) else {
        return Ok(());
    };
    let mut at = Gathered::new(rows, d);
    // A tensor's chunks all come as one type; a row split between chunks waits in its buffer.
    let mut split = Split::default();
    let mut sink = |chunk: Floats<'_>| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        at.take(rows, chunk, &mut split, f)
            .map_err(|e| Box::new(Stop(e)) as _)
    };
    // Chunks of whole rows, natively about 1 MiB: decoded while still in cache, and the buffers
    // are reused instead of faulted in afresh for every layer (at 2048 rows per chunk they had
    // been). In the page up to 16 MiB, one read each (see CHUNK_BYTES).
    let size = file
        .tensor(&src.tensor.name)
        .map_or(8, |t| t.dtype.size().max(1));
    let chunk = chunk_rows(d, size) * d;
    file.read_floats(&src.tensor.name, range, chunk, &mut sink)
        .map_err(|e| match e {
            StreamError::Format(f) => AnalysisError::Format(f),
            StreamError::Sink(s) => match s.downcast::<Stop>() {
                Ok(stop) => AnalysisError::Estimator(stop.0),
                Err(other) => AnalysisError::Settings(other.to_string()),
            },
        })
}

/// Decodes one chunk of stored elements that a caller fetched itself (see
/// [`TensorFile::stored_span`]): little-endian float32 in place when `bytes` is aligned for it
/// (the page's chunks are: [`super::LayerRun`] hands out an aligned buffer), anything else
/// through `decoder`.
pub(super) fn decode_chunk<'a>(
    decoder: &'a mut FloatDecoder,
    dtype: DType,
    order: ByteOrder,
    bytes: &'a [u8],
) -> Floats<'a> {
    if dtype == DType::F32 && order == ByteOrder::Little && cfg!(target_endian = "little") {
        if let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
            return Floats::F32(values);
        }
    }
    decoder.decode(dtype, order, bytes)
}

/// The part of a row that one chunk cut off, waiting for the next chunk (one buffer per type).
#[derive(Debug, Default)]
pub(super) struct Split {
    narrow: Vec<f32>,
    wide: Vec<f64>,
}

/// Takes a run of gathered rows of one type: (range into the requested rows, rows × d values).
type RunSink<'a, T> = dyn FnMut(Range<usize>, &[T]) -> Result<(), EstimatorError> + 'a;

/// Where a stream of one layer's elements stands: the file row that the next value starts (or,
/// with part of a row held back, continues), and the next requested row (index into the rows).
#[derive(Debug)]
pub(super) struct Gathered {
    d: usize,
    row: usize,
    cursor: usize,
}

impl Gathered {
    /// At the start of the elements [`elements`] gives for `rows`.
    pub(super) fn new(rows: &[usize], d: usize) -> Self {
        Self {
            d,
            row: rows.first().copied().unwrap_or(0),
            cursor: 0,
        }
    }

    /// Hands the requested rows (of `rows`, the ones this stream was made for) among the next
    /// decoded values `data` to `f`, completing the row held in `split` first and holding back a
    /// row the chunk cuts.
    pub(super) fn take(
        &mut self,
        rows: &[usize],
        data: Floats<'_>,
        split: &mut Split,
        f: &mut RowsSink<'_>,
    ) -> Result<(), EstimatorError> {
        match data {
            Floats::F32(v) => {
                self.take_typed(rows, v, &mut split.narrow, &mut |r, x| f(r, Floats::F32(x)))
            }
            Floats::F64(v) => {
                self.take_typed(rows, v, &mut split.wide, &mut |r, x| f(r, Floats::F64(x)))
            }
        }
    }

    fn take_typed<T: Copy>(
        &mut self,
        rows: &[usize],
        mut data: &[T],
        split: &mut Vec<T>,
        f: &mut RunSink<'_, T>,
    ) -> Result<(), EstimatorError> {
        let d = self.d;
        if !split.is_empty() {
            let take = (d - split.len()).min(data.len());
            split.extend_from_slice(&data[..take]);
            data = &data[take..];
            if split.len() < d {
                return Ok(());
            }
            if rows.get(self.cursor) == Some(&self.row) {
                f(self.cursor..self.cursor + 1, split)?;
                self.cursor += 1;
            }
            split.clear();
            self.row += 1;
        }
        let whole = data.len() / d;
        let (row, cursor) = (self.row, &mut self.cursor);
        while *cursor < rows.len() && rows[*cursor] < row + whole {
            let first = *cursor;
            *cursor += 1;
            while *cursor < rows.len() && rows[*cursor] == rows[*cursor - 1] + 1 {
                if rows[*cursor] >= row + whole {
                    break;
                }
                *cursor += 1;
            }
            let (a, b) = (rows[first] - row, rows[*cursor - 1] - row + 1);
            f(first..*cursor, &data[a * d..b * d])?;
        }
        split.extend_from_slice(&data[whole * d..]);
        self.row += whole;
        Ok(())
    }
}

/// Running sum of valid rows (finite, not all zero: the rows the accumulator would use) for the
/// mean that centring subtracts.
pub(crate) struct RowMean {
    sum: Vec<f64>,
    rows: u64,
}

impl RowMean {
    pub(crate) fn new(d: usize) -> Self {
        Self {
            sum: vec![0.0; d],
            rows: 0,
        }
    }
    /// Adds the rows of `values` (rows × d, f32 or f64) that are valid.
    pub(crate) fn add(&mut self, values: Floats<'_>) {
        match values {
            Floats::F32(v) => self.add_rows(v),
            Floats::F64(v) => self.add_rows(v),
        }
    }
    /// Adds the rows of `values` (rows × d) that are valid.
    pub(crate) fn add_rows<T: Copy + Into<f64>>(&mut self, values: &[T]) {
        for row in values.chunks_exact(self.sum.len()) {
            let row = row.iter().map(|&v| v.into());
            if row.clone().all(f64::is_finite) && row.clone().any(|v| v != 0.0) {
                for (s, v) in self.sum.iter_mut().zip(row) {
                    *s += v;
                }
                self.rows += 1;
            }
        }
    }
    pub(crate) fn mean(self) -> Arc<Vec<f64>> {
        let n = self.rows.max(1) as f64;
        Arc::new(self.sum.into_iter().map(|s| s / n).collect())
    }
}

/// Feeds a batch of rows (`values`, rows × d) to every seed's accumulator.
pub(crate) fn update_all(
    accs: &mut [SoftEntropyAccumulator],
    values: Floats<'_>,
    d: usize,
    plan: &LabelPlan,
    ids: &LabelIds,
    range: Range<usize>,
) -> Result<(), EstimatorError> {
    fn each<T: Copy + Into<f64>>(
        accs: &mut [SoftEntropyAccumulator],
        values: &[T],
        d: usize,
        labels: &[&[LabelKey]],
        ids: &[&[u32]],
    ) -> Result<(), EstimatorError> {
        let rows = ArrayView2::from_shape((values.len() / d, d), values)
            .expect("gathered rows have d columns");
        accs.iter_mut()
            .try_for_each(|a| a.update_indexed(rows, labels, ids))
    }
    let labels = label_slices(plan, range.clone());
    let ids = ids.slices(range);
    match values {
        Floats::F32(v) => each(accs, v, d, &labels, &ids),
        Floats::F64(v) => each(accs, v, d, &labels, &ids),
    }
}

/// The dense ids of the plan's label columns (in [`label_slices`]' order), numbered once for
/// every layer and seed.
pub(crate) fn label_ids(plan: &LabelPlan) -> Result<LabelIds, EstimatorError> {
    LabelIds::new(&label_slices(plan, 0..plan.positions.len()))
}

/// The label columns an accumulator takes for positions `range` of the plan: the label sets, then
/// every set's shuffled copies.
fn label_slices(plan: &LabelPlan, range: Range<usize>) -> Vec<&[LabelKey]> {
    plan.labels
        .iter()
        .chain(&plan.shuffled)
        .map(|l| &l[range.clone()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::layout::TensorRef;
    use crate::formats::FormatError;

    /// A tensor whose element i is i, streamed in chunks of a fixed size (rows split anywhere),
    /// as f32 (`narrow`) or f64.
    struct Counting {
        chunk: usize,
        narrow: bool,
    }

    impl TensorFile for Counting {
        fn file_name(&self) -> &str {
            "counting"
        }
        fn tensors(&self) -> &[crate::formats::tensor::TensorInfo] {
            &[]
        }
        fn read_floats(
            &mut self,
            _: &str,
            range: Range<usize>,
            _: usize,
            sink: &mut crate::formats::tensor::FloatSink<'_>,
        ) -> Result<(), StreamError> {
            let values: Vec<f64> = range.map(|i| i as f64).collect();
            let narrow: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            for (c, n) in values.chunks(self.chunk).zip(narrow.chunks(self.chunk)) {
                sink(if self.narrow {
                    Floats::F32(n)
                } else {
                    Floats::F64(c)
                })
                .map_err(StreamError::Sink)?;
            }
            Ok(())
        }
        fn read_i64(&mut self, _: &str) -> Result<Vec<i64>, FormatError> {
            unreachable!()
        }
    }

    #[test]
    fn streamed_rows_arrive_whole_and_in_order_however_chunks_split_them() {
        let d = 3;
        let src = LayerSource {
            layer: 0,
            tensor: TensorRef {
                file: 0,
                name: "h".into(),
            },
            first_element: 6,
        };
        let rows = [1usize, 2, 3, 5, 8, 9, 10, 11, 13];
        let expected: Vec<f64> = rows
            .iter()
            .flat_map(|&r| (0..d).map(move |k| (6 + r * d + k) as f64))
            .collect();
        for (chunk, narrow) in (1..=40).flat_map(|c| [(c, false), (c, true)]) {
            let (mut got, mut next) = (Vec::new(), 0);
            stream_rows(
                &mut Counting { chunk, narrow },
                &src,
                d,
                &rows,
                &mut |range, values| {
                    assert_eq!(range.start, next, "chunk {chunk}: runs out of order");
                    assert_eq!(values.len(), range.len() * d, "chunk {chunk}");
                    next = range.end;
                    match values {
                        Floats::F32(v) if narrow => got.extend(v.iter().map(|&x| f64::from(x))),
                        Floats::F64(v) if !narrow => got.extend_from_slice(v),
                        _ => panic!("chunk {chunk}: values changed type on the way"),
                    }
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(next, rows.len(), "chunk {chunk}: rows missing");
            assert_eq!(got, expected, "chunk {chunk}, narrow {narrow}");
        }
    }

    #[test]
    fn decoded_chunks_are_the_stored_values_aligned_or_not() {
        let values = [1.5f32, -2.25, 3.0e-7, f32::MAX];
        let mut decoder = FloatDecoder::default();
        // The same bytes at an aligned address (decoded in place) and one byte further (copied).
        let words: Vec<u32> = std::iter::once(0)
            .chain(values.iter().map(|v| v.to_bits()))
            .collect();
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        let shifted: Vec<u8> = std::iter::once(0)
            .chain(bytes[4..].iter().copied())
            .collect();
        for chunk in [&bytes[4..], &shifted[1..]] {
            let got = decode_chunk(&mut decoder, DType::F32, ByteOrder::Little, chunk);
            assert!(matches!(got, Floats::F32(v) if v == values.as_slice()));
        }
        let halves: Vec<u8> = [1.0f32, -0.5]
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_bits().to_be_bytes())
            .collect();
        let got = decode_chunk(&mut decoder, DType::F16, ByteOrder::Big, &halves);
        assert!(matches!(got, Floats::F32(v) if v == [1.0, -0.5]));
    }
}
