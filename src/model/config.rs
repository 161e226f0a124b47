//! `config.json` of a Hugging Face model folder, read into the shape of each supported
//! architecture with HF's defaults for missing fields. Anything infoplane cannot run the way HF
//! does (another `model_type`, rope scaling, an unknown activation) is refused by name.

use serde_json::{Map, Value};

use super::ops::Activation;
use super::ModelError;

/// The `model_type`s infoplane runs.
pub const SUPPORTED: &[&str] = &["gpt2", "gpt_neox", "llama", "olmo2", "bert"];

#[derive(Clone, Debug, PartialEq)]
pub enum ModelConfig {
    Gpt2(Gpt2Config),
    GptNeox(NeoxConfig),
    /// Llama, and OLMo-2 (the same blocks with post-norms and query/key norms).
    Llama(LlamaConfig),
    Bert(BertConfig),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_inner: usize,
    pub layer_norm_epsilon: f64,
    pub activation: Activation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NeoxConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub rotary_pct: f64,
    pub rotary_emb_base: f64,
    pub use_parallel_residual: bool,
    pub layer_norm_eps: f64,
    pub attention_bias: bool,
    pub activation: Activation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub attention_bias: bool,
    pub mlp_bias: bool,
    pub activation: Activation,
    /// OLMo-2: norms after attention and MLP (not before), and RMSNorm on queries and keys.
    pub olmo2: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub activation: Activation,
}

/// Typed access to config fields, with the file named in every message.
struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn bad(&self, key: &str, what: &str) -> ModelError {
        ModelError::new(format!("config.json: '{key}' {what}"))
    }

    fn usize_or(&self, key: &str, default: Option<usize>) -> Result<usize, ModelError> {
        match self.map.get(key) {
            None | Some(Value::Null) => default.ok_or_else(|| self.bad(key, "is missing")),
            Some(v) => v
                .as_u64()
                .filter(|&n| n > 0 && n <= 1 << 24)
                .map(|n| n as usize)
                .ok_or_else(|| {
                    self.bad(
                        key,
                        &format!("must be a positive integer below 2^24, not {v}"),
                    )
                }),
        }
    }

    fn usize(&self, key: &str) -> Result<usize, ModelError> {
        self.usize_or(key, None)
    }

    fn f64_or(&self, key: &str, default: f64) -> Result<f64, ModelError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.bad(key, &format!("must be a number, not {v}"))),
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool, ModelError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(key, &format!("must be true or false, not {v}"))),
        }
    }

    fn activation(&self, key: &str, default: &str) -> Result<Activation, ModelError> {
        let name = match self.map.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => v
                .as_str()
                .ok_or_else(|| self.bad(key, &format!("must be a string, not {v}")))?,
        };
        Activation::parse(name).ok_or_else(|| {
            self.bad(
                key,
                &format!("is '{name}', an activation infoplane does not implement"),
            )
        })
    }

    /// The rotary settings: transformers 5 writes them into `rope_parameters`, 4.x into top-level
    /// `rope_theta` / `rotary_pct` and a `rope_scaling` that is null for plain RoPE. Returns
    /// (base, fraction of each head rotated). Scaled variants (linear, dynamic, yarn, llama3)
    /// change the angles and are refused.
    fn rope(&self, default_theta: f64, default_fraction: f64) -> Result<(f64, f64), ModelError> {
        let params = match self.map.get("rope_parameters") {
            Some(Value::Object(m)) => Some(("rope_parameters", m)),
            None | Some(Value::Null) => match self.map.get("rope_scaling") {
                Some(Value::Object(m)) => Some(("rope_scaling", m)),
                None | Some(Value::Null) => None,
                Some(v) => {
                    return Err(self.bad("rope_scaling", &format!("must be an object, not {v}")))
                }
            },
            Some(v) => {
                return Err(self.bad("rope_parameters", &format!("must be an object, not {v}")))
            }
        };
        let inner = params.map(|(_, m)| Fields { map: m });
        if let Some((key, m)) = params {
            let kind = m
                .get("rope_type")
                .or_else(|| m.get("type"))
                .and_then(Value::as_str);
            if kind.is_some_and(|k| k != "default") {
                return Err(self.bad(
                    key,
                    &format!(
                        "asks for '{}' rotary scaling; infoplane runs plain RoPE only",
                        kind.unwrap_or("")
                    ),
                ));
            }
        }
        let theta = match &inner {
            Some(f) if f.map.contains_key("rope_theta") => f.f64_or("rope_theta", default_theta)?,
            _ => self.f64_or("rope_theta", self.f64_or("rotary_emb_base", default_theta)?)?,
        };
        let fraction = match &inner {
            Some(f) if f.map.contains_key("partial_rotary_factor") => {
                f.f64_or("partial_rotary_factor", 1.0)?
            }
            _ => self.f64_or(
                "rotary_pct",
                self.f64_or("partial_rotary_factor", default_fraction)?,
            )?,
        };
        if !(0.0..=1.0).contains(&fraction) || theta <= 0.0 {
            return Err(ModelError::new(format!(
                "config.json: rotary settings out of range (base {theta}, fraction rotated {fraction})"
            )));
        }
        Ok((theta, fraction))
    }

    fn divides(
        &self,
        whole: usize,
        whole_key: &str,
        part: usize,
        part_key: &str,
    ) -> Result<(), ModelError> {
        if !whole.is_multiple_of(part) {
            return Err(ModelError::new(format!(
                "config.json: '{whole_key}' ({whole}) is not a multiple of '{part_key}' ({part})"
            )));
        }
        Ok(())
    }
}

