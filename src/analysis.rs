//! Orchestration: settings plus a dump in, one accumulator per layer out. The page, the CLI and the
//! tests all go through here, so the same file and settings give the same numbers everywhere.
//! An [`Analysis`] is also the mergeable state that shards computed apart combine into.

use std::ops::Range;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::estimator::{EstimatorConfig, EstimatorError, LabelKey, SoftEntropyAccumulator};
use crate::formats::layout::{self, LayoutOverrides};
use crate::formats::tensor::{StreamError, TensorFile};
use crate::formats::FormatError;
use crate::labels::{self, LabelError, LabelSetSpec};

/// What to compute. `layers: None` means every layer; `sequences: None` means every sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    pub estimator: EstimatorConfig,
    pub orders: Vec<usize>,
    pub layers: Option<Vec<usize>>,
    pub sequences: Option<Range<usize>>,
    /// Leave out the first position of each sequence (BOS / attention sink); only changes
    /// anything for order-1-only analyses, whose positions otherwise start at 0.
    #[serde(default)]
    pub exclude_first: bool,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            estimator: EstimatorConfig::default(),
            orders: vec![1, 2, 3],
            layers: None,
            sequences: None,
            exclude_first: false,
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

    /// The sequences to analyse out of `all` (one shard when `sequences` is set).
    fn chosen_sequences<'a>(
        &self,
        all: &'a [Range<usize>],
        source: &str,
        has: &str,
    ) -> Result<&'a [Range<usize>], AnalysisError> {
        let Some(r) = &self.sequences else {
            return Ok(all);
        };
        all.get(r.clone()).ok_or_else(|| {
            AnalysisError::Settings(format!(
                "{source}: sequences {}..{} requested, but {has} {}",
                r.start,
                r.end,
                all.len()
            ))
        })
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
}

/// The numbers read off one layer's counts, for one label set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetSummary {
    /// I(X;Z), efficiency.
    pub mutual_information: f64,
    /// H(Z|X) = Σ (N_x/N) H(Z|X=x).
    pub conditional_entropy: f64,
    pub distinct_labels: usize,
}

/// The numbers read off one layer's counts: all a report needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    pub rows: u64,
    pub rows_skipped: u64,
    pub temperature: f64,
    /// H(Z), efficiency.
    pub entropy: f64,
    /// One per label set, in the analysis' label-set order.
    pub sets: Vec<SetSummary>,
}

impl LayerSummary {
    pub fn of(acc: &SoftEntropyAccumulator) -> Self {
        let entropy = acc.entropy();
        let sets = (0..acc.label_sets().len())
            .map(|s| {
                let conditional_entropy = acc.conditional_entropy(s);
                SetSummary {
                    mutual_information: entropy - conditional_entropy,
                    conditional_entropy,
                    distinct_labels: acc.label_sets()[s].keys().len(),
                }
            })
            .collect();
        Self {
            rows: acc.rows(),
            rows_skipped: acc.rows_skipped(),
            temperature: acc.temperature(),
            entropy,
            sets,
        }
    }
}

/// One analysed layer: its numbers, and its counts when they are kept for saving or merging.
/// Dropping the counts after each layer bounds memory by one layer's label histograms.
#[derive(Clone, Debug)]
pub struct LayerState {
    pub layer: usize,
    pub summary: LayerSummary,
    pub accumulator: Option<SoftEntropyAccumulator>,
}

