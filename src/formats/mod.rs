//! Readers for activation dumps. Each takes bytes or a reader (never a path) and yields a
//! [`DumpLayout`] plus a stream of rows per layer, so no stage needs the whole file in memory.
//! Every error names the file, the tensor and what is wrong, in one line.

pub mod npy;
pub mod npz;

use std::ops::Range;

/// A problem with an input file: `file: tensor 'name': what`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {}{message}", tensor.as_ref().map(|t| format!("tensor '{t}': ")).unwrap_or_default())]
pub struct FormatError {
    pub file: String,
    pub tensor: Option<String>,
    pub message: String,
}

impl FormatError {
    pub fn new(file: &str, tensor: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            tensor: tensor.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// What a dump holds, known before any hidden state is read.
#[derive(Clone, Debug, PartialEq)]
pub struct DumpLayout {
    /// Number of hidden-state tensors; index 0 is the embedding output.
    pub layers: usize,
    /// Row width d.
    pub d: usize,
    /// Rows stored per layer (T for flat dumps, S·L for padded ones).
    pub rows_per_layer: usize,
    /// The real tokens, sequence after sequence.
    pub tokens: Vec<u32>,
    /// Each sequence as a range into `tokens`.
    pub sequences: Vec<Range<usize>>,
    /// `token_rows[t]`: the row (within a layer) holding token `t`'s representation.
    pub token_rows: Vec<usize>,
    /// The stored element type, e.g. `float32`.
    pub dtype: String,
}
