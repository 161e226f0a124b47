//! Orchestration: settings plus a dump in, one accumulator per layer out. The page, the CLI and the
//! tests all go through here, so the same file and settings give the same numbers everywhere.
//! An [`Analysis`] is also the mergeable state that shards computed apart combine into.

use std::ops::Range;
use std::sync::Arc;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::estimator::accumulator::LabelIds;
use crate::estimator::{EstimatorConfig, EstimatorError, LabelKey, SoftEntropyAccumulator};
use crate::formats::layout::{self, LayerSource, LayoutOverrides};
use crate::formats::tensor::{Floats, StreamError, TensorFile};
use crate::formats::FormatError;
use crate::labels::{
    self, BackoffCounts, LabelError, LabelOptions, LabelPlan, LabelSetSpec, NamedColumn,
};

mod model;
pub use model::{analyze_model, ModelAnalysis};

/// What to compute. `layers: None` means every layer; `sequences: None` means every sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    pub estimator: EstimatorConfig,
    pub orders: Vec<usize>,
    pub layers: Option<Vec<usize>>,
    pub sequences: Option<Range<usize>>,
    /// Positions left out, minimum counts, back-off, shuffled baselines.
    #[serde(default)]
    pub labels: LabelOptions,
    /// Sets of reference points: seeds `estimator.seed`, `+1`, ... (1 = the reference's one).
    #[serde(default = "one")]
    pub seeds: usize,
    /// Subtract each layer's mean row (over the whole data's positions, from a first pass) before
    /// the rows are normalised.
    #[serde(default)]
    pub centre: bool,
}

fn one() -> usize {
    1
}

/// Most sets of reference points one analysis may use.
pub const MAX_SEEDS: usize = 100;
/// Most shuffled copies of each label set.
pub const MAX_SHUFFLES: usize = 100;

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            estimator: EstimatorConfig::default(),
            orders: vec![1, 2, 3],
            layers: None,
            sequences: None,
            labels: LabelOptions::default(),
            seeds: 1,
            centre: false,
        }
    }
}

impl AnalysisSettings {
    /// The layers to analyse out of `available` (all when none were asked for); `source` and
    /// `has` ("the data has layers") word the message for a layer that is not there.
    fn chosen_layers(
        &self,
        available: &[usize],
        source: &str,
        has: &str,
    ) -> Result<Vec<usize>, AnalysisError> {
        let Some(wanted) = &self.layers else {
            return Ok(available.to_vec());
        };
        if let Some(bad) = wanted.iter().find(|l| !available.contains(l)) {
            return Err(AnalysisError::Settings(format!(
                "{source}: layer {bad} requested, but {has} {}",
                describe_layers(available)
            )));
        }
        Ok(wanted.clone())
    }

    /// The sequences to analyse out of `count` (one shard when `sequences` is set).
    fn chosen_sequences(
        &self,
        count: usize,
        source: &str,
        has: &str,
    ) -> Result<Range<usize>, AnalysisError> {
        let Some(r) = &self.sequences else {
            return Ok(0..count);
        };
        if r.start > r.end || r.end > count {
            return Err(AnalysisError::Settings(format!(
                "{source}: sequences {}..{} requested, but {has} {count}",
                r.start, r.end
            )));
        }
        Ok(r.clone())
    }

    /// Checks the counts that multiply the work.
    pub(crate) fn check(&self, source: &str) -> Result<(), AnalysisError> {
        if self.seeds == 0 || self.seeds > MAX_SEEDS {
            return Err(AnalysisError::Settings(format!(
                "{source}: seeds must be 1 to {MAX_SEEDS}, got {}",
                self.seeds
            )));
        }
        if self.labels.shuffles > MAX_SHUFFLES {
            return Err(AnalysisError::Settings(format!(
                "{source}: shuffles must be 0 to {MAX_SHUFFLES}, got {}",
                self.labels.shuffles
            )));
        }
        Ok(())
    }

