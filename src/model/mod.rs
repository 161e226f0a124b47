//! Small transformers run on token ids, giving every hidden state exactly as Hugging Face's
//! `output_hidden_states=True` returns them (the embedding output, then each block's output, the
//! final norm applied to the last one where HF applies it), one sequence at a time.
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
    /// Runs one sequence and hands every hidden state to `sink`, in order.
    fn forward(&self, ids: &[u32], sink: &mut HiddenSink<'_>) -> Result<(), ModelError>;
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

/// Checks token ids against the vocabulary and the length against the position table.
pub(crate) fn check_ids(
    ids: &[u32],
    vocab: usize,
    max_positions: Option<usize>,
) -> Result<(), ModelError> {
    if ids.is_empty() {
        return Err(ModelError::new("an empty sequence has no hidden states"));
    }
    if let Some(&bad) = ids.iter().find(|&&t| t as usize >= vocab) {
        return Err(ModelError::new(format!(
            "token id {bad} is outside the vocabulary of {vocab}"
        )));
    }
    if let Some(max) = max_positions {
        if ids.len() > max {
            return Err(ModelError::new(format!(
                "a sequence of {} tokens is longer than the model's {max} positions",
                ids.len()
            )));
        }
    }
    Ok(())
}

/// The rows of an embedding table for `ids` (checked against the vocabulary first).
pub(crate) fn embed(table: &ndarray::Array2<f32>, ids: &[u32]) -> ndarray::Array2<f32> {
    table.select(
        ndarray::Axis(0),
        &ids.iter().map(|&t| t as usize).collect::<Vec<_>>(),
    )
}
