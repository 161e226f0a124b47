//! The operations the supported transformers are built from, in f32 on `[positions, features]`
//! matrices: linear maps, LayerNorm and RMSNorm, the activations, rotary embeddings and
//! multi-head attention (causal or not, grouped-query), each as Hugging Face computes it.
//!
//! Every result has the same bits natively and in wasm32, so the page prints the CLI's numbers:
//! products go through [`matmul_nt`] (a fixed order of operations, no fused multiply-add, where
//! BLAS-style kernels pick their order and FMA by target) and exp/tanh/sin/cos come from `libm`.

use ndarray::{s, Array1, Array2, ArrayView2, Axis};

use crate::estimator::exp::exp_nonpositive;
use crate::estimator::scores;

/// A linear map `y = x Wᵀ + b`, with `W` stored as torch's `nn.Linear` keeps it: `[out, in]`.
/// GPT-2's `Conv1D` stores `[in, out]`; its loader transposes it once, so every layer here is
/// an `nn.Linear`.
#[derive(Clone, Debug)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Array2<f32>,
    pub bias: Option<Array1<f32>>,
}

/// `a · bᵀ` for row-major `a` `[n, k]` and `b` `[m, k]`, every output a dot product in the
/// estimator's documented order (eight interleaved partial sums combined pairwise, no FMA; see
/// [`crate::estimator::scores`]), through its kernel: explicit AVX natively, simd128 in wasm. Not
/// ndarray's `dot` (matrixmultiply), because the order of a product's additions must not depend
/// on the target.
pub fn matmul_nt(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    let (n, k) = a.dim();
    let m = b.nrows();
    assert_eq!(b.ncols(), k, "inner dimensions differ");
    let a = a.as_standard_layout();
    let b = b.as_standard_layout();
    let (a, b) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    // The kernel hands each f32 sum back widened to f64 (exactly), so narrowing it is exact too.
    let mut wide = vec![0f64; n * m];
    scores::cosine_scores(a, b, k, &mut wide);
    Array2::from_shape_vec((n, m), wide.into_iter().map(|v| v as f32).collect())
        .expect("n × m values")
}

impl Linear {
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut y = matmul_nt(x, self.weight.view());
        if let Some(b) = &self.bias {
            y += b;
        }
        y
    }

    pub fn out_features(&self) -> usize {
        self.weight.nrows()
    }
}

/// `LayerNorm` over the last axis: biased variance, `eps` inside the square root.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub weight: Array1<f32>,
    pub bias: Array1<f32>,
    pub eps: f32,
}

impl LayerNorm {
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut y = x.to_owned();
        for mut row in y.rows_mut() {
            let n = row.len() as f32;
            let mean = row.sum() / n;
            row -= mean;
            let var = row.iter().map(|v| v * v).sum::<f32>() / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            row *= inv;
            row *= &self.weight;
            row += &self.bias;
        }
        y
    }
}

/// `RMSNorm` (Llama, OLMo-2): `x / sqrt(mean(x²) + eps) * weight`.
#[derive(Clone, Debug)]
pub struct RmsNorm {
    pub weight: Array1<f32>,
    pub eps: f32,
}

impl RmsNorm {
    pub fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut y = x.to_owned();
        for mut row in y.rows_mut() {
            let ms = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
            row *= 1.0 / (ms + self.eps).sqrt();
            row *= &self.weight;
        }
        y
    }
}

/// The activations of the supported `hidden_act` / `activation_function` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `gelu`: the exact 0.5·x·(1 + erf(x/√2)).
    Gelu,
    /// `gelu_new` / `gelu_pytorch_tanh` / `gelu_fast`: the tanh approximation (GPT-2).
    GeluTanh,
    /// `silu` / `swish` (Llama's SwiGLU gate).
    Silu,
    /// `relu`.
    Relu,
}