    /// One empty accumulator per seed for `d`-dimensional rows tracking `plan`'s label sets and
    /// their shuffled copies.
    pub(crate) fn accumulators(
        &self,
        d: usize,
        specs: &[LabelSetSpec],
    ) -> Result<Vec<SoftEntropyAccumulator>, EstimatorError> {
        let mut names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        for spec in specs {
            for k in 0..self.labels.shuffles {
                names.push(format!("{}~shuffled{}", spec.name, k + 1));
            }
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        (0..self.seeds as u64)
            .map(|i| {
                let config = EstimatorConfig {
                    seed: self.estimator.seed.wrapping_add(i),
                    ..self.estimator
                };
                SoftEntropyAccumulator::new(config, d, &names)
            })
            .collect()
    }
}

/// Anything that stops an analysis, with a one-line message.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("{0}")]
    Estimator(#[from] EstimatorError),
    #[error("{0}")]
    Labels(#[from] LabelError),
    #[error("{0}")]
    Settings(String),
    #[error("{0}")]
    Model(#[from] crate::model::ModelError),
}

/// Counts describing what entered an analysis. For plain rows without token ids, `sequences` and
/// `tokens` are 0 and `positions` counts the rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    /// Input files (several for a multi-file dataset or after a merge).
    pub files: Vec<String>,
    /// What was detected in them.
    pub layout: String,
    /// Layers the data holds (0 = embedding output).
    pub layers_in_file: usize,
    pub d: usize,
    pub sequences: usize,
    pub tokens: usize,
    /// Positions analysed per layer (before skipping bad rows).
    pub positions: usize,
    /// Sequences shorter than 2n tokens, which give no position.
    pub sequences_without_positions: usize,
    /// Per back-off label set, the analysed positions labelled at each order.
    #[serde(default)]
    pub backoff: Vec<BackoffCounts>,
    /// Fingerprints of the data the labels were counted and shuffled over: one for an analysis
    /// and for merged shards of one dataset; several when different datasets were merged (the
    /// shuffles then permuted labels within each dataset only).
    #[serde(default, with = "hex_fingerprints")]
    pub label_data: Vec<u64>,
}

/// Fingerprints are written as 16 hex digits: a JSON number above 2^53 loses its last digits in
/// any JavaScript reader (the page's own export among them). Numbers, as reports of schema 2 and
/// states of version 3 wrote them, are still read.
mod hex_fingerprints {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[u64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|f| format!("{f:016x}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Fingerprint {
            Hex(String),
            Number(u64),
        }
        Vec::<Fingerprint>::deserialize(d)?
            .into_iter()
            .map(|f| match f {
                Fingerprint::Number(n) => Ok(n),
                Fingerprint::Hex(h) if h.len() == 16 => u64::from_str_radix(&h, 16)
                    .map_err(|_| serde::de::Error::custom(format!("bad fingerprint '{h}'"))),
                Fingerprint::Hex(h) => Err(serde::de::Error::custom(format!(
                    "bad fingerprint '{h}' (expected 16 hex digits)"
                ))),
            })
            .collect()
    }
}

/// The numbers read off one label set (and its shuffled copies) with one set of reference points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetSummary {
    /// Rows the set covers (all rows unless values below the minimum count were dropped).
    pub rows: u64,
    /// H(Z) of those rows.
    pub entropy: f64,
    /// I(X;Z), efficiency.
    pub mutual_information: f64,
    /// H(Z|X) = Σ (N_x/N) H(Z|X=x).
    pub conditional_entropy: f64,
    /// H(Z) − mean single-row entropy: what all-unique labels would give.
    pub ceiling: f64,
    pub distinct_labels: usize,
    /// I(X;Z) of each shuffled copy of the labels.
    pub shuffled: Vec<f64>,
}

/// One layer's numbers with one set of reference points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSummary {
    pub seed: u64,
    /// H(Z), efficiency.
    pub entropy: f64,
    /// Mean entropy of one row's soft assignment.
    pub mean_row_entropy: f64,
    /// One per label set, in the analysis' label-set order.
    pub sets: Vec<SetSummary>,
}

