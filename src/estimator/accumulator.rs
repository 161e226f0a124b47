//! The streaming soft-entropy accumulator: rows go in batch by batch, their soft assignments to the
//! reference points are summed into total counts and into the counts of every label value of every
//! named label set. Counts are f64 and two accumulators over the same settings merge exactly.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use ndarray::{Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::calibration::{self, Calibration, CalibrationError};
use super::metrics;
use super::rng;
use super::scores;

/// One label value. Label builders pack whatever identifies a class (a token tuple, a class id)
/// into 128 bits injectively; only the partition of rows matters to the estimator.
pub type LabelKey = u128;

/// The label of a row whose label value occurs exactly once in the whole data (the label builder
/// knows, from a pass over the ids). Such a value's histogram is the row's own soft assignment, so
/// the accumulator adds the row's entropy to a running sum instead of keeping m counts for it:
/// with mostly-unique trigram labels (and their shuffled copies) that is most of the memory.
pub const UNIQUE: LabelKey = u128::MAX;
/// The label of a row left out of a label set (its value is rarer than the minimum count): the row
/// counts towards H(Z) of the layer but not towards this set's H(Z) or H(Z|X).
pub const DROPPED: LabelKey = u128::MAX - 1;

/// The settings that fix the estimator: everything that must agree for two accumulators to merge.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EstimatorConfig {
    /// Number of reference points m (`n_bins` in the reference code).
    pub n_bins: usize,
    /// Seed of `numpy.random.default_rng` that draws the reference points.
    pub seed: u64,
    /// How the softmax temperature ε is chosen.
    pub calibration: Calibration,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            n_bins: 100,
            seed: 0,
            calibration: Calibration::FindEps,
        }
    }
}

/// Why a batch or a merge was refused. Messages are one line and name the offending part.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimatorError {
    #[error("{0}")]
    Calibration(#[from] CalibrationError),
    #[error("rows have {got} columns but the accumulator was built for d = {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("label set '{name}' has {got} labels for {rows} rows")]
    LabelLength {
        name: String,
        got: usize,
        rows: usize,
    },
    #[error("{got} label sets given, the accumulator tracks {expected}")]
    LabelSetCount { expected: usize, got: usize },
    #[error("n_bins must be at least 2, got {0}")]
    TooFewBins(usize),
    #[error("{n_bins} reference points of dimension {d} would need more than 3 GiB")]
    TooLarge { n_bins: usize, d: usize },
    #[error("cannot merge: {0}")]
    Merge(String),
    #[error("a label set has 2^32 - 1 or more distinct values")]
    TooManyLabels,
}

/// Soft counts of one named label set: per label value, the number of rows and the summed soft
/// assignments of those rows.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelSetCounts {
    name: String,
    index: HashMap<LabelKey, usize>,
    keys: Vec<LabelKey>,
    rows: Vec<u64>,
    /// `keys.len() × n_bins`, row-major by label value.
    counts: Vec<f64>,
    /// Rows labelled [`UNIQUE`] and the sum of their own soft-assignment entropies.
    unique: Tally,
    /// Rows labelled [`DROPPED`], their entropy sum and summed soft assignments (`n_bins` values
    /// once a row was dropped, empty before).
    dropped: Tally,
    dropped_counts: Vec<f64>,
    /// Slot of each dense label id already seen (see [`LabelIds`]), so the hot path finds a
    /// value's counts with one array read instead of a hash lookup.
    by_id: SlotCache,
}

/// `by_id[id]`: the slot of dense label id `id`, or [`SlotCache::NONE`]. A cache of `index`,
/// rebuilt on demand, so it plays no part in equality.
#[derive(Clone, Debug, Default)]
struct SlotCache(Vec<u32>);

impl SlotCache {
    const NONE: u32 = u32::MAX;
}

impl PartialEq for SlotCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Dense ids of the label values of some label columns, numbered per column from 0 in order of
/// first appearance ([`LabelIds::NONE`] for [`UNIQUE`] and [`DROPPED`]). Computed once per
/// dataset, they let every layer's and seed's accumulator find a value's counts by index, where
/// hashing 128-bit keys into tables larger than the cache cost a tenth of an analysis.
/// Crate-internal: an accumulator fed ids of another `LabelIds` would count into wrong slots
/// (checked in debug builds only, to keep the hot path one array read).
#[derive(Clone, Debug, Default)]
pub(crate) struct LabelIds {
    ids: Vec<Vec<u32>>,
    /// Distinct values (ids) of each column.
    distinct: Vec<usize>,
}

impl LabelIds {
    pub(crate) const NONE: u32 = u32::MAX;

    /// Numbers the values of each of `columns`; refuses a column with 2^32 − 1 or more distinct
    /// values (it would need more memory than any analysis has).
    pub(crate) fn new(columns: &[&[LabelKey]]) -> Result<Self, EstimatorError> {
        let mut distinct = Vec::with_capacity(columns.len());
        let ids = columns
            .iter()
            .map(|column| {
                let mut seen: HashMap<LabelKey, u32> = HashMap::default();
                let ids = column
                    .iter()
                    .map(|&key| -> Result<u32, EstimatorError> {
                        if key == UNIQUE || key == DROPPED {
                            return Ok(Self::NONE);
                        }
                        let next = seen.len();
                        match seen.entry(key) {
                            std::collections::hash_map::Entry::Occupied(e) => Ok(*e.get()),
                            std::collections::hash_map::Entry::Vacant(e) => {
                                let id = u32::try_from(next)
                                    .ok()
                                    .filter(|&id| id != Self::NONE)
                                    .ok_or(EstimatorError::TooManyLabels)?;
                                Ok(*e.insert(id))
                            }
                        }
                    })
                    .collect::<Result<Vec<u32>, _>>()?;
                distinct.push(seen.len());
                Ok(ids)
            })
            .collect::<Result<_, EstimatorError>>()?;
        Ok(Self { ids, distinct })
    }

    /// How many distinct values (ids) each column has.
    pub(crate) fn distinct(&self) -> &[usize] {
        &self.distinct
    }

    /// The ids of rows `range` of every column, as [`SoftEntropyAccumulator::update_indexed`]
    /// takes them.
    pub(crate) fn slices(&self, range: std::ops::Range<usize>) -> Vec<&[u32]> {
        self.ids.iter().map(|c| &c[range.clone()]).collect()
    }
}

/// Rows and the sum of their single-row entropies (efficiency units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub rows: u64,
    pub entropy_sum: f64,
}

impl Tally {
    fn add(&mut self, h: f64) {
        self.rows += 1;
        self.entropy_sum += h;
    }
    fn merge(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.entropy_sum += other.entropy_sum;
    }
}

