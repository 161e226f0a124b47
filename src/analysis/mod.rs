//! Orchestration: settings plus a dump in, one accumulator per layer out. The page, the CLI and the
//! tests all go through here, so the same file and settings give the same numbers everywhere.
//! An [`Analysis`] is also the mergeable state that shards computed apart combine into.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::estimator::{EstimatorConfig, EstimatorError, SoftEntropyAccumulator};
use crate::formats::FormatError;
use crate::labels::{BackoffCounts, LabelError, LabelOptions, LabelSetSpec};

mod model;
mod rows;
mod run;
pub use model::{analyze_model, ModelAnalysis};
use rows::{label_ids, update_all, RowMean};
pub use run::{analyze, chosen_layer_count, LayerRun, RowChunk};

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
