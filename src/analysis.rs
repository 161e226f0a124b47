//! Orchestration: settings plus a dump in, one accumulator per layer out. The page, the CLI and the
//! tests all go through here, so the same file and settings give the same numbers everywhere.
//! An [`Analysis`] is also the mergeable state that shards computed apart combine into.

use std::io::{Read, Seek};
use std::ops::Range;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::estimator::{EstimatorConfig, EstimatorError, LabelKey, SoftEntropyAccumulator};
use crate::formats::npz::NpzDump;
use crate::formats::FormatError;
use crate::labels::{self, LabelError, LabelSetSpec};

/// What to compute. `layers: None` means every layer; `sequences: None` means every sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    pub estimator: EstimatorConfig,
    pub orders: Vec<usize>,
    pub layers: Option<Vec<usize>>,
    pub sequences: Option<Range<usize>>,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            estimator: EstimatorConfig::default(),
            orders: vec![1, 2, 3],
            layers: None,
            sequences: None,
        }
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
}

/// Counts describing what entered an analysis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    /// Input files (several after a merge).
    pub files: Vec<String>,
    /// Hidden-state tensors in the file (index 0 = embedding output).
    pub layers_in_file: usize,
    pub d: usize,
    pub sequences: usize,
    pub tokens: usize,
    /// Positions analysed per layer (before skipping bad rows).
    pub positions: usize,
    /// Sequences shorter than 2n tokens, which give no position.
    pub sequences_without_positions: usize,
}

/// One layer's accumulator.
#[derive(Clone, Debug)]
pub struct LayerState {
    pub layer: usize,
    pub accumulator: SoftEntropyAccumulator,
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

/// Analyses a canonical `.npz` dump (see `formats::npz`).
pub fn analyze_npz<R: Read + Seek>(
    file: &str,
    reader: R,
    settings: &AnalysisSettings,
) -> Result<Analysis, AnalysisError> {
    let mut dump = NpzDump::open(file, reader)?;
    let layout = dump.layout.clone();

    let layers = match &settings.layers {
        None => (0..layout.layers).collect::<Vec<_>>(),
        Some(l) => {
            if let Some(bad) = l.iter().find(|&&i| i >= layout.layers) {
                return Err(AnalysisError::Settings(format!(
                    "{file}: layer {bad} requested, but the dump has layers 0 to {}",
                    layout.layers - 1
                )));
            }
            l.clone()
        }
    };
    let sequences: &[Range<usize>] = match &settings.sequences {
        None => &layout.sequences,
        Some(r) => layout.sequences.get(r.clone()).ok_or_else(|| {
            AnalysisError::Settings(format!(
                "{file}: sequences {}..{} requested, but the dump has {}",
                r.start,
                r.end,
                layout.sequences.len()
            ))
        })?,
    };
    let plan = labels::plan(&layout.tokens, sequences, &settings.orders)?;
    let names: Vec<&str> = plan.specs.iter().map(|s| s.name.as_str()).collect();
    let prototype = SoftEntropyAccumulator::new(settings.estimator, layout.d, &names)?;
    let mut states: Vec<LayerState> = layers
        .iter()
        .map(|&layer| LayerState {
            layer,
            accumulator: prototype.clone(),
        })
        .collect();
    let mut wanted = vec![false; layout.layers];
    for &l in &layers {
        wanted[l] = true;
    }
    // Rows of the analysed positions, ascending because sequences are stored in order.
    let rows: Vec<usize> = plan
        .positions
        .iter()
        .map(|&p| layout.token_rows[p])
        .collect();
    let d = layout.d;
    let mut cursor = 0usize;
    let mut current_layer = usize::MAX;
    let mut gathered: Vec<f64> = Vec::new();
    dump.stream_layers::<AnalysisError>(&wanted, CHUNK_ROWS, |layer, first, chunk| {
        if layer != current_layer {
            current_layer = layer;
            cursor = 0;
        }
        let end_row = first + chunk.len() / d;
        let start = cursor;
        while cursor < rows.len() && rows[cursor] < end_row {
            cursor += 1;
        }
        if start == cursor {
            return Ok(());
        }
        gathered.clear();
        for &r in &rows[start..cursor] {
            gathered.extend_from_slice(&chunk[(r - first) * d..(r - first + 1) * d]);
        }
        let view = ArrayView2::from_shape((cursor - start, d), &gathered)
            .expect("gathered rows have d columns");
        let slices: Vec<&[LabelKey]> = plan.labels.iter().map(|l| &l[start..cursor]).collect();
        let state = states
            .iter_mut()
            .find(|s| s.layer == layer)
            .expect("only wanted layers are streamed");
        state.accumulator.update(view, &slices)?;
        Ok(())
    })?;

    Ok(Analysis {
        settings: AnalysisSettings {
            estimator: settings.estimator,
            orders: plan.orders.clone(),
            layers: Some(layers),
            sequences: settings.sequences.clone(),
        },
        input: InputSummary {
            files: vec![file.to_owned()],
            layers_in_file: layout.layers,
            d,
            sequences: sequences.len(),
            tokens: sequences.iter().map(|s| s.len()).sum(),
            positions: plan.positions.len(),
            sequences_without_positions: plan.sequences_without_positions,
        },
        specs: plan.specs,
        layers: states,
    })
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
        if self.settings.orders != other.settings.orders || self.specs != other.specs {
            return refuse("n-gram orders");
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
            a.accumulator.merge(&b.accumulator)?;
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
        self.layers.first().map(|l| l.accumulator.temperature())
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