/// The numbers read off one layer's counts: all a report needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    pub rows: u64,
    pub rows_skipped: u64,
    pub temperature: f64,
    /// One per set of reference points.
    pub seeds: Vec<SeedSummary>,
}

impl LayerSummary {
    /// Reads the numbers off one accumulator per seed tracking `sets` label sets, each followed
    /// (after all of them) by `shuffles` shuffled copies.
    pub fn of(accs: &[SoftEntropyAccumulator], sets: usize, shuffles: usize) -> Self {
        let first = &accs[0];
        let seeds = accs
            .iter()
            .map(|acc| SeedSummary {
                seed: acc.config().seed,
                entropy: acc.entropy(),
                mean_row_entropy: acc.mean_row_entropy(),
                sets: (0..sets)
                    .map(|s| {
                        let e = acc.set_summary(s);
                        SetSummary {
                            rows: e.rows,
                            entropy: e.entropy,
                            mutual_information: e.mutual_information(),
                            conditional_entropy: e.conditional_entropy,
                            ceiling: e.ceiling(),
                            distinct_labels: acc.label_sets()[s].distinct(),
                            shuffled: (0..shuffles)
                                .map(|k| acc.mutual_information(sets + s * shuffles + k))
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect();
        Self {
            rows: first.rows(),
            rows_skipped: first.rows_skipped(),
            temperature: first.temperature(),
            seeds,
        }
    }
}

/// One analysed layer: its numbers, and its counts (one accumulator per seed) when they are kept
/// for saving or merging. Dropping the counts after each layer bounds memory by one layer's label
/// histograms.
#[derive(Clone, Debug)]
pub struct LayerState {
    pub layer: usize,
    pub summary: LayerSummary,
    pub accumulators: Option<Vec<SoftEntropyAccumulator>>,
}

impl LayerState {
    pub(crate) fn new(
        layer: usize,
        accumulators: Vec<SoftEntropyAccumulator>,
        sets: usize,
        shuffles: usize,
        keep_counts: bool,
    ) -> Self {
        Self {
            layer,
            summary: LayerSummary::of(&accumulators, sets, shuffles),
            accumulators: keep_counts.then_some(accumulators),
        }
    }
}

/// An analysis's numbers without its counts: what a share of the layers sends to be joined by
/// [`Analysis::combine_layers`] (the page's workers post it to each other). The counts, when
/// they must travel, go in [`crate::state`]'s format.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnalysisNumbers {
    pub settings: AnalysisSettings,
    pub input: InputSummary,
    pub specs: Vec<LabelSetSpec>,
    pub layers: Vec<(usize, LayerSummary)>,
}

impl From<&Analysis> for AnalysisNumbers {
    fn from(a: &Analysis) -> Self {
        Self {
            settings: a.settings.clone(),
            input: a.input.clone(),
            specs: a.specs.clone(),
            layers: a
                .layers
                .iter()
                .map(|l| (l.layer, l.summary.clone()))
                .collect(),
        }
    }
}

impl From<AnalysisNumbers> for Analysis {
    fn from(n: AnalysisNumbers) -> Self {
        Self {
            settings: n.settings,
            input: n.input,
            specs: n.specs,
            layers: n
                .layers
                .into_iter()
                .map(|(layer, summary)| LayerState {
                    layer,
                    summary,
                    accumulators: None,
                })
                .collect(),
        }
    }
}

/// The state of an analysis: settings, what went in, and the soft counts of every analysed layer.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub settings: AnalysisSettings,
    pub input: InputSummary,
    pub specs: Vec<LabelSetSpec>,
    pub layers: Vec<LayerState>,
}

/// Bytes of rows read and decoded at a time (at least one row), bounding memory whatever the
/// file size. Natively 1 MiB: the decoded chunk is still in cache on its way to the estimator.
#[cfg(not(target_arch = "wasm32"))]
const CHUNK_BYTES: usize = 1 << 20;
/// In the page 16 MiB (and at most [`CHUNK_ROWS`] rows): reads of a slice or more go straight
/// from the file (`web::FileSource`), and Chromium hands over 16 MiB pieces faster than 4 MiB ones
/// (BENCHMARKS.md, *How fast the page can read at all*). Larger reads (64 MiB, or 16 MiB at any
/// width) were faster on some inputs, but cost wasm memory and lengthened the main thread's stall
/// at the end of a run past what a browser test allows (BENCHMARKS.md, *Issue 8, fifth pass*).
#[cfg(target_arch = "wasm32")]
const CHUNK_BYTES: usize = 16 << 20;
/// At most this many rows per chunk (short rows).
const CHUNK_ROWS: usize = 2048;

/// Which of the chosen layers one run analyses: part `part` of `parts` contiguous, nearly equal
/// shares (a layer's numbers never depend on another layer's, so the shares of one dataset can
/// run in different threads or Web Workers and [`Analysis::combine_layers`] joins them into
/// exactly the whole run's result). [`LayerShare::WHOLE`] is every chosen layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerShare {
    pub part: usize,
    pub parts: usize,
}

impl LayerShare {
    pub const WHOLE: LayerShare = LayerShare { part: 0, parts: 1 };

    /// This share of `layers`, in their order: the first `len mod parts` shares take one more.
    /// Shares past the number of layers are empty.
    pub fn of<'a>(&self, layers: &'a [usize]) -> &'a [usize] {
        let parts = self.parts.max(1);
        let (base, extra) = (layers.len() / parts, layers.len() % parts);
        let start = (self.part * base + self.part.min(extra)).min(layers.len());
        let len = if self.part < parts {
            base + usize::from(self.part < extra)
        } else {
            0
        };
        &layers[start..(start + len).min(layers.len())]
    }
}