impl LabelSetCounts {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            index: HashMap::new(),
            keys: Vec::new(),
            rows: Vec::new(),
            counts: Vec::new(),
            unique: Tally::default(),
            dropped: Tally::default(),
            dropped_counts: Vec::new(),
            by_id: SlotCache::default(),
        }
    }

    /// Rebuilds a label set from saved parts; `counts` holds `keys.len() × n_bins` values and
    /// `dropped_counts` either nothing or `n_bins` values.
    pub(crate) fn from_parts(
        name: String,
        keys: Vec<LabelKey>,
        rows: Vec<u64>,
        counts: Vec<f64>,
        unique: Tally,
        dropped: Tally,
        dropped_counts: Vec<f64>,
    ) -> Result<Self, String> {
        let mut index = HashMap::with_capacity(keys.len());
        for (i, &k) in keys.iter().enumerate() {
            if index.insert(k, i).is_some() {
                return Err(format!("label set '{name}' lists a label value twice"));
            }
        }
        Ok(Self {
            name,
            index,
            keys,
            rows,
            counts,
            unique,
            dropped,
            dropped_counts,
            by_id: SlotCache::default(),
        })
    }

    /// Room for `values` label values in all (dense ids `0..values`) without growing (see
    /// [`SoftEntropyAccumulator::reserve_labels`]).
    fn reserve(&mut self, values: usize, n_bins: usize) {
        let more = values.saturating_sub(self.keys.len());
        self.index.reserve(more);
        self.keys.reserve_exact(more);
        self.rows.reserve_exact(more);
        self.counts.reserve_exact(more.saturating_mul(n_bins));
        let ids = self.by_id.0.len().max(values);
        self.by_id.0.resize(ids, SlotCache::NONE);
    }

    fn slot(&mut self, key: LabelKey, n_bins: usize) -> usize {
        *self.index.entry(key).or_insert_with(|| {
            self.keys.push(key);
            self.rows.push(0);
            self.counts.resize(self.counts.len() + n_bins, 0.0);
            self.keys.len() - 1
        })
    }

    /// [`slot`](Self::slot) of `key`, whose dense id is `id`, through the id cache.
    #[inline]
    fn slot_by_id(&mut self, key: LabelKey, id: u32, n_bins: usize) -> usize {
        let i = id as usize;
        if let Some(&s) = self.by_id.0.get(i) {
            if s != SlotCache::NONE {
                debug_assert_eq!(self.keys[s as usize], key, "label ids of another plan");
                return s as usize;
            }
        }
        let s = self.slot(key, n_bins);
        if self.by_id.0.len() <= i {
            self.by_id.0.resize(i + 1, SlotCache::NONE);
        }
        // Slots are label values, fewer than 2^32 - 1 ids (checked by LabelIds::new).
        self.by_id.0[i] = s as u32;
        s
    }

    /// The label set's name, e.g. `input_bigram`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Distinct label values seen, in order of first appearance.
    pub fn keys(&self) -> &[LabelKey] {
        &self.keys
    }
    /// Rows seen per label value, aligned with [`keys`](Self::keys).
    pub fn rows(&self) -> &[u64] {
        &self.rows
    }
    /// Soft counts of label value `i` (length `n_bins`).
    pub fn counts_of(&self, i: usize, n_bins: usize) -> &[f64] {
        &self.counts[i * n_bins..(i + 1) * n_bins]
    }
    pub(crate) fn all_counts(&self) -> &[f64] {
        &self.counts
    }
    /// Rows whose label value occurs once in the whole data ([`UNIQUE`]).
    pub fn unique(&self) -> Tally {
        self.unique
    }
    /// Rows left out of this set ([`DROPPED`]).
    pub fn dropped(&self) -> Tally {
        self.dropped
    }
    /// Summed soft assignments of the dropped rows (empty when none was dropped).
    pub fn dropped_counts(&self) -> &[f64] {
        &self.dropped_counts
    }
    /// Distinct label values among the rows this set covers.
    pub fn distinct(&self) -> usize {
        self.keys.len() + self.unique.rows as usize
    }

    /// Counts one row of label value `key` (dense id `id`, when numbered) with single-row
    /// entropy `h`, and returns the `m` counts its soft assignment is to be added to: the value's
    /// histogram, or the dropped rows' one; None for a value seen once ([`UNIQUE`]), which keeps
    /// a tally only.
    fn record(&mut self, key: LabelKey, id: Option<u32>, m: usize, h: f64) -> Option<&mut [f64]> {
        match key {
            UNIQUE => {
                self.unique.add(h);
                None
            }
            DROPPED => {
                self.dropped.add(h);
                if self.dropped_counts.is_empty() {
                    self.dropped_counts = vec![0.0; m];
                }
                Some(&mut self.dropped_counts)
            }
            _ => {
                let i = match id {
                    Some(id) => self.slot_by_id(key, id, m),
                    None => self.slot(key, m),
                };
                self.rows[i] += 1;
                Some(&mut self.counts[i * m..(i + 1) * m])
            }
        }
    }

    fn merge(&mut self, other: &LabelSetCounts, m: usize) {
        for (j, &key) in other.keys.iter().enumerate() {
            let i = self.slot(key, m);
            self.rows[i] += other.rows[j];
            for (c, o) in self.counts[i * m..(i + 1) * m]
                .iter_mut()
                .zip(&other.counts[j * m..(j + 1) * m])
            {
                *c += o;
            }
        }
        self.unique.merge(&other.unique);
        self.dropped.merge(&other.dropped);
        if !other.dropped_counts.is_empty() {
            if self.dropped_counts.is_empty() {
                self.dropped_counts = vec![0.0; m];
            }
            for (c, o) in self.dropped_counts.iter_mut().zip(&other.dropped_counts) {
                *c += o;
            }
        }
    }
}

/// Label sets whose additions [`add_to_label_sets`] interleaves.
const INTERLEAVED_SETS: usize = 16;

