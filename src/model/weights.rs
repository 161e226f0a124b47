//! A checkpoint's tensors by name, across the files of a model folder (`model.safetensors`, its
//! shards, or `pytorch_model.bin`), read as f32 with their shapes checked against the config.
//! Names may carry the prefix of the task model that saved them (`transformer.`, `model.`,
//! `bert.`, `gpt_neox.`); lookups try the bare name under each known prefix.

use std::collections::HashMap;

use ndarray::{Array1, Array2};

use super::ops::{LayerNorm, Linear, RmsNorm};
use super::ModelError;
use crate::formats::tensor::{Floats, TensorFile};

/// Elements decoded per chunk while reading a weight.
const CHUNK: usize = 1 << 16;

/// The tensors of a checkpoint, found by name in any of its files.
pub struct Weights {
    files: Vec<Box<dyn TensorFile>>,
    /// Tensor name → index into `files`.
    index: HashMap<String, usize>,
    /// Prefixes tried in front of every name, in order ("" first).
    prefixes: Vec<String>,
}

impl Weights {
    /// Indexes the tensors of `files`. A name in two files is refused: shards never overlap.
    pub fn new(files: Vec<Box<dyn TensorFile>>, prefixes: &[&str]) -> Result<Self, ModelError> {
        let mut index = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            for t in f.tensors() {
                if let Some(j) = index.insert(t.name.clone(), i) {
                    return Err(ModelError::new(format!(
                        "tensor '{}' is in both {} and {}",
                        t.name,
                        files[j].file_name(),
                        f.file_name()
                    )));
                }
            }
        }
        let mut p = vec![String::new()];
        p.extend(prefixes.iter().map(|s| s.to_string()));
        Ok(Self {
            files,
            index,
            prefixes: p,
        })
    }

    /// The full name under which `name` is stored, if it is.
    fn resolve(&self, name: &str) -> Option<String> {
        self.prefixes
            .iter()
            .map(|p| format!("{p}{name}"))
            .find(|full| self.index.contains_key(full))
    }

    /// Whether the checkpoint holds `name` (under any known prefix).
    pub fn has(&self, name: &str) -> bool {
        self.resolve(name).is_some()
    }

    /// Reads `name` as f32 after checking its shape is `shape`.
    pub fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let full = self.resolve(name).ok_or_else(|| {
            ModelError::new(format!(
                "the checkpoint has no tensor '{name}' (looked for it under the prefixes {:?})",
                self.prefixes
            ))
        })?;
        let file = &mut self.files[self.index[&full]];
        let info = file.tensor(&full).expect("indexed names exist");
        if info.shape != shape {
            return Err(ModelError::new(format!(
                "{}: tensor '{full}' has shape {:?}, the config implies {:?}",
                file.file_name(),
                info.shape,
                shape
            )));
        }
        if !info.dtype.is_float() {
            return Err(ModelError::new(format!(
                "{}: tensor '{full}' is {}, not a float",
                file.file_name(),
                info.dtype.name()
            )));
        }
        let len = info.len();
        let mut out = Vec::with_capacity(len);
        file.read_floats(&full, 0..len, CHUNK, &mut |chunk| {
            match chunk {
                Floats::F32(v) => out.extend_from_slice(v),
                Floats::F64(v) => out.extend(v.iter().map(|&x| x as f32)),
            }
            Ok(())
        })
        .map_err(|e| ModelError::new(e.to_string()))?;
        if out.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::new(format!(
                "{}: tensor '{full}' holds NaN or infinite values",
                file.file_name()
            )));
        }
        Ok(out)
    }

    pub fn matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Array2<f32>, ModelError> {
        let v = self.tensor(name, &[rows, cols])?;
        Ok(Array2::from_shape_vec((rows, cols), v).expect("shape was checked"))
    }

    pub fn vector(&mut self, name: &str, len: usize) -> Result<Array1<f32>, ModelError> {
        Ok(Array1::from(self.tensor(name, &[len])?))
    }

    /// An `nn.Linear` `prefix.weight` `[out, in]`, with `prefix.bias` if `bias`.
    pub fn linear(
        &mut self,
        prefix: &str,
        out: usize,
        inp: usize,
        bias: bool,
    ) -> Result<Linear, ModelError> {
        Ok(Linear {
            weight: self.matrix(&format!("{prefix}.weight"), out, inp)?,
            bias: if bias {
                Some(self.vector(&format!("{prefix}.bias"), out)?)
            } else {
                None
            },
        })
    }

    /// A GPT-2 `Conv1D` (`[in, out]` weight), turned into the equivalent `Linear`.
    pub fn conv1d(&mut self, prefix: &str, inp: usize, out: usize) -> Result<Linear, ModelError> {
        let w = self.matrix(&format!("{prefix}.weight"), inp, out)?;
        Ok(Linear {
            weight: w.t().as_standard_layout().into_owned(),
            bias: Some(self.vector(&format!("{prefix}.bias"), out)?),
        })
    }

    /// A `LayerNorm` under `prefix` (`weight`/`bias`, or the `gamma`/`beta` of old BERT files).
    pub fn layer_norm(
        &mut self,
        prefix: &str,
        d: usize,
        eps: f64,
    ) -> Result<LayerNorm, ModelError> {
        let (w, b) =
            if !self.has(&format!("{prefix}.weight")) && self.has(&format!("{prefix}.gamma")) {
                ("gamma", "beta")
            } else {
                ("weight", "bias")
            };
        Ok(LayerNorm {
            weight: self.vector(&format!("{prefix}.{w}"), d)?,
            bias: self.vector(&format!("{prefix}.{b}"), d)?,
            eps: eps as f32,
        })
    }

    pub fn rms_norm(&mut self, prefix: &str, d: usize, eps: f64) -> Result<RmsNorm, ModelError> {
        Ok(RmsNorm {
            weight: self.vector(&format!("{prefix}.weight"), d)?,
            eps: eps as f32,
        })
    }
}
