//! The arithmetic the reference applies to soft histograms: the max-subtracted tempered softmax, the
//! clipped Shannon entropy as efficiency, and the ratios the paper reads off entropies
//! (regularity, optimality). ln comes from the `libm` crate, not the platform's maths library, and
//! the softmax's exponentials from [`super::exp`], so both return the same bits natively and in
//! wasm.

use super::{exp, ln};

/// The reference clips probabilities at this value inside the logarithm (and only there).
pub const LOG_CLIP: f64 = 1e-9;

/// Turns cosine scores into a soft assignment in place: softmax(s / ε), subtracting the maximum
/// after the division as the reference's numpy code does. The estimator uses the fused
/// [`softmax_entropy_in_place`]; this two-step form is kept as the tests' reference for it.
#[cfg(test)]
fn softmax_in_place(scores: &mut [f64], temperature: f64) {
    let mut max = f64::NEG_INFINITY;
    for s in scores.iter_mut() {
        *s /= temperature;
        max = max.max(*s);
    }
    let mut total = 0.0;
    for s in scores.iter_mut() {
        *s = libm::exp(*s - max);
        total += *s;
    }
    for s in scores.iter_mut() {
        *s /= total;
    }
}

/// The max-subtracted tempered softmax of `scores` in place (softmax(s / ε), the maximum
/// subtracted after the division, as the reference's numpy code does), and the row's own entropy
/// (as [`soft_entropy`] of the result, in efficiency units), with one logarithm per row instead of
/// one per bin: ln p_j is taken as
/// (s_j / ε − max) − ln Σ, which differs from ln(p_j) only by rounding (~1e-16). Probabilities
/// below [`LOG_CLIP`] use ln of the clip, as the reference does. `shifted` is scratch space of at
/// least `scores.len()` values.
pub fn softmax_entropy_in_place(scores: &mut [f64], temperature: f64, shifted: &mut [f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, checked just above.
        return unsafe { softmax_entropy_avx(scores, temperature, shifted) };
    }
    softmax_entropy_any(scores, temperature, shifted)
}

/// [`softmax_entropy_in_place`] as AVX code: its exponentials 4 to an instruction instead of
/// SSE2's 2 (they were a seventh of a d = 768 analysis). The same operations in the same order
/// (no FMA: AVX does not enable it), so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn softmax_entropy_avx(scores: &mut [f64], temperature: f64, shifted: &mut [f64]) -> f64 {
    softmax_entropy_any(scores, temperature, shifted)
}

#[inline(always)]
fn softmax_entropy_any(scores: &mut [f64], temperature: f64, shifted: &mut [f64]) -> f64 {
    let shifted = &mut shifted[..scores.len()];
    // Products with reciprocals, not a division per bin (within an ulp of the quotients).
    let inverse_temperature = 1.0 / temperature;
    let mut max = f64::NEG_INFINITY;
    for s in scores.iter_mut() {
        *s *= inverse_temperature;
        max = max.max(*s);
    }
    for (s, t) in scores.iter().zip(shifted.iter_mut()) {
        *t = *s - max;
    }
    // A loop of its own, so that it vectorises; the sum keeps its order.
    for (s, &t) in scores.iter_mut().zip(shifted.iter()) {
        *s = exp::exp_nonpositive(t);
    }
    let total: f64 = scores.iter().sum();
    let inverse_total = 1.0 / total;
    let log_total = libm::log(total);
    let log_clip = libm::log(LOG_CLIP);
    let mut nats = 0.0;
    for (s, &t) in scores.iter_mut().zip(shifted.iter()) {
        *s *= inverse_total;
        nats -= *s
            * if *s >= LOG_CLIP {
                t - log_total
            } else {
                log_clip
            };
    }
    nats / libm::log(scores.len() as f64)
}

/// `terms[j] = p_j ln max(p_j, LOG_CLIP)` with `p_j = counts[j] / total`, for a finite positive
/// `total` of finite non-negative counts.
#[inline(always)]
fn entropy_terms(counts: &[f64], total: f64, terms: &mut [f64]) {
    for (t, &c) in terms.iter_mut().zip(counts) {
        let p = c / total;
        // `p.max(LOG_CLIP)` without the call wasm makes of it (the same value, NaN included).
        let clipped = if p > LOG_CLIP { p } else { LOG_CLIP };
        *t = p * ln::ln_positive_normal(clipped);
    }
}

/// [`entropy_terms`] as AVX2 code: 4 logarithms to an instruction (AVX2 for the 64-bit integer
/// operations on the exponent bits); the same operations in the same order (no FMA), so the same
/// bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn entropy_terms_avx2(counts: &[f64], total: f64, terms: &mut [f64]) {
    entropy_terms(counts, total, terms);
}

