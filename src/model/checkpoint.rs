//! A model folder as its files: `config.json`, the weights (`model.safetensors`, its shards
//! `model-00001-of-00002.safetensors` …, or `pytorch_model.bin` and its shards) and, for text,
//! `tokenizer.json`. The caller opens the files (CLI: the file system; page: dropped `File`s);
//! this picks the ones that matter and builds the model.

use super::{load, ModelConfig, ModelError, Transformer, Weights};
use crate::formats::open;
use crate::formats::tensor::TensorFile;
use std::io::{Read, Seek};

/// Which role a file of a model folder plays, from its name alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Config,
    Tokenizer,
    Safetensors,
    PytorchBin,
    /// A `.txt` given to run the model on (the tokenizer's own `vocab.txt` / `merges.txt` are
    /// not text).
    Text,
    /// Everything else (tokenizer_config.json, README.md, the shard index, optimizer states...).
    Other,
}

/// The role of `name` (a file name, maybe with folders in front).
pub fn role(name: &str) -> Role {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base {
        "config.json" => Role::Config,
        "tokenizer.json" => Role::Tokenizer,
        b if b.ends_with(".safetensors") && b.starts_with("model") => Role::Safetensors,
        b if b.starts_with("pytorch_model") && b.ends_with(".bin") => Role::PytorchBin,
        "vocab.txt" | "merges.txt" => Role::Other,
        b if b.ends_with(".txt") => Role::Text,
        _ => Role::Other,
    }
}

/// Whether a set of file names looks like a model folder (it has a config and weights).
pub fn is_model_folder(names: &[&str]) -> bool {
    names.iter().any(|n| role(n) == Role::Config)
        && names
            .iter()
            .any(|n| matches!(role(n), Role::Safetensors | Role::PytorchBin))
}

/// A loaded model and the config it came from.
pub struct Checkpoint {
    pub config: ModelConfig,
    pub model: Box<dyn Transformer>,
}

/// Builds the model from `config_json` and the weight files (`(name, reader, length)`): the
/// safetensors files if there are any, else the `pytorch_model*.bin` files.
pub fn load_checkpoint<R: Read + Seek + 'static>(
    config_json: &str,
    weight_files: Vec<(String, R, u64)>,
) -> Result<Checkpoint, ModelError> {
    let config = ModelConfig::parse(config_json)?;
    let safetensors = weight_files
        .iter()
        .any(|(n, _, _)| role(n) == Role::Safetensors);
    let wanted = if safetensors {
        Role::Safetensors
    } else {
        Role::PytorchBin
    };
    let mut files: Vec<Box<dyn TensorFile>> = Vec::new();
    for (name, reader, len) in weight_files {
        if role(&name) != wanted {
            continue;
        }
        let opened =
            open::open(&name, reader, len, None).map_err(|e| ModelError::new(e.to_string()))?;
        files.push(opened.file);
    }
    if files.is_empty() {
        return Err(ModelError::new(
            "the model folder has no weights (model*.safetensors or pytorch_model*.bin)",
        ));
    }
    let mut weights = Weights::new(files, config.weight_prefixes())?;
    let model = load(&config, &mut weights)?;
    Ok(Checkpoint { config, model })
}
