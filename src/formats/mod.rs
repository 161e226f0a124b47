//! Readers for activation dumps. Each takes a reader (never a path) and offers its tensors through
//! [`tensor::TensorFile`]; [`layout`] finds the hidden states, ids and labels among them. Rows are
//! streamed in chunks, so no stage needs the whole file in memory. Every error names the file, the
//! tensor and what is wrong, in one line.

pub mod layout;
pub mod npy;
pub mod npz;
pub mod npz_write;
pub mod open;
pub mod pickle;
pub mod raw;
pub mod safetensors;
pub mod tensor;
pub mod torch;
pub mod tsv;

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
