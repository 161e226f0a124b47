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

/// `text` with control characters (newlines, tabs, escapes) written as escapes, so a message that
/// quotes a file's own text (a tensor name, a dtype, a field) stays on one line and cannot move
/// the terminal's cursor. Every message the shells show goes through this.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn messages_stay_on_one_line() {
        assert_eq!(super::one_line("tensor 'a': fine"), "tensor 'a': fine");
        assert_eq!(
            super::one_line("tensor 'x\ny': dtype 'F\t32\u{1b}[2J'"),
            "tensor 'x\\ny': dtype 'F\\t32\\u{1b}[2J'"
        );
    }
}