/// Adds row `row`'s soft assignment `p` (single-row entropy `h`) to its label value's counts in
/// every label set.
///
/// With many label values and shuffled copies, the sets' histograms span tens of MB, so each one
/// is a cache miss, and adding them one set after another made the CPU wait for one miss at a
/// time (a quarter of a 13-layer d = 2048 analysis with 5 shuffles; what Chromium's wasm did was
/// slower still). The additions are interleaved over up to [`INTERLEAVED_SETS`] sets, a cache line
/// of counts at a time, so their misses are waited for together. Every count still gets its one
/// addition per row, so the sums are the same to the bit.
fn add_to_label_sets(
    sets: &mut [LabelSetCounts],
    labels: &[&[LabelKey]],
    ids: Option<&[&[u32]]>,
    row: usize,
    p: &[f64],
    h: f64,
) {
    /// f64 counts per 64-byte cache line.
    const LINE: usize = 8;
    let m = p.len();
    for (g, group) in sets.chunks_mut(INTERLEAVED_SETS).enumerate() {
        let mut targets: [&mut [f64]; INTERLEAVED_SETS] = Default::default();
        let mut n = 0;
        for (k, set) in group.iter_mut().enumerate() {
            let s = g * INTERLEAVED_SETS + k;
            let id = ids.map(|ids| ids[s][row]);
            if let Some(counts) = set.record(labels[s][row], id, m, h) {
                targets[n] = counts;
                n += 1;
            }
        }
        let whole = m / LINE * LINE;
        for c in (0..whole).step_by(LINE) {
            let line: &[f64; LINE] = p[c..c + LINE].try_into().expect("a whole line");
            for counts in targets[..n].iter_mut() {
                let x: &mut [f64; LINE] = (&mut counts[c..c + LINE]).try_into().expect("m counts");
                for l in 0..LINE {
                    x[l] += line[l];
                }
            }
        }
        for counts in targets[..n].iter_mut() {
            for (x, &v) in counts[whole..].iter_mut().zip(&p[whole..]) {
                *x += v;
            }
        }
    }
}

