//! Llama (SmolLM, TinyLlama) and OLMo-2: RMSNorm, rotary embeddings, grouped-query attention,
//! a gated MLP, and the final norm applied to the last hidden state as HF does. OLMo-2 moves the
//! norms after attention and MLP and normalises queries and keys.

use std::ops::Range;

use ndarray::Array2;

use super::config::LlamaConfig;
use super::ops::{attention, Heads, Linear, RmsNorm, Rotary};
use super::{check_ids, embed, positions, HiddenSink, ModelError, Transformer, Weights};

struct Block {
    /// Llama: before attention (`input_layernorm`); OLMo-2: after it (`post_attention_layernorm`).
    attn_norm: RmsNorm,
    /// Llama: before the MLP (`post_attention_layernorm`); OLMo-2: after it
    /// (`post_feedforward_layernorm`).
    mlp_norm: RmsNorm,
    /// OLMo-2's RMSNorm over all query / key features.
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

pub struct Llama {
    config: LlamaConfig,
    embed_tokens: Array2<f32>,
    blocks: Vec<Block>,
    norm: RmsNorm,
    rotary: Rotary,
}

impl Llama {
    pub fn load(c: &LlamaConfig, w: &mut Weights) -> Result<Self, ModelError> {
        let (d, eps) = (c.hidden_size, c.rms_norm_eps);
        let q_dim = c.num_attention_heads * c.head_dim;
        let kv_dim = c.num_key_value_heads * c.head_dim;
        let blocks = (0..c.num_hidden_layers)
            .map(|i| {
                let p = format!("layers.{i}");
                let (attn_norm, mlp_norm) = if c.olmo2 {
                    ("post_attention_layernorm", "post_feedforward_layernorm")
                } else {
                    ("input_layernorm", "post_attention_layernorm")
                };
                let (ab, mb) = (c.attention_bias, c.mlp_bias);
                Ok(Block {
                    attn_norm: w.rms_norm(&format!("{p}.{attn_norm}"), d, eps)?,
                    mlp_norm: w.rms_norm(&format!("{p}.{mlp_norm}"), d, eps)?,
                    q_norm: c
                        .olmo2
                        .then(|| w.rms_norm(&format!("{p}.self_attn.q_norm"), q_dim, eps))
                        .transpose()?,
                    k_norm: c
                        .olmo2
                        .then(|| w.rms_norm(&format!("{p}.self_attn.k_norm"), kv_dim, eps))
                        .transpose()?,
                    q_proj: w.linear(&format!("{p}.self_attn.q_proj"), q_dim, d, ab)?,
                    k_proj: w.linear(&format!("{p}.self_attn.k_proj"), kv_dim, d, ab)?,
                    v_proj: w.linear(&format!("{p}.self_attn.v_proj"), kv_dim, d, ab)?,
                    o_proj: w.linear(&format!("{p}.self_attn.o_proj"), d, q_dim, ab)?,
                    gate_proj: w.linear(
                        &format!("{p}.mlp.gate_proj"),
                        c.intermediate_size,
                        d,
                        mb,
                    )?,
                    up_proj: w.linear(&format!("{p}.mlp.up_proj"), c.intermediate_size, d, mb)?,
                    down_proj: w.linear(
                        &format!("{p}.mlp.down_proj"),
                        d,
                        c.intermediate_size,
                        mb,
                    )?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Self {
            config: c.clone(),
            embed_tokens: w.matrix("embed_tokens.weight", c.vocab_size, d)?,
            blocks,
            norm: w.rms_norm("norm", d, eps)?,
            rotary: Rotary {
                head_dim: c.head_dim,
                rotary_dim: c.head_dim,
                base: c.rope_theta,
            },
        })
    }

    fn attend(
        &self,
        b: &Block,
        x: &Array2<f32>,
        sequences: &[Range<usize>],
        at: &[usize],
    ) -> Array2<f32> {
        let c = &self.config;
        let mut q = b.q_proj.forward(x.view());
        let mut k = b.k_proj.forward(x.view());
        if let (Some(qn), Some(kn)) = (&b.q_norm, &b.k_norm) {
            q = qn.forward(q.view());
            k = kn.forward(k.view());
        }
        self.rotary.apply(&mut q, at);
        self.rotary.apply(&mut k, at);
        let v = b.v_proj.forward(x.view());
        let shape = Heads {
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads,
            head_dim: c.head_dim,
            causal: true,
        };
        let a = attention(q.view(), k.view(), v.view(), sequences, shape);
        b.o_proj.forward(a.view())
    }

    fn mlp(&self, b: &Block, x: &Array2<f32>) -> Array2<f32> {
        let mut gate = b.gate_proj.forward(x.view());
        self.config.activation.apply(&mut gate);
        gate *= &b.up_proj.forward(x.view());
        b.down_proj.forward(gate.view())
    }
}

impl Transformer for Llama {
    fn d(&self) -> usize {
        self.config.hidden_size
    }

    fn hidden_states(&self) -> usize {
        self.config.num_hidden_layers + 1
    }

    fn max_positions(&self) -> Option<usize> {
        Some(self.config.max_position_embeddings)
    }

    fn forward_batch(
        &self,
        ids: &[u32],
        sequences: &[Range<usize>],
        sink: &mut HiddenSink<'_>,
    ) -> Result<(), ModelError> {
        let c = &self.config;
        check_ids(
            ids,
            sequences,
            c.vocab_size,
            Some(c.max_position_embeddings),
        )?;
        let at = positions(sequences);
        let mut h = embed(&self.embed_tokens, ids);
        for (i, b) in self.blocks.iter().enumerate() {
            sink(i, h.view())?;
            if c.olmo2 {
                let a = self.attend(b, &h, sequences, &at);
                h += &b.attn_norm.forward(a.view());
                let m = self.mlp(b, &h);
                h += &b.mlp_norm.forward(m.view());
            } else {
                let a = self.attend(b, &b.attn_norm.forward(h.view()), sequences, &at);
                h += &a;
                let m = self.mlp(b, &b.mlp_norm.forward(h.view()));
                h += &m;
            }
        }
        sink(c.num_hidden_layers, self.norm.forward(h.view()).view())
    }
}
