//! BERT encoders (all-MiniLM-L6-v2): word + position + token-type (0) embeddings under a
//! LayerNorm, post-norm blocks with bidirectional attention; HF returns no final norm.

use std::ops::Range;

use ndarray::{Array2, Axis};

use super::config::BertConfig;
use super::ops::{attention, Heads, LayerNorm, Linear};
use super::{check_ids, embed, positions, HiddenSink, ModelError, Transformer, Weights};

struct Block {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

pub struct Bert {
    config: BertConfig,
    word_embeddings: Array2<f32>,
    position_embeddings: Array2<f32>,
    /// Row 0 of the token-type table: a single sequence is all type 0.
    token_type_0: ndarray::Array1<f32>,
    embeddings_norm: LayerNorm,
    blocks: Vec<Block>,
}

impl Bert {
    pub fn load(c: &BertConfig, w: &mut Weights) -> Result<Self, ModelError> {
        let (d, eps, inter) = (c.hidden_size, c.layer_norm_eps, c.intermediate_size);
        let blocks = (0..c.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Block {
                    query: w.linear(&format!("{p}.attention.self.query"), d, d, true)?,
                    key: w.linear(&format!("{p}.attention.self.key"), d, d, true)?,
                    value: w.linear(&format!("{p}.attention.self.value"), d, d, true)?,
                    attention_output: w.linear(
                        &format!("{p}.attention.output.dense"),
                        d,
                        d,
                        true,
                    )?,
                    attention_norm: w.layer_norm(
                        &format!("{p}.attention.output.LayerNorm"),
                        d,
                        eps,
                    )?,
                    intermediate: w.linear(&format!("{p}.intermediate.dense"), inter, d, true)?,
                    output: w.linear(&format!("{p}.output.dense"), d, inter, true)?,
                    output_norm: w.layer_norm(&format!("{p}.output.LayerNorm"), d, eps)?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        let types = w.matrix(
            "embeddings.token_type_embeddings.weight",
            c.type_vocab_size,
            d,
        )?;
        Ok(Self {
            config: c.clone(),
            word_embeddings: w.matrix("embeddings.word_embeddings.weight", c.vocab_size, d)?,
            position_embeddings: w.matrix(
                "embeddings.position_embeddings.weight",
                c.max_position_embeddings,
                d,
            )?,
            token_type_0: types.row(0).to_owned(),
            embeddings_norm: w.layer_norm("embeddings.LayerNorm", d, eps)?,
            blocks,
        })
    }
}

impl Transformer for Bert {
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
        let heads = c.num_attention_heads;
        let shape = Heads {
            heads,
            kv_heads: heads,
            head_dim: c.hidden_size / heads,
            causal: false,
        };
        let mut e = embed(&self.word_embeddings, ids)
            + self
                .position_embeddings
                .select(Axis(0), &positions(sequences));
        e += &self.token_type_0;
        let mut h = self.embeddings_norm.forward(e.view());
        sink(0, h.view())?;
        for (i, b) in self.blocks.iter().enumerate() {
            let (q, k, v) = (
                b.query.forward(h.view()),
                b.key.forward(h.view()),
                b.value.forward(h.view()),
            );
            let a = attention(q.view(), k.view(), v.view(), sequences, shape);
            let mut x = b.attention_output.forward(a.view());
            x += &h;
            let attended = b.attention_norm.forward(x.view());
            let mut m = b.intermediate.forward(attended.view());
            c.activation.apply(&mut m);
            let mut y = b.output.forward(m.view());
            y += &attended;
            h = b.output_norm.forward(y.view());
            sink(i + 1, h.view())?;
        }
        Ok(())
    }
}