/// Runs the per-row code of an analysis once on made-up rows: f32 rows of the score kernel's
/// width, 100 bins, six label sets found through dense ids, then each set's I(X;Z). Returns the
/// sum of those, so the work cannot be optimised away.
///
/// For the page: V8 runs a new wasm instance's functions in its baseline compiler until they have
/// run for a while. In Chromium a fresh worker's first 16 MiB chunk of a d = 2048 layer took
/// 63-140 ms against 30-35 for the next ones (46-80 ms after this warm-up); the same worker's
/// second analysis did not pay it, and a warm-up in another worker did not help. The page's
/// spare workers call this while the page is idle (`web::warm_up`, www/worker.js).
pub fn warm_up() -> f64 {
    let (rows, d, sets) = (1024, 256, 6);
    let mut r = rng::Pcg64::from_seed(1);
    let data = Array2::from_shape_fn((rows, d), |_| r.standard_normal() as f32);
    let columns: Vec<Vec<LabelKey>> = (0..sets)
        .map(|s| {
            (0..rows)
                .map(|i| ((i * (s + 2)) % 89) as LabelKey)
                .collect()
        })
        .collect();
    let cols: Vec<&[LabelKey]> = columns.iter().map(|c| &c[..]).collect();
    let names: Vec<String> = (0..sets).map(|s| format!("warm{s}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let run = || -> Result<f64, EstimatorError> {
        let ids = LabelIds::new(&cols)?;
        let mut acc = SoftEntropyAccumulator::new(EstimatorConfig::default(), d, &names)?;
        acc.reserve_labels(&ids);
        acc.update_indexed(data.view(), &cols, &ids.slices(0..rows))?;
        Ok((0..sets).map(|s| acc.mutual_information(s)).sum())
    };
    run().unwrap_or(f64::NAN)
}

/// Cap on `n_bins × d` (2 GiB of f64), so a mistyped setting is an error, not an allocation failure.
const MAX_POINT_ELEMENTS: usize = 1 << 28;

/// Rows handled per matrix product; large enough to amortise the product, small enough to stay in
/// cache at LLM widths.
const BLOCK_ROWS: usize = 128;

/// Streaming accumulator of soft assignments (the reference's `SoftEntropyAccumulator`, numpy
/// backend, with f64 counts).
#[derive(Clone, Debug)]
pub struct SoftEntropyAccumulator {
    config: EstimatorConfig,
    d: usize,
    temperature: f64,
    /// `[n_bins, d]`, unit rows; shared by the clones made for each layer.
    reference_points: Arc<Array2<f64>>,
    /// The same points rounded to f32, what the score kernel reads.
    reference_points32: Arc<Vec<f32>>,
    /// Subtracted from every row before normalising (mean-centring), when set.
    centre: Option<Arc<Vec<f64>>>,
    counts: Vec<f64>,
    rows: u64,
    rows_skipped: u64,
    /// Σ over rows of the entropy of the row's own soft assignment (for the ceiling of I).
    row_entropy_sum: f64,
    label_sets: Vec<LabelSetCounts>,
    /// Buffers [`update`](Self::update) reuses from call to call (a call may bring one short
    /// sequence's rows).
    scratch: Scratch,
}

/// Working memory of one update: a block of unit rows, one row in f64, the block's scores, a
/// softmax buffer, and which input rows the block holds.
#[derive(Clone, Debug, Default)]
struct Scratch {
    block: Option<UnitRows>,
    row64: Vec<f64>,
    scores: Vec<f64>,
    shifted: Vec<f64>,
    block_rows: Vec<usize>,
}

/// Σ v² in 8 interleaved partial sums, added pairwise at the end: one fixed order (the same bits
/// on every platform, no FMA) whose 8 chains a CPU overlaps, where one running sum waits for each
/// addition in turn (it was a tenth of a d = 2048 analysis).
/// Values are squared and summed in f64 whatever their type.
#[inline(always)]
fn sum_of_squares<T: Copy + Into<f64>>(v: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let x: f64 = c[k].into();
            acc[k] += x * x;
        }
    }
    for (a, &x) in acc.iter_mut().zip(tail) {
        let x: f64 = x.into();
        *a += x * x;
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// The norm of an uncentred row, or None for a row the accumulator skips (all zero, or not
/// finite). A finite Σv² means every value is finite (a NaN or ±Inf makes it NaN or +Inf), and a
/// Σv² that is not finite refuses the row anyway, so no value is checked on its own.
#[inline(always)]
fn row_norm<T: Copy + Into<f64>>(row: &[T]) -> Option<f64> {
    let norm = sum_of_squares(row).sqrt();
    (norm > 0.0 && norm.is_finite()).then_some(norm)
}

/// `row` scaled to unit norm into `out`, rounded once to f32, and its norm; None (and `out`
/// untouched) for a row the accumulator skips. On x86-64 with AVX this runs as AVX code (4 f64
/// per instruction instead of SSE2's 2; the same operations in the same order, so the same
/// bits): preparing the rows had been a sixth of a d = 2048 analysis.
fn unit_row<T: Copy + Into<f64>>(row: &[T], out: &mut [f32]) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, checked just above.
        return unsafe { unit_row_avx(row, out) };
    }
    unit_row_any(row, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn unit_row_avx<T: Copy + Into<f64>>(row: &[T], out: &mut [f32]) -> Option<f64> {
    unit_row_any(row, out)
}

#[inline(always)]
fn unit_row_any<T: Copy + Into<f64>>(row: &[T], out: &mut [f32]) -> Option<f64> {
    let norm = row_norm(row)?;
    scale_into(row, 1.0 / norm, out);
    Some(norm)
}

/// `out = row × scale`, each product rounded once to `U` (f32 for the kernel, f64 for short rows).
#[inline(always)]
fn scale_into<T: Copy + Into<f64>, U: FromF64>(row: &[T], scale: f64, out: &mut [U]) {
    for (o, &x) in out.iter_mut().zip(row) {
        *o = U::from_f64(x.into() * scale);
    }
}

/// The block's element types, from an f64 product.
trait FromF64 {
    fn from_f64(v: f64) -> Self;
}
impl FromF64 for f32 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl FromF64 for f64 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// `row` into `out` as f64: a plain loop over a slice when the row is contiguous (it always is
/// from `analysis`), which the compiler vectorises; element by element otherwise.
fn copy_row<T: Copy + Into<f64>>(row: ArrayView1<'_, T>, out: &mut [f64]) {
    match row.as_slice() {
        Some(s) => {
            for (o, &x) in out.iter_mut().zip(s) {
                *o = x.into();
            }
        }
        None => {
            for (o, &x) in out.iter_mut().zip(row.iter()) {
                *o = x.into();
            }
        }
    }
}

/// A block of unit rows for the score kernel: f32, or f64 for rows of at most
/// [`scores::F64_MAX_DIM`] values.
#[derive(Clone, Debug)]
enum UnitRows {
    F32(Vec<f32>, usize),
    F64(Vec<f64>, usize),
}

impl UnitRows {
    fn new(rows: usize, d: usize) -> Self {
        if d <= scores::F64_MAX_DIM {
            Self::F64(vec![0.0; rows * d], d)
        } else {
            Self::F32(vec![0.0; rows * d], d)
        }
    }

    /// Stores `row × (1 / norm)` as row `i`: one division per row, not one per value (a
    /// division per value was a sixth of a d = 2048 analysis; the product differs from the
    /// quotient by at most an f64 rounding, which the rounding to f32 almost always absorbs).
    fn set<T: Copy + Into<f64>>(&mut self, i: usize, row: &[T], norm: f64) {
        let scale = 1.0 / norm;
        match self {
            Self::F32(v, d) => scale_into(row, scale, &mut v[i * *d..(i + 1) * *d]),
            Self::F64(v, d) => scale_into(row, scale, &mut v[i * *d..(i + 1) * *d]),
        }
    }

    /// Stores `row` (uncentred) scaled to unit norm as row `i`; false for a row the accumulator
    /// skips. f32 blocks take [`unit_row`] (AVX where present).
    fn set_unit<T: Copy + Into<f64>>(&mut self, i: usize, row: &[T]) -> bool {
        match self {
            Self::F32(v, d) => unit_row(row, &mut v[i * *d..(i + 1) * *d]).is_some(),
            Self::F64(..) => row_norm(row).map(|n| self.set(i, row, n)).is_some(),
        }
    }

    /// The scores of the first `b` rows against the points (given in both precisions).
    fn scores(&self, b: usize, points: &Array2<f64>, points32: &[f32], out: &mut [f64]) {
        match self {
            Self::F32(v, d) => scores::cosine_scores(&v[..b * d], points32, *d, out),
            Self::F64(v, d) => {
                let w = points.as_slice().expect("points are contiguous");
                scores::cosine_scores(&v[..b * d], w, *d, out)
            }
        }
    }
}

impl SoftEntropyAccumulator {
    /// An empty accumulator for `d`-dimensional rows tracking the named label sets.
    pub fn new(
        config: EstimatorConfig,
        d: usize,
        label_set_names: &[&str],
    ) -> Result<Self, EstimatorError> {
        if config.n_bins < 2 {
            return Err(EstimatorError::TooFewBins(config.n_bins));
        }
        if config
            .n_bins
            .checked_mul(d)
            .is_none_or(|e| e > MAX_POINT_ELEMENTS)
        {
            return Err(EstimatorError::TooLarge {
                n_bins: config.n_bins,
                d,
            });
        }
        let temperature = calibration::temperature(config.calibration, config.n_bins, d)?;
        let points = rng::reference_points(config.seed, config.n_bins, d);
        // The f32 copy the kernel reads; short rows are scored against the f64 points instead.
        let reference_points32 = Arc::new(if d > scores::F64_MAX_DIM {
            points.iter().map(|&v| v as f32).collect()
        } else {
            Vec::new()
        });
        Ok(Self {
            config,
            d,
            temperature,
            reference_points: Arc::new(points),
            reference_points32,
            centre: None,
            counts: vec![0.0; config.n_bins],
            rows: 0,
            rows_skipped: 0,
            row_entropy_sum: 0.0,
            label_sets: label_set_names
                .iter()
                .map(|n| LabelSetCounts::new(n))
                .collect(),
            scratch: Scratch::default(),
        })
    }

    /// Rebuilds an accumulator from saved counts (see `state`), reusing `empty`'s settings and
    /// reference points.
    pub(crate) fn from_parts(
        empty: SoftEntropyAccumulator,
        temperature: f64,
        counts: Vec<f64>,
        rows: u64,
        rows_skipped: u64,
        row_entropy_sum: f64,
        label_sets: Vec<LabelSetCounts>,
    ) -> Self {
        Self {
            temperature,
            counts,
            rows,
            rows_skipped,
            row_entropy_sum,
            label_sets,
            ..empty
        }
    }

    /// The same accumulator subtracting `centre` (length d) from every row before normalising it.
    /// Rows are judged empty or non-finite before centring.
    pub fn with_centre(mut self, centre: Arc<Vec<f64>>) -> Result<Self, EstimatorError> {
        if centre.len() != self.d {
            return Err(EstimatorError::Dimension {
                expected: self.d,
                got: centre.len(),
            });
        }
        self.centre = Some(centre);
        Ok(self)
    }
    /// The vector subtracted from rows, if the rows are centred.
    pub fn centre(&self) -> Option<&[f64]> {
        self.centre.as_deref().map(Vec::as_slice)
    }
    /// Σ over rows of the entropy of each row's own soft assignment.
    pub fn row_entropy_sum(&self) -> f64 {
        self.row_entropy_sum
    }

    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }
    /// Row dimension d.
    pub fn dim(&self) -> usize {
        self.d
    }
    /// The softmax temperature ε in use.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }
    /// The unit-norm reference points, `[n_bins, d]`.
    pub fn reference_points(&self) -> ArrayView2<'_, f64> {
        self.reference_points.view()
    }

    /// Summed soft assignments of all rows used.
    pub fn counts(&self) -> &[f64] {
        &self.counts
    }
    /// Rows that entered the counts.
    pub fn rows(&self) -> u64 {
        self.rows
    }
    /// Rows refused because they were all zero or held NaN/Inf.
    pub fn rows_skipped(&self) -> u64 {
        self.rows_skipped
    }
    pub fn label_sets(&self) -> &[LabelSetCounts] {
        &self.label_sets
    }

    /// Reads one row into `row64` (centred when the accumulator centres) and returns its norm, or
    /// None for a row [`update`](Self::update) skips (all zero, or not finite).
    ///
    /// A finite Σv² means every value is finite (a NaN or ±Inf makes it NaN or +Inf), so the
    /// values are checked one by one only when Σv² is not finite: a third pass over every row
    /// had cost as much as the copy and the sum together.
    fn read_row(&self, row64: &mut [f64]) -> Option<f64> {
        let mut sq = sum_of_squares(row64);
        let finite = sq.is_finite() || row64.iter().all(|v| v.is_finite());
        if let Some(c) = &self.centre {
            // Empty (padding) and broken rows stay skipped; the rest are centred.
            if finite && sq > 0.0 {
                for (o, &m) in row64.iter_mut().zip(c.iter()) {
                    *o -= m;
                }
                sq = sum_of_squares(row64);
            }
        }
        let norm = sq.sqrt();
        (finite && norm > 0.0 && norm.is_finite()).then_some(norm)
    }

    /// One row's soft assignment (written to `p`, `n_bins` values) and its own entropy, computed
    /// exactly as [`update`](Self::update) computes them, without adding them; None (and `p`
    /// untouched) for a row it would skip.
    pub fn assign(&self, row: &[f64], p: &mut [f64]) -> Option<f64> {
        let mut row64 = vec![0.0; self.d];
        copy_row(ArrayView1::from(row), &mut row64);
        let norm = self.read_row(&mut row64)?;
        let mut unit = UnitRows::new(1, self.d);
        unit.set(0, &row64, norm);
        unit.scores(1, &self.reference_points, &self.reference_points32, p);
        let mut shifted = vec![0.0; p.len()];
        Some(metrics::softmax_entropy_in_place(
            p,
            self.temperature,
            &mut shifted,
        ))
    }

    /// Adds a batch of rows `[batch, d]`; `labels[s][r]` is the label of row `r` in label set `s`.
    /// Rows that are all zero or hold NaN/Inf are skipped and counted, together with their labels.
    pub fn update<T>(
        &mut self,
        rows: ArrayView2<'_, T>,
        labels: &[&[LabelKey]],
    ) -> Result<(), EstimatorError>
    where
        T: Copy + Into<f64>,
    {
        self.update_inner(rows, labels, None)
    }

    /// Makes room in each label set for as many values as the columns of `ids` have, before
    /// the rows come. Growing the counts as values appear copied them over and over in wasm,
    /// whose allocator has no in-place remap: 1.1 s of a 4.26 GB dump's analysis in Chromium
    /// (36 label sets), besides the hash table's rehashing. Changes no count.
    pub(crate) fn reserve_labels(&mut self, ids: &LabelIds) {
        let m = self.config.n_bins;
        for (set, &values) in self.label_sets.iter_mut().zip(ids.distinct()) {
            set.reserve(values, m);
        }
    }

    /// [`update`](Self::update) with the labels' dense ids (`ids[s][r]`, from one [`LabelIds`]
    /// over the same label columns for the accumulator's whole life): the same counts, found
    /// without hashing.
    pub(crate) fn update_indexed<T>(
        &mut self,
        rows: ArrayView2<'_, T>,
        labels: &[&[LabelKey]],
        ids: &[&[u32]],
    ) -> Result<(), EstimatorError>
    where
        T: Copy + Into<f64>,
    {
        if ids.len() != labels.len() {
            return Err(EstimatorError::LabelSetCount {
                expected: labels.len(),
                got: ids.len(),
            });
        }
        if let Some((set, i)) = self
            .label_sets
            .iter()
            .zip(ids)
            .find(|(_, i)| i.len() != rows.nrows())
        {
            return Err(EstimatorError::LabelLength {
                name: set.name.clone(),
                got: i.len(),
                rows: rows.nrows(),
            });
        }
        self.update_inner(rows, labels, Some(ids))
    }

    fn update_inner<T>(
        &mut self,
        rows: ArrayView2<'_, T>,
        labels: &[&[LabelKey]],
        ids: Option<&[&[u32]]>,
    ) -> Result<(), EstimatorError>
    where
        T: Copy + Into<f64>,
    {
        let (batch, d) = rows.dim();
        if d != self.d {
            return Err(EstimatorError::Dimension {
                expected: self.d,
                got: d,
            });
        }
        if labels.len() != self.label_sets.len() {
            return Err(EstimatorError::LabelSetCount {
                expected: self.label_sets.len(),
                got: labels.len(),
            });
        }
        for (set, l) in self.label_sets.iter().zip(labels) {
            if l.len() != batch {
                return Err(EstimatorError::LabelLength {
                    name: set.name.clone(),
                    got: l.len(),
                    rows: batch,
                });
            }
        }

        let m = self.config.n_bins;
        // Unit rows, the score kernel's input: each row is read, centred and normalised in f64
        // and rounded once to f32 (or kept in f64 when short, see `scores`).
        let block_len = BLOCK_ROWS.min(batch.max(1));
        let mut scratch = std::mem::take(&mut self.scratch);
        let Scratch {
            block,
            row64,
            scores,
            shifted,
            block_rows,
        } = &mut scratch;
        let block = block.get_or_insert_with(|| UnitRows::new(BLOCK_ROWS, d));
        row64.resize(d, 0.0);
        scores.resize(BLOCK_ROWS * m, 0.0);
        shifted.resize(m, 0.0);
        let mut next = 0;
        while next < batch {
            // Fill the block with unit-norm copies of the next valid rows.
            block_rows.clear();
            while next < batch && block_rows.len() < block_len {
                let row = rows.row(next);
                let at = block_rows.len();
                let used = match (row.as_slice(), &self.centre) {
                    // Uncentred contiguous rows go to the block as they are (f32 rows are not
                    // widened into a copy first); the result is the same to the bit.
                    (Some(values), None) => block.set_unit(at, values),
                    _ => {
                        copy_row(row, row64);
                        self.read_row(row64)
                            .map(|n| block.set(at, row64, n))
                            .is_some()
                    }
                };
                if used {
                    block_rows.push(next);
                } else {
                    self.rows_skipped += 1;
                }
                next += 1;
            }
            let b = block_rows.len();
            if b == 0 {
                continue;
            }
            let s = &mut scores[..b * m];
            block.scores(b, &self.reference_points, &self.reference_points32, s);

            for (r, p) in s.chunks_exact_mut(m).enumerate() {
                // The soft assignment, and the entropy a label value seen in this row only would
                // have (what its one-row histogram would give, to rounding).
                let h = metrics::softmax_entropy_in_place(p, self.temperature, shifted);
                for (c, &v) in self.counts.iter_mut().zip(p.iter()) {
                    *c += v;
                }
                self.row_entropy_sum += h;
                add_to_label_sets(&mut self.label_sets, labels, ids, block_rows[r], p, h);
            }
            self.rows += b as u64;
        }
        self.scratch = scratch;
        Ok(())
    }

    /// Adds another accumulator's counts into this one. Both must share settings, d, temperature and
    /// label-set names; the result is what one accumulator fed both inputs would hold.
    pub fn merge(&mut self, other: &SoftEntropyAccumulator) -> Result<(), EstimatorError> {
        if self.config != other.config {
            return Err(EstimatorError::Merge(format!(
                "settings differ ({:?} vs {:?})",
                self.config, other.config
            )));
        }
        if self.d != other.d {
            return Err(EstimatorError::Merge(format!(
                "d differs ({} vs {})",
                self.d, other.d
            )));
        }
        if self.temperature.to_bits() != other.temperature.to_bits() {
            return Err(EstimatorError::Merge(format!(
                "temperature differs ({} vs {})",
                self.temperature, other.temperature
            )));
        }
        let names = |a: &Self| {
            a.label_sets
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        if names(self) != names(other) {
            return Err(EstimatorError::Merge(format!(
                "label sets differ ({:?} vs {:?})",
                names(self),
                names(other)
            )));
        }
        if self.centre() != other.centre() {
            return Err(EstimatorError::Merge(
                "the rows were centred on different means".into(),
            ));
        }
        // Every label set counts each row once, so no count can overflow if these do not.
        if self.rows.checked_add(other.rows).is_none()
            || self.rows_skipped.checked_add(other.rows_skipped).is_none()
        {
            return Err(EstimatorError::Merge("row counts too large to add".into()));
        }
        let m = self.config.n_bins;
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self.rows += other.rows;
        self.rows_skipped += other.rows_skipped;
        self.row_entropy_sum += other.row_entropy_sum;
        for (mine, theirs) in self.label_sets.iter_mut().zip(&other.label_sets) {
            mine.merge(theirs, m);
        }
        Ok(())
    }

    /// H(Z) as efficiency (entropy of the averaged soft histogram divided by ln m). NaN without rows.
    pub fn entropy(&self) -> f64 {
        metrics::soft_entropy(&self.counts)
    }

    /// Mean entropy of one row's soft assignment: the H(Z|X) all-unique labels would give, so
    /// H(Z) minus it is the largest I(X;Z) these rows can show (the ceiling).
    pub fn mean_row_entropy(&self) -> f64 {
        self.row_entropy_sum / self.rows as f64
    }

    /// Per stored label value of set `s`: (key, rows, H(Z|X=x)). Values seen once in the whole
    /// data are not listed (see [`UNIQUE`]).
    pub fn conditional_entropies(&self, s: usize) -> Vec<(LabelKey, u64, f64)> {
        let set = &self.label_sets[s];
        let m = self.config.n_bins;
        (0..set.keys.len())
            .map(|i| {
                (
                    set.keys[i],
                    set.rows[i],
                    metrics::soft_entropy(set.counts_of(i, m)),
                )
            })
            .collect()
    }

    /// The numbers of label set `s` over the rows it covers (all rows unless some were dropped).
    pub fn set_summary(&self, s: usize) -> SetEntropies {
        let set = &self.label_sets[s];
        let rows = self.rows - set.dropped.rows;
        let (entropy, row_entropy_sum) = if set.dropped.rows == 0 {
            (self.entropy(), self.row_entropy_sum)
        } else {
            let kept: Vec<f64> = self
                .counts
                .iter()
                .zip(&set.dropped_counts)
                .map(|(t, d)| (t - d).max(0.0))
                .collect();
            let kept = if rows == 0 {
                vec![0.0; kept.len()]
            } else {
                kept
            };
            (
                metrics::soft_entropy(&kept),
                self.row_entropy_sum - set.dropped.entropy_sum,
            )
        };
        let n = rows as f64;
        let conditional_entropy = self
            .conditional_entropies(s)
            .iter()
            .map(|&(_, nx, h)| (nx as f64 / n) * h)
            .sum::<f64>()
            + set.unique.entropy_sum / n;
        SetEntropies {
            rows,
            entropy,
            conditional_entropy,
            mean_row_entropy: row_entropy_sum / n,
        }
    }

    /// H(Z|X) = Σ_x (N_x/N) H(Z|X=x) for label set `s`.
    pub fn conditional_entropy(&self, s: usize) -> f64 {
        self.set_summary(s).conditional_entropy
    }

    /// I(X;Z) = H(Z) − H(Z|X) for label set `s`, in efficiency units.
    pub fn mutual_information(&self, s: usize) -> f64 {
        self.set_summary(s).mutual_information()
    }
}