/// Parses a layer list such as `0,3,5-7`.
pub fn parse_layers(text: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad layer list '{text}' (expected e.g. 0,3,5-7)");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    if out.is_empty() {
        return Err(format!("bad layer list '{text}' (no layer named)"));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
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
type RowsSink<'a> = dyn FnMut(Range<usize>, Floats<'_>) -> Result<(), EstimatorError> + 'a;

/// Streams the rows `rows` (ascending row indices within one layer) of `src`, handing each run of
/// consecutive requested rows to `f(range into rows, rows × d values)`, in order, as the file
/// decodes them (f32 or f64). Runs are slices of the decoded chunk itself; only a row split
/// between two chunks is copied.
fn stream_rows(
    file: &mut dyn TensorFile,
    src: &LayerSource,
    d: usize,
    rows: &[usize],
    f: &mut RowsSink<'_>,
) -> Result<(), AnalysisError> {
    let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) else {
        return Ok(());
    };
    debug_assert!(rows.windows(2).all(|w| w[0] < w[1]), "rows ascend strictly");
    let mut at = Gathered {
        rows,
        d,
        row: lo,
        cursor: 0,
    };
    // A tensor's chunks all come as one type; a row split between chunks waits in its buffer.
    let (mut split32, mut split64) = (Vec::new(), Vec::new());
    let mut sink = |chunk: Floats<'_>| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        match chunk {
            Floats::F32(v) => at.take(v, &mut split32, &mut |r, x| f(r, Floats::F32(x))),
            Floats::F64(v) => at.take(v, &mut split64, &mut |r, x| f(r, Floats::F64(x))),
        }
        .map_err(|e| Box::new(Stop(e)) as _)
    };
    // Chunks of whole rows, natively about 1 MiB: decoded while still in cache, and the buffers
    // are reused instead of faulted in afresh for every layer (at 2048 rows per chunk they had
    // been). In the page up to 16 MiB, one read each (see CHUNK_BYTES).
    let size = file
        .tensor(&src.tensor.name)
        .map_or(8, |t| t.dtype.size().max(1));
    let chunk = (CHUNK_BYTES / (d * size).max(1)).clamp(1, CHUNK_ROWS) * d;
    let first = src.first_element + lo * d;
    let last = src.first_element + (hi + 1) * d;
    file.read_floats(&src.tensor.name, first..last, chunk, &mut sink)
        .map_err(|e| match e {
            StreamError::Format(f) => AnalysisError::Format(f),
            StreamError::Sink(s) => match s.downcast::<Stop>() {
                Ok(stop) => AnalysisError::Estimator(stop.0),
                Err(other) => AnalysisError::Settings(other.to_string()),
            },
        })
}

