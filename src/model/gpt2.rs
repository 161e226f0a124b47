//! GPT-2: learned positions, pre-norm blocks (LayerNorm → causal attention, LayerNorm → MLP),
//! `Conv1D` weights, and `ln_f` applied to the last hidden state as HF's `GPT2Model` does.

use std::ops::Range;

use ndarray::{s, Array2, Axis};

use super::config::Gpt2Config;
use super::ops::{attention, Heads, LayerNorm, Linear};
use super::{check_ids, embed, positions, HiddenSink, ModelError, Transformer, Weights};

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

pub struct Gpt2 {
    config: Gpt2Config,
    wte: Array2<f32>,
    wpe: Array2<f32>,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
}

impl Gpt2 {
    pub fn load(c: &Gpt2Config, w: &mut Weights) -> Result<Self, ModelError> {
        let (d, eps) = (c.n_embd, c.layer_norm_epsilon);
        let blocks = (0..c.n_layer)
            .map(|i| {
                let p = format!("h.{i}");
                Ok(Block {
                    ln_1: w.layer_norm(&format!("{p}.ln_1"), d, eps)?,
                    c_attn: w.conv1d(&format!("{p}.attn.c_attn"), d, 3 * d)?,
                    c_proj: w.conv1d(&format!("{p}.attn.c_proj"), d, d)?,
                    ln_2: w.layer_norm(&format!("{p}.ln_2"), d, eps)?,
                    c_fc: w.conv1d(&format!("{p}.mlp.c_fc"), d, c.n_inner)?,
                    mlp_proj: w.conv1d(&format!("{p}.mlp.c_proj"), c.n_inner, d)?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Self {
            config: c.clone(),
            wte: w.matrix("wte.weight", c.vocab_size, d)?,
            wpe: w.matrix("wpe.weight", c.n_positions, d)?,
            blocks,
            ln_f: w.layer_norm("ln_f", d, eps)?,
        })
    }
}

impl Transformer for Gpt2 {
    fn d(&self) -> usize {
        self.config.n_embd
    }

    fn hidden_states(&self) -> usize {
        self.config.n_layer + 1
    }

    fn max_positions(&self) -> Option<usize> {
        Some(self.config.n_positions)
    }

    fn forward_batch(
        &self,
        ids: &[u32],
        sequences: &[Range<usize>],
        sink: &mut HiddenSink<'_>,
    ) -> Result<(), ModelError> {
        let c = &self.config;
        check_ids(ids, sequences, c.vocab_size, Some(c.n_positions))?;
        let d = c.n_embd;
        let shape = Heads {
            heads: c.n_head,
            kv_heads: c.n_head,
            head_dim: d / c.n_head,
            causal: true,
        };
        let mut h = embed(&self.wte, ids) + self.wpe.select(Axis(0), &positions(sequences));
        for (i, b) in self.blocks.iter().enumerate() {
            sink(i, h.view())?;
            let qkv = b.c_attn.forward(b.ln_1.forward(h.view()).view());
            let a = attention(
                qkv.slice(s![.., ..d]),
                qkv.slice(s![.., d..2 * d]),
                qkv.slice(s![.., 2 * d..]),
                sequences,
                shape,
            );
            h += &b.c_proj.forward(a.view());
            let mut m = b.c_fc.forward(b.ln_2.forward(h.view()).view());
            c.activation.apply(&mut m);
            h += &b.mlp_proj.forward(m.view());
        }
        sink(c.n_layer, self.ln_f.forward(h.view()).view())
    }
}