/// What one label set's counts give, over the rows the set covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetEntropies {
    /// Rows covered (all rows used, less those dropped from this set).
    pub rows: u64,
    /// H(Z) of the covered rows (the layer's H(Z) when none was dropped).
    pub entropy: f64,
    /// H(Z|X) = Σ_x (N_x/N) H(Z|X=x).
    pub conditional_entropy: f64,
    /// Mean single-row entropy of the covered rows.
    pub mean_row_entropy: f64,
}

impl SetEntropies {
    /// I(X;Z) = H(Z) − H(Z|X).
    pub fn mutual_information(&self) -> f64 {
        self.entropy - self.conditional_entropy
    }
    /// The largest I(X;Z) these rows can show: H(Z) − mean single-row entropy.
    pub fn ceiling(&self) -> f64 {
        self.entropy - self.mean_row_entropy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn config(n_bins: usize) -> EstimatorConfig {
        EstimatorConfig {
            n_bins,
            seed: 0,
            calibration: Calibration::Fixed(0.1),
        }
    }

    /// The warm-up runs the real code on its made-up rows and gets numbers: its labels do not
    /// depend on the rows, so what the six I(X;Z) add up to is the estimator's small-sample bias
    /// (about 11 rows per label value), finite and positive.
    #[test]
    fn warm_up_computes_finite_positive_information() {
        let total = warm_up();
        assert!(total.is_finite() && total > 0.0, "{total}");
    }

    #[test]
    fn indexed_updates_give_the_hashed_counts_in_the_same_slots() {
        let mut r = rng::Pcg64::from_seed(11);
        let (n, d) = (400, 40);
        let mut data = Array2::from_shape_fn((n, d), |_| r.standard_normal());
        data.row_mut(17).fill(f64::NAN);
        data.row_mut(3).fill(0.0);
        let columns: Vec<Vec<LabelKey>> = (0..3u128)
            .map(|c| {
                (0..n as u128)
                    .map(|i| match (i * (c + 3)) % 41 {
                        0 => UNIQUE,
                        1 => DROPPED,
                        k => k * 1_000_003 + c,
                    })
                    .collect()
            })
            .collect();
        let names = ["a", "b", "c"];
        let cols = |range: std::ops::Range<usize>| -> Vec<&[LabelKey]> {
            columns.iter().map(|c| &c[range.clone()]).collect()
        };
        let ids = LabelIds::new(&cols(0..n)).unwrap();
        let mut hashed = SoftEntropyAccumulator::new(config(16), d, &names).unwrap();
        let mut indexed = hashed.clone();
        let mut mixed = hashed.clone();
        // Room made ahead for every label value: the same counts, and no set's counts grow.
        let mut reserved = hashed.clone();
        reserved.reserve_labels(&ids);
        let capacities = |a: &SoftEntropyAccumulator| -> Vec<usize> {
            a.label_sets.iter().map(|s| s.counts.capacity()).collect()
        };
        let room = capacities(&reserved);
        let distinct = ids.distinct().to_vec();
        assert!(distinct.iter().all(|&v| v > 1));
        let wanted: Vec<usize> = distinct.iter().map(|v| v * 16).collect();
        assert!(room.iter().zip(&wanted).all(|(r, w)| r >= w));
        for (k, range) in [0..150, 150..151, 151..400].into_iter().enumerate() {
            let rows = data.slice(ndarray::s![range.clone(), ..]);
            hashed.update(rows, &cols(range.clone())).unwrap();
            indexed
                .update_indexed(rows, &cols(range.clone()), &ids.slices(range.clone()))
                .unwrap();
            reserved
                .update_indexed(rows, &cols(range.clone()), &ids.slices(range.clone()))
                .unwrap();
            if k == 1 {
                mixed.update(rows, &cols(range.clone())).unwrap();
            } else {
                mixed
                    .update_indexed(rows, &cols(range.clone()), &ids.slices(range.clone()))
                    .unwrap();
            }
        }
        assert_eq!(capacities(&reserved), room);
        let used: Vec<usize> = reserved.label_sets.iter().map(|s| s.counts.len()).collect();
        assert_eq!(used, wanted);
        for other in [&indexed, &mixed, &reserved] {
            assert_eq!(other.rows_skipped(), 2);
            assert_eq!(other.counts(), hashed.counts());
            assert_eq!(other.label_sets(), hashed.label_sets());
            for s in 0..3 {
                assert_eq!(other.label_sets()[s].keys(), hashed.label_sets()[s].keys());
                assert_eq!(
                    other.mutual_information(s).to_bits(),
                    hashed.mutual_information(s).to_bits()
                );
            }
        }
        let short = ids.slices(0..10);
        let err = indexed.update_indexed(data.slice(ndarray::s![0..11, ..]), &cols(0..11), &short);
        assert!(err.is_err());
    }

    /// More label sets than one interleaved group, and bin counts below, at and off a cache
    /// line: every label value's counts are its rows' assignments (from `assign`) summed in row
    /// order, dropped rows go to the dropped counts and unique values keep none.
    #[test]
    fn interleaved_additions_give_each_label_value_its_rows_assignments() {
        let mut r = rng::Pcg64::from_seed(5);
        let (n, d, sets) = (300, 24, INTERLEAVED_SETS + 5);
        let data = Array2::from_shape_fn((n, d), |_| r.standard_normal());
        let columns: Vec<Vec<LabelKey>> = (0..sets as u128)
            .map(|c| {
                (0..n as u128)
                    .map(|i| match (i * (c + 2) + c) % 23 {
                        0 => UNIQUE,
                        1 => DROPPED,
                        k => k,
                    })
                    .collect()
            })
            .collect();
        let cols: Vec<&[LabelKey]> = columns.iter().map(|c| &c[..]).collect();
        let names: Vec<String> = (0..sets).map(|s| format!("set{s}")).collect();
        let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let ids = LabelIds::new(&cols).unwrap();
        for (n_bins, indexed) in [
            (3, false),
            (8, true),
            (10, false),
            (100, true),
            (100, false),
        ] {
            let mut acc = SoftEntropyAccumulator::new(config(n_bins), d, &names).unwrap();
            if indexed {
                acc.update_indexed(data.view(), &cols, &ids.slices(0..n))
                    .unwrap();
            } else {
                acc.update(data.view(), &cols).unwrap();
            }
            let assigned: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    let mut p = vec![0.0; n_bins];
                    acc.assign(data.row(i).as_slice().unwrap(), &mut p).unwrap();
                    p
                })
                .collect();
            for (s, column) in columns.iter().enumerate() {
                let set = &acc.label_sets()[s];
                let mut dropped = vec![0.0; n_bins];
                let mut expected: HashMap<LabelKey, Vec<f64>> = HashMap::new();
                let mut rows: HashMap<LabelKey, u64> = HashMap::new();
                let (mut unique, mut dropped_rows) = (0, 0);
                for (i, &key) in column.iter().enumerate() {
                    let into = match key {
                        UNIQUE => {
                            unique += 1;
                            continue;
                        }
                        DROPPED => {
                            dropped_rows += 1;
                            &mut dropped
                        }
                        k => {
                            *rows.entry(k).or_insert(0) += 1;
                            expected.entry(k).or_insert_with(|| vec![0.0; n_bins])
                        }
                    };
                    for (c, v) in into.iter_mut().zip(&assigned[i]) {
                        *c += v;
                    }
                }
                assert_eq!(set.keys().len(), expected.len(), "set {s}, {n_bins} bins");
                for (i, key) in set.keys().iter().enumerate() {
                    assert_eq!(
                        set.counts_of(i, n_bins),
                        &expected[key][..],
                        "set {s}, {n_bins} bins"
                    );
                    assert_eq!(set.rows()[i], rows[key], "set {s}, {n_bins} bins");
                }
                assert_eq!(set.dropped_counts(), &dropped[..], "set {s}, {n_bins} bins");
                assert_eq!(set.unique().rows, unique, "set {s}");
                assert_eq!(set.dropped().rows, dropped_rows, "set {s}");
            }
        }
    }

    #[test]
    fn sum_of_squares_is_exact_on_integers_and_close_to_a_running_sum() {
        for n in 0..40 {
            let v: Vec<f64> = (0..n).map(|i| (i as f64) - 7.0).collect();
            let exact: f64 = v.iter().map(|x| x * x).sum();
            assert_eq!(sum_of_squares(&v), exact, "length {n}");
        }
        let v: Vec<f64> = (0..2051)
            .map(|i| ((i * 7919) % 1000) as f64 / 997.0 - 0.4)
            .collect();
        let running = v.iter().fold(0.0, |a, x| a + x * x);
        assert!((sum_of_squares(&v) - running).abs() <= 1e-13 * running);
    }

    #[test]
    fn f32_rows_count_exactly_as_their_f64_copies() {
        // d = 20 scores in f64, d = 70 in f32.
        for d in [20, 70] {
            f32_rows_count_exactly_as_their_f64_copies_at(d);
        }
    }

    /// Rows as a float32 file holds them: the direct f32 path (no widened copy) must give the
    /// bits the f64 path gives, for plain, strided, broken and all-zero rows.
    fn f32_rows_count_exactly_as_their_f64_copies_at(d: usize) {
        let mut rows32 = Array2::from_shape_fn((40, d), |(i, j)| {
            ((i * 37 + j * 11) % 101) as f32 / 17.0 - 2.5
        });
        rows32.row_mut(3).fill(0.0);
        rows32[[5, 9]] = f32::NAN;
        rows32[[6, 0]] = f32::INFINITY;
        // Squares overflow f32 but not the f64 they are summed in: a row like any other.
        rows32.row_mut(7).fill(3e38);
        let rows64 = rows32.mapv(f64::from);
        let labels: Vec<LabelKey> = (0..40).map(|i| (i % 7) as LabelKey).collect();
        let new = || SoftEntropyAccumulator::new(config(20), d, &["x"]).unwrap();
        let (mut a, mut b, mut c, mut e) = (new(), new(), new(), new());
        a.update(rows32.view(), &[&labels]).unwrap();
        b.update(rows64.view(), &[&labels]).unwrap();
        // Every other column: rows that are not contiguous take the copying path.
        let wide32 = Array2::from_shape_fn((40, 2 * d), |(i, j)| rows32[[i, j / 2]]);
        c.update(wide32.slice(ndarray::s![.., ..;2]), &[&labels])
            .unwrap();
        let wide64 = wide32.mapv(f64::from);
        e.update(wide64.slice(ndarray::s![.., ..;2]), &[&labels])
            .unwrap();
        assert_eq!(a.rows_skipped(), 3);
        for other in [&b, &c, &e] {
            assert_eq!(a.rows(), other.rows());
            assert_eq!(a.rows_skipped(), other.rows_skipped());
            let bits = |x: &SoftEntropyAccumulator| {
                x.counts().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(bits(&a), bits(other));
            assert_eq!(
                a.mutual_information(0).to_bits(),
                other.mutual_information(0).to_bits()
            );
        }
    }

    #[test]
    fn identical_rows_give_one_assignment_and_zero_information() {
        let mut acc = SoftEntropyAccumulator::new(config(10), 3, &["x"]).unwrap();
        let rows = array![[1.0f64, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, 1.5]];
        acc.update(rows.view(), &[&[1, 2, 3]]).unwrap();
        // Every row has the same direction, so each label's histogram equals the total one.
        assert!((acc.mutual_information(0)).abs() < 1e-15);
        // A single soft assignment computed by hand.
        // Scores as the kernel takes them (d = 3: f64, the three products in lanes 0-2, so
        // ((p0 + p1) + (p2 + 0)) + 0).
        let w = acc.reference_points().to_owned();
        let z = [1.0, 2.0, 3.0].map(|v: f64| v / 14f64.sqrt());
        let logits: Vec<f64> = (0..10)
            .map(|j| {
                let p = |k: usize| z[k] * w[[j, k]];
                ((p(0) + p(1)) + p(2)) / 0.1
            })
            .collect();
        let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - mx).exp()).collect();
        let total: f64 = e.iter().sum();
        let h: f64 = -e
            .iter()
            .map(|v| v / total)
            .map(|p| p * p.max(1e-9).ln())
            .sum::<f64>()
            / 10f64.ln();
        assert!(
            (acc.entropy() - h).abs() < 1e-14,
            "{} vs {h}",
            acc.entropy()
        );
    }

    #[test]
    fn bad_rows_are_skipped_with_their_labels() {
        let mut acc = SoftEntropyAccumulator::new(config(4), 2, &["x"]).unwrap();
        let rows = array![
            [0.0f32, 0.0],
            [f32::NAN, 1.0],
            [1.0, f32::INFINITY],
            [1.0, 0.0]
        ];
        acc.update(rows.view(), &[&[7, 8, 9, 7]]).unwrap();
        assert_eq!(acc.rows(), 1);
        assert_eq!(acc.rows_skipped(), 3);
        assert_eq!(acc.label_sets()[0].keys(), &[7]);
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let mut acc = SoftEntropyAccumulator::new(config(4), 2, &["x"]).unwrap();
        let rows = array![[1.0f64, 0.0, 0.0]];
        assert!(matches!(
            acc.update(rows.view(), &[&[1]]),
            Err(EstimatorError::Dimension { .. })
        ));
        let rows = array![[1.0f64, 0.0]];
        let err = acc.update(rows.view(), &[&[1, 2]]).unwrap_err();
        assert_eq!(err.to_string(), "label set 'x' has 2 labels for 1 rows");
        assert!(acc.update(rows.view(), &[]).is_err());
    }

    #[test]
    fn information_is_between_zero_and_entropy_and_merge_is_exact() {
        let mut r = rng::Pcg64::from_seed(7);
        let n = 300;
        let d = 5;
        let data = Array2::from_shape_fn((n, d), |_| r.standard_normal());
        let labels: Vec<LabelKey> = (0..n as u128).map(|i| i % 7).collect();
        let mut whole = SoftEntropyAccumulator::new(config(16), d, &["x"]).unwrap();
        whole.update(data.view(), &[&labels]).unwrap();
        let h = whole.entropy();
        let i = whole.mutual_information(0);
        assert!(i >= 0.0 && i <= h, "0 <= {i} <= {h}");

        let mut a = SoftEntropyAccumulator::new(config(16), d, &["x"]).unwrap();
        let mut b = a.clone();
        a.update(data.slice(ndarray::s![..123, ..]), &[&labels[..123]])
            .unwrap();
        b.update(data.slice(ndarray::s![123.., ..]), &[&labels[123..]])
            .unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.rows(), whole.rows());
        assert!((a.entropy() - h).abs() < 1e-12);
        assert!((a.mutual_information(0) - i).abs() < 1e-12);
    }

    #[test]
    fn merge_refuses_other_settings() {
        let a = SoftEntropyAccumulator::new(config(4), 2, &["x"]).unwrap();
        let mut b = SoftEntropyAccumulator::new(config(5), 2, &["x"]).unwrap();
        assert!(b.merge(&a).is_err());
        let c = SoftEntropyAccumulator::new(config(4), 2, &["y"]).unwrap();
        let mut a2 = a.clone();
        assert!(a2.merge(&c).unwrap_err().to_string().contains("label sets"));
    }
}