impl LayerState {
    fn new(layer: usize, accumulator: SoftEntropyAccumulator, keep_counts: bool) -> Self {
        Self {
            layer,
            summary: LayerSummary::of(&accumulator),
            accumulator: keep_counts.then_some(accumulator),
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

/// Rows decoded per read; bounds memory at `CHUNK_ROWS × d × 8` bytes whatever the file size.
const CHUNK_ROWS: usize = 2048;

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

/// Analyses a dataset made of `files` (see `formats::layout` for what is recognised).
/// `label_files[i]` marks files whose columns are all label sets (TSV metadata). With
/// `keep_counts` the result keeps every layer's soft counts, so it can be saved and merged;
/// without, each layer's counts are dropped once its numbers are read off. `on_layer(done, total)`
/// is called after each layer (the page shows it as progress).
pub fn analyze(
    files: &mut [Box<dyn TensorFile>],
    label_files: &[bool],
    overrides: &LayoutOverrides,
    settings: &AnalysisSettings,
    keep_counts: bool,
    on_layer: &mut dyn FnMut(usize, usize),
) -> Result<Analysis, AnalysisError> {
    let layout = layout::detect(files, label_files, overrides)?;
    let names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
    let source = names.join(" + ");
    let available: Vec<usize> = layout.layers.iter().map(|l| l.layer).collect();
    let layers = settings.chosen_layers(&available, &source, "the data has layers")?;

    // Positions (rows within a layer), their label sets, and the summary of what went in.
    let (orders, mut specs, rows, mut label_columns, summary) = match &layout.text {
        Some(text) => {
            let sequences = settings.chosen_sequences(&text.sequences, &source, "the data has")?;
            let plan = labels::plan(
                &text.tokens,
                sequences,
                &settings.orders,
                settings.exclude_first,
            )?;
            let rows: Vec<usize> = plan.positions.iter().map(|&p| text.token_rows[p]).collect();
            let summary = (
                sequences.len(),
                sequences.iter().map(|s| s.len()).sum::<usize>(),
                plan.sequences_without_positions,
            );
            (plan.orders, plan.specs, rows, plan.labels, summary)
        }
        None => {
            if settings.sequences.is_some() || settings.exclude_first {
                let what = if settings.exclude_first {
                    "excluding the first position"
                } else {
                    "--sequences"
                };
                return Err(AnalysisError::Settings(format!(
                    "{source}: {what} needs token ids to find sequences, and the data has none"
                )));
            }
            let rows: Vec<usize> = (0..layout.rows_per_layer).collect();
            (Vec::new(), Vec::new(), rows, Vec::new(), (0, 0, 0))
        }
    };
    for extra in &layout.extra_labels {
        specs.push(LabelSetSpec::named(&extra.name));
        label_columns.push(rows.iter().map(|&r| extra.keys[r]).collect());
    }

    let spec_names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let prototype = SoftEntropyAccumulator::new(settings.estimator, layout.d, &spec_names)?;
    let mut states = Vec::with_capacity(layers.len());
    let d = layout.d;
    if let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) {
        for &layer in &layers {
            let src = layout
                .layers
                .iter()
                .find(|s| s.layer == layer)
                .expect("layers were checked against the layout");
            let mut acc = prototype.clone();
            let mut row = lo;
            let mut cursor = 0usize;
            let mut pending: Vec<f64> = Vec::with_capacity(CHUNK_ROWS * d);
            let mut gathered: Vec<f64> = Vec::new();
            let mut sink = |chunk: &[f64]| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                pending.extend_from_slice(chunk);
                let whole = pending.len() / d;
                let end_row = row + whole;
                let start = cursor;
                while cursor < rows.len() && rows[cursor] < end_row {
                    cursor += 1;
                }
                if cursor > start {
                    gathered.clear();
                    for &r in &rows[start..cursor] {
                        gathered.extend_from_slice(&pending[(r - row) * d..(r - row + 1) * d]);
                    }
                    let view = ArrayView2::from_shape((cursor - start, d), &gathered)
                        .expect("gathered rows have d columns");
                    let slices: Vec<&[LabelKey]> =
                        label_columns.iter().map(|l| &l[start..cursor]).collect();
                    acc.update(view, &slices).map_err(|e| Box::new(Stop(e)))?;
                }
                pending.drain(..whole * d);
                row = end_row;
                Ok(())
            };
            let first = src.first_element + lo * d;
            let last = src.first_element + (hi + 1) * d;
            files[src.tensor.file]
                .read_f64(&src.tensor.name, first..last, CHUNK_ROWS * d, &mut sink)
                .map_err(|e| match e {
                    StreamError::Format(f) => AnalysisError::Format(f),
                    StreamError::Sink(s) => match s.downcast::<Stop>() {
                        Ok(stop) => AnalysisError::Estimator(stop.0),
                        Err(other) => AnalysisError::Settings(other.to_string()),
                    },
                })?;
            states.push(LayerState::new(layer, acc, keep_counts));
            on_layer(states.len(), layers.len());
        }
    } else {
        states.extend(
            layers
                .iter()
                .map(|&layer| LayerState::new(layer, prototype.clone(), keep_counts)),
        );
    }

    Ok(Analysis {
        settings: AnalysisSettings {
            estimator: settings.estimator,
            orders,
            layers: Some(layers),
            sequences: settings.sequences.clone(),
            exclude_first: settings.exclude_first,
        },
        input: InputSummary {
            files: names,
            layout: layout.description.clone(),
            layers_in_file: layout.layers.len(),
            d,
            sequences: summary.0,
            tokens: summary.1,
            positions: rows.len(),
            sequences_without_positions: summary.2,
        },
        specs,
        layers: states,
    })
}

/// Analyses the hidden states of `model` on `sequences` of token ids (see [`crate::probe`]) the
/// way [`analyze`] analyses a dump of them: each sequence is run once and every layer's states at
/// the planned positions go straight into that layer's accumulator, so memory holds one
/// sequence's activations. `name` names the checkpoint in the report; `on_sequence(done, total)`
/// is called after each sequence.
pub fn analyze_model(
    model: &dyn crate::model::Transformer,
    name: &str,
    sequences: &[Vec<u32>],
    settings: &AnalysisSettings,
    keep_counts: bool,
    on_sequence: &mut dyn FnMut(usize, usize),
) -> Result<Analysis, AnalysisError> {
    let available: Vec<usize> = (0..model.hidden_states()).collect();
    let layers = settings.chosen_layers(&available, name, "the model has hidden states")?;
    let mut tokens = Vec::new();
    let mut ranges = Vec::with_capacity(sequences.len());
    for s in sequences {
        ranges.push(tokens.len()..tokens.len() + s.len());
        tokens.extend_from_slice(s);
    }
    let chosen = settings.chosen_sequences(&ranges, name, "the text gives")?;
    let plan = labels::plan(&tokens, chosen, &settings.orders, settings.exclude_first)?;
    let spec_names: Vec<&str> = plan.specs.iter().map(|s| s.name.as_str()).collect();
    let prototype = SoftEntropyAccumulator::new(settings.estimator, model.d(), &spec_names)?;
    let mut accs: Vec<SoftEntropyAccumulator> = layers.iter().map(|_| prototype.clone()).collect();
    // slot[layer] = index into `accs`, for the layers analysed.
    let mut slot = vec![None; model.hidden_states()];
    for (i, &l) in layers.iter().enumerate() {
        slot[l] = Some(i);
    }
    let d = model.d();
    let mut cursor = 0usize;
    let mut rows: Vec<f64> = Vec::new();
    for (done, range) in chosen.iter().enumerate() {
        let start = cursor;
        while cursor < plan.positions.len() && plan.positions[cursor] < range.end {
            cursor += 1;
        }
        if cursor > start {
            let at = &plan.positions[start..cursor];
            let labels: Vec<&[LabelKey]> = plan.labels.iter().map(|l| &l[start..cursor]).collect();
            let mut failure = None;
            model
                .forward(&tokens[range.clone()], &mut |layer, states| {
                    let Some(i) = slot[layer] else { return Ok(()) };
                    rows.clear();
                    for &p in at {
                        rows.extend(states.row(p - range.start).iter().map(|&v| f64::from(v)));
                    }
                    let view =
                        ArrayView2::from_shape((at.len(), d), &rows).expect("rows have d columns");
                    accs[i].update(view, &labels).map_err(|e| {
                        failure = Some(e);
                        crate::model::ModelError::new("stopped")
                    })
                })
                .map_err(|e| match failure.take() {
                    Some(est) => AnalysisError::Estimator(est),
                    None => AnalysisError::Model(crate::model::ModelError::new(format!(
                        "{name}, sequence {done}: {e}"
                    ))),
                })?;
        }
        on_sequence(done + 1, chosen.len());
    }
    let states = layers
        .iter()
        .zip(accs)
        .map(|(&layer, acc)| LayerState::new(layer, acc, keep_counts))
        .collect();
    Ok(Analysis {
        settings: AnalysisSettings {
            estimator: settings.estimator,
            orders: plan.orders.clone(),
            layers: Some(layers),
            sequences: settings.sequences.clone(),
            exclude_first: settings.exclude_first,
        },
        input: InputSummary {
            files: vec![name.to_owned()],
            layout: format!(
                "model {name}: {} hidden states of width {d}, run on {} sequences",
                model.hidden_states(),
                chosen.len()
            ),
            layers_in_file: model.hidden_states(),
            d,
            sequences: chosen.len(),
            tokens: chosen.iter().map(|r| r.len()).sum(),
            positions: plan.positions.len(),
            sequences_without_positions: plan.sequences_without_positions,
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
        if self.settings.exclude_first != other.settings.exclude_first {
            return refuse("first-position settings");
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
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            let (Some(mine), Some(theirs)) = (a.accumulator.as_mut(), b.accumulator.as_ref())
            else {
                return Err(AnalysisError::Settings(
                    "cannot merge an analysis whose counts were not kept".into(),
                ));
            };
            mine.merge(theirs)?;
            a.summary = LayerSummary::of(mine);
        }
        let i = &mut self.input;
        i.files.extend(other.input.files.iter().cloned());
        i.sequences += other.input.sequences;
        i.tokens += other.input.tokens;
        i.positions += other.input.positions;
        i.sequences_without_positions += other.input.sequences_without_positions;
        if self.settings.sequences != other.settings.sequences {
            self.settings.sequences = None;
        }
        Ok(())
    }

    /// The temperature ε all layers use (they share d, bins and calibration).
    pub fn temperature(&self) -> Option<f64> {
        self.layers.first().map(|l| l.summary.temperature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_lists() {
        assert_eq!(parse_layers("0,3,5-7").unwrap(), vec![0, 3, 5, 6, 7]);
        assert_eq!(parse_layers("2, 1,2").unwrap(), vec![1, 2]);
        assert!(parse_layers("3-1").is_err());
        assert!(parse_layers("x").is_err());
        assert!(parse_layers("").is_err());
    }
}