impl Activation {
    /// The activation a config names, or `None` for one infoplane does not implement.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "silu" | "swish" => Activation::Silu,
            "relu" => Activation::Relu,
            _ => return None,
        })
    }

    pub fn apply(self, x: &mut Array2<f32>) {
        match self {
            Activation::Gelu => match x.as_slice_mut() {
                Some(values) => values.iter_mut().for_each(|v| *v = gelu(*v)),
                None => x.mapv_inplace(gelu),
            },
            Activation::GeluTanh => x.mapv_inplace(|v| {
                let c = (2.0 / std::f32::consts::PI).sqrt();
                0.5 * v * (1.0 + libm::tanhf(c * (v + 0.044715 * v * v * v)))
            }),
            Activation::Silu => x.mapv_inplace(|v| v / (1.0 + libm::expf(-v))),
            Activation::Relu => x.mapv_inplace(|v| v.max(0.0)),
        }
    }
}

/// The exact GELU, 0.5·x·(1 + erf(x/√2)), with [`erf`]'s approximation of erf.
#[inline(always)]
fn gelu(v: f32) -> f32 {
    0.5 * v * (1.0 + erf(f64::from(v) / std::f64::consts::SQRT_2) as f32)
}

/// erf(x) by Abramowitz & Stegun's formula 7.1.26: 1 − t·P(t)·e^(−x²) with t = 1/(1 + p|x|),
/// the sign of x restored; |error| ≤ 1.5e-7 (the test checks it against `libm::erf`), far below
/// the 1e-4 the hidden-state tests hold against Hugging Face transformers. It replaced
/// `libm::erf`, a branching scalar function that was a tenth of a BERT forward pass: this one has
/// no branch (the exponential is [`exp_nonpositive`]), so it vectorises, natively and in wasm,
/// and gives the same bits on both.
#[inline(always)]
fn erf(x: f64) -> f64 {
    const P: f64 = 0.327_591_1;
    const A: [f64; 5] = [
        0.254_829_592,
        -0.284_496_736,
        1.421_413_741,
        -1.453_152_027,
        1.061_405_429,
    ];
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = ((((A[4] * t + A[3]) * t + A[2]) * t + A[1]) * t + A[0]) * t;
    (1.0 - poly * exp_nonpositive(-a * a)).copysign(x)
}

/// Rotary position embedding as Hugging Face applies it (`rotate_half`): within each head, the
/// first `rotary_dim` features are rotated in pairs (i, i + rotary_dim/2) by angles
/// `position · base^(−2i/rotary_dim)`; the rest pass through (GPT-NeoX's `rotary_pct` < 1).
#[derive(Clone, Debug)]
pub struct Rotary {
    pub head_dim: usize,
    pub rotary_dim: usize,
    pub base: f64,
}

impl Rotary {
    /// Rotates `x` (`[rows, heads · head_dim]`) in place; row `r` is at position `positions[r]`.
    pub fn apply(&self, x: &mut Array2<f32>, positions: &[usize]) {
        let half = self.rotary_dim / 2;
        if half == 0 {
            return;
        }
        // HF computes inv_freq in f32 and the angles as an f32 product; the same here, so the
        // angles of long sequences round the way HF's do.
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| (1.0 / libm::pow(self.base, (2 * i) as f64 / self.rotary_dim as f64)) as f32)
            .collect();
        let heads = x.ncols() / self.head_dim;
        for (&t, mut row) in positions.iter().zip(x.rows_mut()) {
            for (i, &f) in inv_freq.iter().enumerate() {
                let angle = t as f32 * f;
                let (sin, cos) = (libm::sinf(angle), libm::cosf(angle));
                for h in 0..heads {
                    let a = h * self.head_dim + i;
                    let b = a + half;
                    let (x1, x2) = (row[a], row[b]);
                    row[a] = x1 * cos - x2 * sin;
                    row[b] = x2 * cos + x1 * sin;
                }
            }
        }
    }
}

/// How attention is shaped: `heads` query heads of `head_dim` features, `kv_heads` key/value
/// heads (grouped-query attention when kv_heads < heads: each group of heads / kv_heads query
/// heads shares one), and whether later positions are masked.
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub causal: bool,
}