/// Entropy of the histogram `counts` (normalised to sum 1), divided by ln(len), so in [0, 1].
/// NaN when the counts are empty or sum to zero, as in the reference.
pub fn soft_entropy(counts: &[f64]) -> f64 {
    /// Bins whose terms are kept on the stack (more go to the heap).
    const STACK_BINS: usize = 256;
    let total: f64 = counts.iter().sum();
    let mut stack = [0.0f64; STACK_BINS];
    let mut heap = Vec::new();
    let terms = if counts.len() <= STACK_BINS {
        &mut stack[..counts.len()]
    } else {
        heap.resize(counts.len(), 0.0);
        &mut heap[..]
    };
    if total.is_finite() && total > 0.0 {
        // Every p is then finite and at most 1 (to rounding): a positive normal once clipped, so
        // the logarithms can be taken by a loop that vectorises. Its own loop: the sum below
        // keeps its order.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { entropy_terms_avx2(counts, total, terms) };
        } else {
            entropy_terms(counts, total, terms);
        }
        #[cfg(not(target_arch = "x86_64"))]
        entropy_terms(counts, total, terms);
    } else {
        for (t, &c) in terms.iter_mut().zip(counts) {
            let p = c / total;
            *t = p * libm::log(p.max(LOG_CLIP));
        }
    }
    let nats: f64 = -terms.iter().sum::<f64>();
    nats / libm::log(counts.len() as f64)
}

/// The mean of `values` (NaN when there are none).
pub fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    s / n as f64
}

/// Mean and sample standard deviation (n − 1), as numpy's `std(ddof=1)`; the sd is None for
/// fewer than two values.
pub fn mean_sd(values: &[f64]) -> (f64, Option<f64>) {
    let m = mean(values.iter().copied());
    let sd = (values.len() > 1).then(|| {
        let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
        (ss / (values.len() - 1) as f64).sqrt()
    });
    (m, sd)
}

/// Regularity I(X;Z) / H(Z); NaN when H is not positive, as the reference reports it.
pub fn regularity(mutual_information: f64, entropy: f64) -> f64 {
    if entropy > 0.0 {
        mutual_information / entropy
    } else {
        f64::NAN
    }
}

/// Optimality I(Y;Z) / I(X;Z) (expressivity over complexity); NaN when the complexity is not
/// positive, as the reference notebook computes it.
pub fn optimality(expressivity: f64, complexity: f64) -> f64 {
    if complexity > 0.0 {
        expressivity / complexity
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_softmax_and_entropy_equal_the_two_steps() {
        for (eps, scores) in [
            (0.1, vec![0.3, -0.2, 0.9, 0.1, -0.7]),
            (0.01, vec![0.3, -0.2, 0.9, 0.1, -0.7]),
            (0.001, vec![0.5, 0.49, -1.0, 0.2]),
            (2.0, vec![0.0; 7]),
        ] {
            let mut two = scores.clone();
            softmax_in_place(&mut two, eps);
            let h = soft_entropy(&two);
            let mut fused = scores.clone();
            let mut scratch = vec![0.0; fused.len()];
            let hf = softmax_entropy_in_place(&mut fused, eps, &mut scratch);
            for (a, b) in two.iter().zip(&fused) {
                assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
            }
            assert!((h - hf).abs() <= 1e-14, "ε {eps}: {h} vs {hf}");
        }
    }

    /// The AVX copy (taken where the CPU has AVX) and the plain code give the same bits.
    #[test]
    fn the_dispatched_softmax_has_the_plain_codes_bits() {
        let mut r = crate::estimator::rng::Pcg64::from_seed(3);
        for (m, eps) in [(3, 0.5), (7, 0.05), (100, 0.01), (101, 0.002), (256, 0.1)] {
            let scores: Vec<f64> = (0..m).map(|_| r.standard_normal() * 0.3).collect();
            let (mut a, mut b) = (scores.clone(), scores);
            let (mut sa, mut sb) = (vec![0.0; m], vec![0.0; m]);
            let ha = softmax_entropy_in_place(&mut a, eps, &mut sa);
            let hb = softmax_entropy_any(&mut b, eps, &mut sb);
            assert_eq!(ha.to_bits(), hb.to_bits(), "{m} bins, ε {eps}");
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m} bins"
            );
        }
    }

    #[test]
    fn uniform_histogram_has_efficiency_one() {
        assert!((soft_entropy(&[2.0; 7]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn one_hot_histogram_uses_the_clip() {
        // p = (1, 0, 0): -(1·ln 1 + 0·ln 1e-9 + 0·ln 1e-9) = 0.
        assert_eq!(soft_entropy(&[3.0, 0.0, 0.0]), 0.0);
        assert!(soft_entropy(&[0.0, 0.0]).is_nan());
    }

    #[test]
    fn two_point_entropy_matches_closed_form() {
        let h = soft_entropy(&[1.0, 3.0]);
        let expected = -(0.25f64 * 0.25f64.ln() + 0.75 * 0.75f64.ln()) / 2f64.ln();
        assert!((h - expected).abs() < 1e-15);
    }

    #[test]
    fn softmax_is_shift_invariant_and_sums_to_one() {
        let mut a = [0.3, -0.2, 0.9];
        softmax_in_place(&mut a, 0.5);
        let e: Vec<f64> = [0.6f64, -0.4, 1.8].iter().map(|v| v.exp()).collect();
        let t: f64 = e.iter().sum();
        for (x, y) in a.iter().zip(&e) {
            assert!((x - y / t).abs() < 1e-15);
        }
    }

    #[test]
    fn ratios_are_nan_at_zero() {
        assert!(regularity(0.1, 0.0).is_nan());
        assert!(optimality(0.1, 0.0).is_nan());
        assert_eq!(optimality(0.25, 0.5), 0.5);
    }
}