impl ModelConfig {
    /// Parses `config.json`.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ModelError::new(format!("config.json is not valid JSON ({e})")))?;
        let map = value
            .as_object()
            .ok_or_else(|| ModelError::new("config.json is not a JSON object"))?;
        let f = Fields { map };
        let model_type = map
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| f.bad("model_type", "is missing"))?;
        match model_type {
            "gpt2" => {
                if f.bool_or("scale_attn_by_inverse_layer_idx", false)?
                    || !f.bool_or("scale_attn_weights", true)?
                {
                    return Err(f.bad(
                        "scale_attn_weights",
                        "or scale_attn_by_inverse_layer_idx asks for an attention scaling infoplane does not implement",
                    ));
                }
                let n_embd = f.usize_or("n_embd", Some(768))?;
                let n_head = f.usize_or("n_head", Some(12))?;
                f.divides(n_embd, "n_embd", n_head, "n_head")?;
                Ok(ModelConfig::Gpt2(Gpt2Config {
                    vocab_size: f.usize_or("vocab_size", Some(50257))?,
                    n_positions: f.usize_or("n_positions", Some(1024))?,
                    n_embd,
                    n_layer: f.usize_or("n_layer", Some(12))?,
                    n_head,
                    n_inner: f.usize_or("n_inner", Some(4 * n_embd))?,
                    layer_norm_epsilon: f.f64_or("layer_norm_epsilon", 1e-5)?,
                    activation: f.activation("activation_function", "gelu_new")?,
                }))
            }
            "gpt_neox" => {
                let (base, rotary_pct) = f.rope(10000.0, 0.25)?;
                let hidden_size = f.usize("hidden_size")?;
                let heads = f.usize("num_attention_heads")?;
                f.divides(hidden_size, "hidden_size", heads, "num_attention_heads")?;
                Ok(ModelConfig::GptNeox(NeoxConfig {
                    vocab_size: f.usize("vocab_size")?,
                    hidden_size,
                    num_hidden_layers: f.usize("num_hidden_layers")?,
                    num_attention_heads: heads,
                    intermediate_size: f.usize("intermediate_size")?,
                    max_position_embeddings: f.usize_or("max_position_embeddings", Some(2048))?,
                    rotary_pct,
                    rotary_emb_base: base,
                    use_parallel_residual: f.bool_or("use_parallel_residual", true)?,
                    layer_norm_eps: f.f64_or("layer_norm_eps", 1e-5)?,
                    attention_bias: f.bool_or("attention_bias", true)?,
                    activation: f.activation("hidden_act", "gelu")?,
                }))
            }
            "llama" | "olmo2" => {
                let (rope_theta, fraction) = f.rope(10000.0, 1.0)?;
                if fraction != 1.0 {
                    return Err(f.bad("partial_rotary_factor", "must be 1 for Llama-style models"));
                }
                let hidden_size = f.usize("hidden_size")?;
                let heads = f.usize("num_attention_heads")?;
                let kv = f.usize_or("num_key_value_heads", Some(heads))?;
                f.divides(heads, "num_attention_heads", kv, "num_key_value_heads")?;
                let head_dim = match map.get("head_dim") {
                    None | Some(Value::Null) => {
                        f.divides(hidden_size, "hidden_size", heads, "num_attention_heads")?;
                        hidden_size / heads
                    }
                    _ => f.usize("head_dim")?,
                };
                if head_dim % 2 != 0 {
                    return Err(f.bad("head_dim", "must be even for rotary embeddings"));
                }
                let olmo2 = model_type == "olmo2";
                Ok(ModelConfig::Llama(LlamaConfig {
                    vocab_size: f.usize("vocab_size")?,
                    hidden_size,
                    intermediate_size: f.usize("intermediate_size")?,
                    num_hidden_layers: f.usize("num_hidden_layers")?,
                    num_attention_heads: heads,
                    num_key_value_heads: kv,
                    head_dim,
                    max_position_embeddings: f.usize_or("max_position_embeddings", Some(2048))?,
                    rms_norm_eps: f.f64_or("rms_norm_eps", if olmo2 { 1e-5 } else { 1e-6 })?,
                    rope_theta,
                    attention_bias: f.bool_or("attention_bias", false)?,
                    mlp_bias: f.bool_or("mlp_bias", false)?,
                    activation: f.activation("hidden_act", "silu")?,
                    olmo2,
                }))
            }
            "bert" => {
                let pe = map.get("position_embedding_type").and_then(Value::as_str);
                if pe.is_some_and(|p| p != "absolute") {
                    return Err(f.bad(
                        "position_embedding_type",
                        "is not 'absolute', the only kind infoplane runs",
                    ));
                }
                let hidden_size = f.usize_or("hidden_size", Some(768))?;
                let heads = f.usize_or("num_attention_heads", Some(12))?;
                f.divides(hidden_size, "hidden_size", heads, "num_attention_heads")?;
                Ok(ModelConfig::Bert(BertConfig {
                    vocab_size: f.usize_or("vocab_size", Some(30522))?,
                    hidden_size,
                    num_hidden_layers: f.usize_or("num_hidden_layers", Some(12))?,
                    num_attention_heads: heads,
                    intermediate_size: f.usize_or("intermediate_size", Some(3072))?,
                    max_position_embeddings: f.usize_or("max_position_embeddings", Some(512))?,
                    type_vocab_size: f.usize_or("type_vocab_size", Some(2))?,
                    layer_norm_eps: f.f64_or("layer_norm_eps", 1e-12)?,
                    activation: f.activation("hidden_act", "gelu")?,
                }))
            }
            other => Err(ModelError::new(format!(
                "config.json: model_type '{other}' is not supported (infoplane runs {})",
                SUPPORTED.join(", ")
            ))),
        }
    }

    /// The `model_type` this config came from.
    pub fn model_type(&self) -> &'static str {
        match self {
            ModelConfig::Gpt2(_) => "gpt2",
            ModelConfig::GptNeox(_) => "gpt_neox",
            ModelConfig::Llama(c) if c.olmo2 => "olmo2",
            ModelConfig::Llama(_) => "llama",
            ModelConfig::Bert(_) => "bert",
        }
    }

    /// Prefixes the task models put in front of the base model's tensor names.
    pub fn weight_prefixes(&self) -> &'static [&'static str] {
        match self {
            ModelConfig::Gpt2(_) => &["transformer."],
            ModelConfig::GptNeox(_) => &["gpt_neox."],
            ModelConfig::Llama(_) => &["model."],
            ModelConfig::Bert(_) => &["bert.", "model."],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_model_types_are_named_with_the_supported_ones() {
        let e = ModelConfig::parse(r#"{"model_type": "mamba"}"#).unwrap_err();
        assert!(
            e.message.contains("'mamba'") && e.message.contains("gpt2, gpt_neox, llama"),
            "{e}"
        );
    }

    #[test]
    fn hf_defaults_fill_missing_fields() {
        let ModelConfig::Gpt2(c) =
            ModelConfig::parse(r#"{"model_type": "gpt2", "n_embd": 64, "n_head": 4}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (c.n_inner, c.n_layer, c.activation),
            (256, 12, Activation::GeluTanh)
        );
        let ModelConfig::Llama(c) = ModelConfig::parse(
            r#"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
                "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 100}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((c.head_dim, c.num_key_value_heads, c.olmo2), (16, 2, false));
    }

    #[test]
    fn inconsistent_or_unsupported_settings_are_refused() {
        for (json, needle) in [
            (
                r#"{"model_type": "gpt2", "n_embd": 65, "n_head": 4}"#,
                "multiple",
            ),
            (
                r#"{"model_type": "gpt2", "activation_function": "mish"}"#,
                "mish",
            ),
            (
                r#"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 1,
                 "num_hidden_layers": 1, "vocab_size": 9, "rope_scaling": {"type": "linear"}}"#,
                "rope_scaling",
            ),
            (
                r#"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "intermediate_size": 1,
                 "num_hidden_layers": 1, "vocab_size": 9, "rope_parameters": {"rope_type": "llama3"}}"#,
                "llama3",
            ),
            (
                r#"{"model_type": "bert", "position_embedding_type": "relative_key"}"#,
                "absolute",
            ),
            (r#"{"model_type": "gpt2", "n_layer": -1}"#, "n_layer"),
            ("[1]", "object"),
        ] {
            let e = ModelConfig::parse(json).unwrap_err();
            assert!(e.message.contains(needle), "{json}: {e}");
        }
    }
}
