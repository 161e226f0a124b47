//! GPT-NeoX (Pythia): rotary embeddings on the first `rotary_pct` of each head, a fused
//! query/key/value projection laid out per head, parallel (or sequential) residual, and
//! `final_layer_norm` applied to the last hidden state as HF's `GPTNeoXModel` does.

use std::ops::Range;

use ndarray::{s, Array1, Array2};

use super::config::NeoxConfig;
use super::ops::{attention, Heads, LayerNorm, Linear, Rotary};
use super::{check_ids, embed, positions, HiddenSink, ModelError, Transformer, Weights};

struct Block {
    input_layernorm: LayerNorm,
    post_attention_layernorm: LayerNorm,
    /// Rows reordered to [all queries; all keys; all values] (the file interleaves them per head).
    query_key_value: Linear,
    dense: Linear,
    dense_h_to_4h: Linear,
    dense_4h_to_h: Linear,
}

pub struct GptNeox {
    config: NeoxConfig,
    embed_in: Array2<f32>,
    blocks: Vec<Block>,
    final_layer_norm: LayerNorm,
    rotary: Rotary,
}

/// The fused projection's row for head `h`, part `p` (0 q, 1 k, 2 v), feature `j`, is
/// `h·3·hd + p·hd + j` in the file; this puts it at `p·d + h·hd + j`.
fn split_heads(qkv: Linear, heads: usize, head_dim: usize) -> Linear {
    let d = heads * head_dim;
    let order: Vec<usize> = (0..3)
        .flat_map(|p| {
            (0..heads)
                .flat_map(move |h| (0..head_dim).map(move |j| h * 3 * head_dim + p * head_dim + j))
        })
        .collect();
    debug_assert_eq!(order.len(), 3 * d);
    Linear {
        weight: qkv.weight.select(ndarray::Axis(0), &order),
        bias: qkv
            .bias
            .map(|b| Array1::from_iter(order.iter().map(|&i| b[i]))),
    }
}

impl GptNeox {
    pub fn load(c: &NeoxConfig, w: &mut Weights) -> Result<Self, ModelError> {
        let (d, eps) = (c.hidden_size, c.layer_norm_eps);
        let head_dim = d / c.num_attention_heads;
        let blocks = (0..c.num_hidden_layers)
            .map(|i| {
                let p = format!("layers.{i}");
                let qkv = w.linear(
                    &format!("{p}.attention.query_key_value"),
                    3 * d,
                    d,
                    c.attention_bias,
                )?;
                Ok(Block {
                    input_layernorm: w.layer_norm(&format!("{p}.input_layernorm"), d, eps)?,
                    post_attention_layernorm: w.layer_norm(
                        &format!("{p}.post_attention_layernorm"),
                        d,
                        eps,
                    )?,
                    query_key_value: split_heads(qkv, c.num_attention_heads, head_dim),
                    dense: w.linear(&format!("{p}.attention.dense"), d, d, c.attention_bias)?,
                    dense_h_to_4h: w.linear(
                        &format!("{p}.mlp.dense_h_to_4h"),
                        c.intermediate_size,
                        d,
                        true,
                    )?,
                    dense_4h_to_h: w.linear(
                        &format!("{p}.mlp.dense_4h_to_h"),
                        d,
                        c.intermediate_size,
                        true,
                    )?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Self {
            config: c.clone(),
            embed_in: w.matrix("embed_in.weight", c.vocab_size, d)?,
            blocks,
            final_layer_norm: w.layer_norm("final_layer_norm", d, eps)?,
            rotary: Rotary {
                head_dim,
                // HF: int(head_size * rotary_pct).
                rotary_dim: (head_dim as f64 * c.rotary_pct) as usize,
                base: c.rotary_emb_base,
            },
        })
    }
}

impl Transformer for GptNeox {
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
        let (d, heads) = (c.hidden_size, c.num_attention_heads);
        let shape = Heads {
            heads,
            kv_heads: heads,
            head_dim: d / heads,
            causal: true,
        };
        let at = positions(sequences);
        let mut h = embed(&self.embed_in, ids);
        for (i, b) in self.blocks.iter().enumerate() {
            sink(i, h.view())?;
            let qkv = b
                .query_key_value
                .forward(b.input_layernorm.forward(h.view()).view());
            let mut q = qkv.slice(s![.., ..d]).to_owned();
            let mut k = qkv.slice(s![.., d..2 * d]).to_owned();
            self.rotary.apply(&mut q, &at);
            self.rotary.apply(&mut k, &at);
            let a = attention(
                q.view(),
                k.view(),
                qkv.slice(s![.., 2 * d..]),
                sequences,
                shape,
            );
            let attn = b.dense.forward(a.view());
            let mlp = |x: &Array2<f32>| {
                let mut m = b
                    .dense_h_to_4h
                    .forward(b.post_attention_layernorm.forward(x.view()).view());
                c.activation.apply(&mut m);
                b.dense_4h_to_h.forward(m.view())
            };
            if c.use_parallel_residual {
                let m = mlp(&h);
                h += &attn;
                h += &m;
            } else {
                h += &attn;
                let m = mlp(&h);
                h += &m;
            }
        }
        sink(
            c.num_hidden_layers,
            self.final_layer_norm.forward(h.view()).view(),
        )
    }
}
