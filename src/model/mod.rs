//! Small transformers run on token ids, giving every hidden state exactly as Hugging Face's
//! `output_hidden_states=True` returns them (the embedding output, then each block's output, the
//! final norm applied to the last one where HF applies it), for one sequence or a batch of them
//! (the same bits either way).
//! `config.rs` reads `config.json`, `weights.rs` the checkpoint, `ops.rs` holds the shared
//! operations, and each architecture has its own file.

pub mod bert;
pub mod checkpoint;
pub mod config;
pub mod gpt2;
pub mod llama;
pub mod neox;
pub mod ops;
pub mod tokenizer;
pub mod weights;

use std::ops::Range;

use ndarray::ArrayView2;

pub use config::ModelConfig;
pub use weights::Weights;

/// Why a model could not be loaded or run. Messages are one line.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ModelError {
    pub message: String,
}

impl ModelError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Receives hidden state `layer` (0 = embedding output) of one sequence, `[positions, d]`.
pub type HiddenSink<'a> = dyn FnMut(usize, ArrayView2<f32>) -> Result<(), ModelError> + 'a;

/// A loaded model.
pub trait Transformer: Sync {
    /// Width of the hidden states.
    fn d(&self) -> usize;
    /// Number of hidden states per position: blocks + 1.
    fn hidden_states(&self) -> usize;
    /// Longest sequence the model accepts (its position table), if it has one.
    fn max_positions(&self) -> Option<usize>;
    /// Runs several sequences at once and hands every hidden state of all of them to `sink`, in
    /// order of layers: `ids` holds the sequences one after another, `sequences` where each one
    /// is (in order, covering `ids`), and the states' rows are laid out the same way. Each row is
    /// computed exactly as it would be in its sequence alone (attention and positions stay within
    /// a sequence; every other operation works row by row in a fixed order), so a batch changes
    /// no bit, only how often the weights are read: once per batch, not once per sequence.
    fn forward_batch(
        &self,
        ids: &[u32],
        sequences: &[Range<usize>],
        sink: &mut HiddenSink<'_>,
    ) -> Result<(), ModelError>;
    /// Runs one sequence and hands every hidden state to `sink`, in order.
    fn forward(&self, ids: &[u32], sink: &mut HiddenSink<'_>) -> Result<(), ModelError> {
        let all = 0..ids.len();
        self.forward_batch(ids, std::slice::from_ref(&all), sink)
    }
}

/// Builds the model `config` describes from `weights`.
pub fn load(
    config: &ModelConfig,
    weights: &mut Weights,
) -> Result<Box<dyn Transformer>, ModelError> {
    Ok(match config {
        ModelConfig::Gpt2(c) => Box::new(gpt2::Gpt2::load(c, weights)?),
        ModelConfig::GptNeox(c) => Box::new(neox::GptNeox::load(c, weights)?),
        ModelConfig::Llama(c) => Box::new(llama::Llama::load(c, weights)?),
        ModelConfig::Bert(c) => Box::new(bert::Bert::load(c, weights)?),
    })
}

/// Checks a batch: token ids against the vocabulary, `sequences` against `ids` (consecutive,
/// covering it), and each sequence's length against the position table.
pub(crate) fn check_ids(
    ids: &[u32],
    sequences: &[Range<usize>],
    vocab: usize,
    max_positions: Option<usize>,
) -> Result<(), ModelError> {
    let mut at = 0;
    for s in sequences {
        if s.start != at || s.end > ids.len() {
            return Err(ModelError::new(format!(
                "a batch's sequences must follow one another over its {} ids",
                ids.len()
            )));
        }
        if s.is_empty() {
            return Err(ModelError::new("an empty sequence has no hidden states"));
        }
        if let Some(max) = max_positions {
            if s.len() > max {
                return Err(ModelError::new(format!(
                    "a sequence of {} tokens is longer than the model's {max} positions",
                    s.len()
                )));
            }
        }
        at = s.end;
    }
    if at != ids.len() || ids.is_empty() {
        return Err(ModelError::new(format!(
            "a batch's sequences must follow one another over its {} ids",
            ids.len()
        )));
    }
    if let Some(&bad) = ids.iter().find(|&&t| t as usize >= vocab) {
        return Err(ModelError::new(format!(
            "token id {bad} is outside the vocabulary of {vocab}"
        )));
    }
    Ok(())
}

/// Tokens run through a model at once natively, as a batch of consecutive sequences: the weights
/// are then read from memory once per batch rather than once per sequence. On the 200 probe
/// sequences of all-MiniLM-L6-v2 (16 tokens on average) `hidden-states` on 2 threads took 1.46 s
/// instead of 1.95 s (BENCHMARKS.md, "Issue 8, fourth pass"); batches of 32, 128, 192 and 256
/// tokens were no faster than 64 within the machine's noise.
pub const BATCH_TOKENS: usize = 64;

/// After a batch of `sequences` (ranges of `ids`) failed: the first of them that fails when run on
/// its own, with its error, so a message can name it; None when each runs alone.
pub fn failing_sequence(
    model: &dyn Transformer,
    ids: &[u32],
    sequences: &[Range<usize>],
) -> Option<(usize, ModelError)> {
    sequences.iter().enumerate().find_map(|(i, r)| {
        let e = model.forward(&ids[r.clone()], &mut |_, _| Ok(())).err()?;
        Some((i, e))
    })
}

/// Consecutive items of `lengths` (tokens each) in batches of at most [`BATCH_TOKENS`] tokens; an
/// item longer than that is a batch of its own.
pub fn batches(lengths: impl IntoIterator<Item = usize>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut tokens = 0;
    for (k, n) in lengths.into_iter().enumerate() {
        match out.last_mut() {
            Some(last) if tokens + n <= BATCH_TOKENS => {
                last.end = k + 1;
                tokens += n;
            }
            _ => {
                out.push(k..k + 1);
                tokens = n;
            }
        }
    }
    out
}

/// Each row's position within its own sequence.
pub(crate) fn positions(sequences: &[Range<usize>]) -> Vec<usize> {
    sequences.iter().flat_map(|s| 0..s.len()).collect()
}

/// The rows of an embedding table for `ids` (checked against the vocabulary first).
pub(crate) fn embed(table: &ndarray::Array2<f32>, ids: &[u32]) -> ndarray::Array2<f32> {
    table.select(
        ndarray::Axis(0),
        &ids.iter().map(|&t| t as usize).collect::<Vec<_>>(),
    )
}