/// Takes a run of gathered rows of one type: (range into the requested rows, rows × d values).
type RunSink<'a, T> = dyn FnMut(Range<usize>, &[T]) -> Result<(), EstimatorError> + 'a;

/// Where [`stream_rows`] stands: the file row that the next decoded value starts (or, with part
/// of a row held back, continues), and the next requested row (index into `rows`).
struct Gathered<'a> {
    rows: &'a [usize],
    d: usize,
    row: usize,
    cursor: usize,
}

impl Gathered<'_> {
    /// Hands the requested rows among the next decoded values `data` to `f`, completing the row
    /// held in `split` first and holding back a row the chunk cuts.
    fn take<T: Copy>(
        &mut self,
        mut data: &[T],
        split: &mut Vec<T>,
        f: &mut RunSink<'_, T>,
    ) -> Result<(), EstimatorError> {
        let (rows, d) = (self.rows, self.d);
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
struct RowMean {
    sum: Vec<f64>,
    rows: u64,
}

impl RowMean {
    fn new(d: usize) -> Self {
        Self {
            sum: vec![0.0; d],
            rows: 0,
        }
    }
    /// Adds the rows of `values` (rows × d, f32 or f64) that are valid.
    fn add_rows<T: Copy + Into<f64>>(&mut self, values: &[T]) {
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
    fn mean(self) -> Arc<Vec<f64>> {
        let n = self.rows.max(1) as f64;
        Arc::new(self.sum.into_iter().map(|s| s / n).collect())
    }
}

/// Feeds a batch of rows (`values`, rows × d) to every seed's accumulator.
fn update_all(
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
fn label_ids(plan: &LabelPlan) -> Result<LabelIds, EstimatorError> {
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

/// How many layers [`analyze`] would analyse with these settings: how many shares are worth
/// running side by side.
pub fn chosen_layer_count(
    files: &mut [Box<dyn TensorFile>],
    label_files: &[bool],
    overrides: &LayoutOverrides,
    settings: &AnalysisSettings,
) -> Result<usize, AnalysisError> {
    let layout = layout::detect(files, label_files, overrides)?;
    let source: Vec<&str> = files.iter().map(|f| f.file_name()).collect();
    let available: Vec<usize> = layout.layers.iter().map(|l| l.layer).collect();
    Ok(settings
        .chosen_layers(&available, &source.join(" + "), "the data has layers")?
        .len())
}

/// Analyses a dataset made of `files` (see `formats::layout` for what is recognised).
/// `label_files[i]` marks files whose columns are all label sets (TSV metadata). With
/// `keep_counts` the result keeps every layer's soft counts, so it can be saved and merged;
/// without, each layer's counts are dropped once its numbers are read off. `share` picks the part
/// of the chosen layers this run analyses ([`LayerShare::WHOLE`]: all). `on_layer(done, total)`
/// is called once the layers are known (`done` = 0) and after each layer (the page shows it as
/// progress).
pub fn analyze(
    files: &mut [Box<dyn TensorFile>],
    label_files: &[bool],
    overrides: &LayoutOverrides,
    settings: &AnalysisSettings,
    keep_counts: bool,
    share: LayerShare,
    on_layer: &mut dyn FnMut(usize, usize),
) -> Result<Analysis, AnalysisError> {
    let layout = layout::detect(files, label_files, overrides)?;
    let names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
    let source = names.join(" + ");
    settings.check(&source)?;
    if share.parts == 0 || share.part >= share.parts {
        return Err(AnalysisError::Settings(format!(
            "{source}: share {} of {} does not exist",
            share.part, share.parts
        )));
    }
    let available: Vec<usize> = layout.layers.iter().map(|l| l.layer).collect();
    let layers = share
        .of(&settings.chosen_layers(&available, &source, "the data has layers")?)
        .to_vec();

    // Positions (rows within a layer), their label sets, and the summary of what went in.
    let (plan, rows, universe_rows, summary) = match &layout.text {
        Some(text) => {
            let chosen =
                settings.chosen_sequences(text.sequences.len(), &source, "the data has")?;
            let named = layout
                .extra_labels
                .iter()
                .map(|e| NamedColumn {
                    name: e.name.clone(),
                    keys: text.token_rows.iter().map(|&r| e.keys[r]).collect(),
                })
                .collect();
            let plan = labels::plan(
                &text.tokens,
                &text.sequences,
                Some(chosen.clone()),
                &settings.orders,
                named,
                &settings.labels,
            )?;
            let rows: Vec<usize> = plan.positions.iter().map(|&p| text.token_rows[p]).collect();
            let universe_rows: Vec<usize> = plan
                .universe_positions
                .iter()
                .map(|&p| text.token_rows[p])
                .collect();
            let chosen = &text.sequences[chosen];
            let summary = (chosen.len(), chosen.iter().map(|s| s.len()).sum::<usize>());
            (plan, rows, universe_rows, summary)
        }
        None => {
            let l = &settings.labels;
            if settings.sequences.is_some() || l.exclude_first > 0 || !l.exclude_tokens.is_empty() {
                let what = if settings.sequences.is_some() {
                    "--sequences"
                } else {
                    "excluding positions"
                };
                return Err(AnalysisError::Settings(format!(
                    "{source}: {what} needs token ids to find sequences, and the data has none"
                )));
            }
            if l.backoff.is_some() {
                return Err(AnalysisError::Settings(format!(
                    "{source}: back-off labels need token ids, and the data has none"
                )));
            }
            let named = layout
                .extra_labels
                .iter()
                .map(|e| NamedColumn {
                    name: e.name.clone(),
                    keys: e.keys.clone(),
                })
                .collect();
            let plan = labels::plan_rows(layout.rows_per_layer, named, l);
            let rows = plan.positions.clone();
            (plan, rows.clone(), rows, (0, 0))
        }
    };

    // A share beyond the layers (the page starts its workers before it knows how many layers
    // there are) needs no accumulators: it brings the input's summary only.
    let prototype = if layers.is_empty() {
        Vec::new()
    } else {
        settings.accumulators(layout.d, &plan.specs)?
    };
    let ids = label_ids(&plan)?;
    let n_sets = plan.specs.len();
    let shuffles = settings.labels.shuffles;
    let mut states = Vec::with_capacity(layers.len());
    let d = layout.d;
    on_layer(0, layers.len());
    for &layer in &layers {
        let src = layout
            .layers
            .iter()
            .find(|s| s.layer == layer)
            .expect("layers were checked against the layout");
        let mut accs = prototype.clone();
        let file = &mut *files[src.tensor.file];
        if settings.centre {
            let mut mean = RowMean::new(d);
            stream_rows(file, src, d, &universe_rows, &mut |_, values| {
                match values {
                    Floats::F32(v) => mean.add_rows(v),
                    Floats::F64(v) => mean.add_rows(v),
                }
                Ok(())
            })?;
            let mean = mean.mean();
            accs = accs
                .into_iter()
                .map(|a| a.with_centre(mean.clone()))
                .collect::<Result<_, _>>()?;
        }
        stream_rows(file, src, d, &rows, &mut |range, values| {
            update_all(&mut accs, values, d, &plan, &ids, range)
        })?;
        states.push(LayerState::new(layer, accs, n_sets, shuffles, keep_counts));
        on_layer(states.len(), layers.len());
    }

    Ok(Analysis {
        settings: AnalysisSettings {
            orders: plan.orders.clone(),
            layers: Some(layers),
            ..settings.clone()
        },
        input: InputSummary {
            files: names,
            layout: layout.description.clone(),
            layers_in_file: layout.layers.len(),
            d,
            sequences: summary.0,
            tokens: summary.1,
            positions: rows.len(),
            sequences_without_positions: plan.sequences_without_positions,
            backoff: plan.backoff_counts.clone(),
            label_data: vec![plan.fingerprint],
        },
        specs: plan.specs,
        layers: states,
    })
}

fn describe_layers(layers: &[usize]) -> String {
    match (layers.first(), layers.last()) {
        (Some(a), Some(b)) if b - a + 1 == layers.len() => format!("{a} to {b}"),
        _ => format!("{layers:?}"),
    }
}

impl Analysis {
    /// Adds another analysis of the same model layout and settings (typically another shard of the
    /// sequences) into this one. Counts add, so the result equals one analysis of both inputs.
    pub fn merge(&mut self, other: &Analysis) -> Result<(), AnalysisError> {
        let refuse = |what: &str| {
            Err(AnalysisError::Settings(format!(
                "cannot merge {} into {}: {what} differ",
                other.input.files.join("+"),
                self.input.files.join("+")
            )))
        };
        if self.settings.estimator != other.settings.estimator {
            return refuse("estimator settings (bins, seed, calibration)");
        }
        if self.settings.labels != other.settings.labels {
            return refuse("label options (excluded positions, minimum count, back-off, shuffles)");
        }
        if self.settings.seeds != other.settings.seeds {
            return refuse("numbers of seeds");
        }
        if self.settings.centre != other.settings.centre {
            return refuse("centring settings");
        }
        if self.settings.orders != other.settings.orders || self.specs != other.specs {
            return refuse("label sets (n-gram orders or named labels)");
        }
        if self.settings.layers != other.settings.layers
            || self.input.layers_in_file != other.input.layers_in_file
        {
            return refuse("layers");
        }
        if self.input.d != other.input.d {
            return refuse("widths d");
        }
        let sum = |a: usize, b: usize| a.checked_add(b);
        let (Some(sequences), Some(tokens), Some(positions), Some(short)) = (
            sum(self.input.sequences, other.input.sequences),
            sum(self.input.tokens, other.input.tokens),
            sum(self.input.positions, other.input.positions),
            sum(
                self.input.sequences_without_positions,
                other.input.sequences_without_positions,
            ),
        ) else {
            return Err(AnalysisError::Settings(format!(
                "cannot merge {} into {}: their counts are too large to add",
                other.input.files.join("+"),
                self.input.files.join("+")
            )));
        };
        let (n_sets, shuffles) = (self.specs.len(), self.settings.labels.shuffles);
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            let (Some(mine), Some(theirs)) = (a.accumulators.as_mut(), b.accumulators.as_ref())
            else {
                return Err(AnalysisError::Settings(
                    "cannot merge an analysis whose counts were not kept".into(),
                ));
            };
            if mine.len() != theirs.len() {
                return refuse("numbers of seeds");
            }
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.merge(t)?;
            }
            a.summary = LayerSummary::of(mine, n_sets, shuffles);
        }
        let i = &mut self.input;
        i.files.extend(other.input.files.iter().cloned());
        i.sequences = sequences;
        i.tokens = tokens;
        i.positions = positions;
        i.sequences_without_positions = short;
        for theirs in &other.input.backoff {
            if let Some(mine) = i.backoff.iter_mut().find(|b| b.name == theirs.name) {
                for (m, t) in mine.positions.iter_mut().zip(theirs.positions) {
                    *m = m.saturating_add(t);
                }
            }
        }
        for f in &other.input.label_data {
            if !i.label_data.contains(f) {
                i.label_data.push(*f);
            }
        }
        if self.settings.sequences != other.settings.sequences {
            self.settings.sequences = None;
        }
        Ok(())
    }

    /// Joins analyses of disjoint shares of one dataset's layers (see [`LayerShare`]), in the
    /// order given, into the analysis of all of them: the layers are concatenated and nothing
    /// else changes, so the result equals one run over every layer. Everything but the layers
    /// (settings, what went in, label sets) must be equal, and no layer may appear twice.
    pub fn combine_layers(parts: Vec<Analysis>) -> Result<Analysis, AnalysisError> {
        let mut parts = parts.into_iter();
        let mut all = parts.next().ok_or_else(|| {
            AnalysisError::Settings("there are no layer shares to combine".into())
        })?;
        for part in parts {
            let refuse = |what: &str| {
                Err(AnalysisError::Settings(format!(
                    "cannot combine layer shares of {}: their {what} differ",
                    all.input.files.join(" + ")
                )))
            };
            let without_layers = |s: &AnalysisSettings| AnalysisSettings {
                layers: None,
                ..s.clone()
            };
            if without_layers(&all.settings) != without_layers(&part.settings) {
                return refuse("settings");
            }
            if all.input != part.input {
                return refuse("inputs");
            }
            if all.specs != part.specs {
                return refuse("label sets");
            }
            if let Some(l) = part
                .layers
                .iter()
                .find(|l| all.layers.iter().any(|m| m.layer == l.layer))
            {
                return Err(AnalysisError::Settings(format!(
                    "cannot combine layer shares of {}: layer {} is in two of them",
                    all.input.files.join(" + "),
                    l.layer
                )));
            }
            all.layers.extend(part.layers);
        }
        all.settings.layers = Some(all.layers.iter().map(|l| l.layer).collect());
        Ok(all)
    }

    /// The temperature ε all layers use (they share d, bins and calibration).
    pub fn temperature(&self) -> Option<f64> {
        self.layers.first().map(|l| l.summary.temperature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            tensor: layout::TensorRef {
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
    fn layer_shares_cover_every_layer_once_in_order() {
        let layers: Vec<usize> = (10..23).collect();
        for parts in 1..=15 {
            let shares: Vec<&[usize]> = (0..parts)
                .map(|part| LayerShare { part, parts }.of(&layers))
                .collect();
            assert_eq!(shares.concat(), layers, "{parts} parts");
            let (min, max) = (
                shares.iter().map(|s| s.len()).min().unwrap(),
                shares.iter().map(|s| s.len()).max().unwrap(),
            );
            assert!(max - min <= 1, "{parts} parts: sizes {min}..{max}");
        }
        assert_eq!(LayerShare::WHOLE.of(&layers), &layers[..]);
        assert!(LayerShare { part: 3, parts: 2 }.of(&layers).is_empty());
    }

    #[test]
    fn fingerprints_are_written_as_hex_and_read_as_hex_or_numbers() {
        let input = InputSummary {
            label_data: vec![10084044336332876487, 7],
            ..InputSummary::default()
        };
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(
            json["label_data"],
            serde_json::json!(["8bf1b8e576692ac7", "0000000000000007"])
        );
        assert_eq!(serde_json::from_value::<InputSummary>(json).unwrap(), input);
        let mut old = serde_json::to_value(&input).unwrap();
        old["label_data"] = serde_json::json!([10084044336332876487u64, 7]);
        assert_eq!(serde_json::from_value::<InputSummary>(old).unwrap(), input);
        for bad in ["8bf1", "zzzzzzzzzzzzzzzz"] {
            let mut v = serde_json::to_value(&input).unwrap();
            v["label_data"] = serde_json::json!([bad]);
            assert!(serde_json::from_value::<InputSummary>(v).is_err(), "{bad}");
        }
    }

    #[test]
    fn layer_lists() {
        assert_eq!(parse_layers("0,3,5-7").unwrap(), vec![0, 3, 5, 6, 7]);
        assert_eq!(parse_layers("2, 1,2").unwrap(), vec![1, 2]);
        assert!(parse_layers("3-1").is_err());
        assert!(parse_layers("x").is_err());
        assert!(parse_layers("").is_err());
    }
}