/// Scaled dot-product attention within each of `sequences` (row ranges of a batch): `q` is
/// `[rows, heads · head_dim]`, `k` and `v` `[rows, kv_heads · head_dim]`; a row attends to the
/// rows of its own sequence only.
pub fn attention(
    q: ArrayView2<f32>,
    k: ArrayView2<f32>,
    v: ArrayView2<f32>,
    sequences: &[std::ops::Range<usize>],
    shape: Heads,
) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((q.nrows(), shape.heads * shape.head_dim));
    for r in sequences {
        let rows = s![r.clone(), ..];
        let one = attention_one(q.slice(rows), k.slice(rows), v.slice(rows), shape);
        out.slice_mut(rows).assign(&one);
    }
    out
}

/// [`attention`] over one sequence.
fn attention_one(
    q: ArrayView2<f32>,
    k: ArrayView2<f32>,
    v: ArrayView2<f32>,
    shape: Heads,
) -> Array2<f32> {
    let Heads {
        heads,
        kv_heads,
        head_dim,
        causal,
    } = shape;
    let t = q.nrows();
    let group = heads / kv_heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let mut out = Array2::<f32>::zeros((t, heads * head_dim));
    for h in 0..heads {
        let kvh = h / group;
        let qh = q.slice(s![.., h * head_dim..(h + 1) * head_dim]);
        let kh = k.slice(s![.., kvh * head_dim..(kvh + 1) * head_dim]);
        let vh = v.slice(s![.., kvh * head_dim..(kvh + 1) * head_dim]);
        let mut scores = matmul_nt(qh, kh);
        scores *= scale;
        for (i, mut row) in scores.axis_iter_mut(Axis(0)).enumerate() {
            let visible = if causal { i + 1 } else { t };
            let max = row
                .iter()
                .take(visible)
                .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0;
            for (j, s) in row.iter_mut().enumerate() {
                *s = if j < visible {
                    libm::expf(*s - max)
                } else {
                    0.0
                };
                sum += *s;
            }
            row /= sum;
        }
        out.slice_mut(s![.., h * head_dim..(h + 1) * head_dim])
            .assign(&matmul_nt(scores.view(), vh.t()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matmul_nt_sums_in_the_documented_order_bit_for_bit() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32) * 2.0 - 1.0
        };
        for (n, m, k) in [
            (1, 1, 1),
            (3, 5, 7),
            (5, 3, 8),
            (7, 9, 33),
            (6, 4, 64),
            (9, 11, 70),
            (4, 2, 0),
        ] {
            let a = Array2::from_shape_fn((n, k), |_| next());
            let b = Array2::from_shape_fn((m, k), |_| next());
            let ours = matmul_nt(a.view(), b.view());
            for i in 0..n {
                for j in 0..m {
                    let want = scores::by_the_book(
                        a.row(i).as_slice().unwrap(),
                        b.row(j).as_slice().unwrap(),
                    );
                    assert_eq!(
                        ours[[i, j]].to_bits(),
                        want.to_bits(),
                        "{n}x{m}x{k} at ({i}, {j})"
                    );
                }
            }
        }
    }

    #[test]
    fn matmul_nt_equals_the_plain_product() {
        let a = Array2::from_shape_fn((3, 19), |(i, j)| (i * 19 + j) as f32 * 0.25 - 3.0);
        let b = Array2::from_shape_fn((5, 19), |(i, j)| ((i + 2 * j) % 7) as f32 - 2.5);
        let ours = matmul_nt(a.view(), b.view());
        let plain = a.dot(&b.t());
        assert_eq!(ours.dim(), (3, 5));
        // Small integers and quarters: every partial sum is exact, so any order gives these.
        assert_eq!(ours, plain);
        // Transposed (non-standard) views are accepted.
        assert_eq!(matmul_nt(a.view(), b.t().t()), plain);
    }

    #[test]
    fn layer_norm_of_a_row_has_zero_mean_and_unit_variance() {
        let ln = LayerNorm {
            weight: Array1::ones(4),
            bias: Array1::zeros(4),
            eps: 0.0,
        };
        let y = ln.forward(array![[1.0f32, 2.0, 3.0, 6.0]].view());
        assert!(y.sum().abs() < 1e-6);
        assert!((y.mapv(|v| v * v).sum() / 4.0 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn rms_norm_scales_to_unit_root_mean_square() {
        let n = RmsNorm {
            weight: array![1.0f32, 2.0],
            eps: 0.0,
        };
        let y = n.forward(array![[3.0f32, 4.0]].view());
        let rms = (12.5f32).sqrt();
        assert!((y[[0, 0]] - 3.0 / rms).abs() < 1e-6 && (y[[0, 1]] - 8.0 / rms).abs() < 1e-6);
    }

    #[test]
    fn erf_is_within_its_bound_of_libm() {
        let mut worst = 0.0f64;
        let far = [
            f64::NEG_INFINITY,
            -1e300,
            -40.0,
            -0.0,
            0.0,
            1e-300,
            40.0,
            1e300,
        ];
        for x in (-60_000..=60_000).map(|i| f64::from(i) * 1e-4).chain(far) {
            let diff = (erf(x) - libm::erf(x)).abs();
            // Written so that a NaN fails too.
            assert!(diff <= 1.5e-7, "erf({x}): |erf - libm::erf| {diff:e}");
            worst = worst.max(diff);
        }
        assert_eq!(erf(f64::INFINITY), 1.0);
        assert!(erf(f64::NAN).is_nan());
        assert!(
            worst > 1e-8,
            "the approximation is not what the bound describes ({worst:e})"
        );
    }

    #[test]
    fn activations_match_their_closed_forms() {
        let mut x = array![[-1.0f32, 0.0, 2.0]];
        Activation::Gelu.apply(&mut x);
        // 0.5·2·(1 + erf(√2)) with erf(√2) = 0.9544997361036416.
        assert!((x[[0, 2]] - 1.9544997).abs() < 1e-6);
        assert!((x[[0, 0]] + 0.15865526).abs() < 1e-6);
        let mut y = array![[1.0f32]];
        Activation::Silu.apply(&mut y);
        assert!((y[[0, 0]] - 0.7310586).abs() < 1e-6);
    }

    #[test]
    fn causal_attention_at_the_first_position_returns_its_own_value() {
        let q = array![[1.0f32, 0.0], [0.0, 1.0]];
        let k = q.clone();
        let v = array![[5.0f32, 7.0], [1.0, 1.0]];
        let shape = Heads {
            heads: 1,
            kv_heads: 1,
            head_dim: 2,
            causal: true,
        };
        let one = 0..2;
        let out = attention(
            q.view(),
            k.view(),
            v.view(),
            std::slice::from_ref(&one),
            shape,
        );
        assert_eq!(out.row(0).to_vec(), vec![5.0, 7.0]);
        // Position 1 sees both, weighted by softmax(q·k/√2) = softmax([0, 1/√2]).
        let w1 = 1.0 / (1.0 + (-(0.5f32).sqrt()).exp());
        assert!((out[[1, 0]] - (5.0 * (1.0 - w1) + w1)).abs() < 1e-5);
    }

    #[test]
    fn rotary_at_position_zero_is_the_identity_and_preserves_norms() {
        let r = Rotary {
            head_dim: 4,
            rotary_dim: 4,
            base: 10000.0,
        };
        let mut x = array![[1.0f32, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]];
        r.apply(&mut x, &[0, 1]);
        assert_eq!(x.row(0).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let n: f32 = x.row(1).iter().map(|v| v * v).sum();
        assert!((n - 30.0).abs() < 1e-4);
        // Pair (0, 2) turns by 1 radian at position 1.
        assert!((x[[1, 0]] - (1.0f32.cos() - 3.0 * 1.0f32.sin())).abs() < 1e-6);
    }
}
