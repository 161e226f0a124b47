//! The temperature ε of the soft-entropy estimator: the von Mises–Fisher kernel width at which
//! KL(vMF_ε ‖ uniform on S^{d−1}) = ln m (method.md §3.3), solved as the reference `find_eps` does,
//! on the exact Bessel KL (stable up to d = 16384), to leading order, or given directly. Logarithms
//! come from the `libm` crate so ε has the same bits natively and in wasm.

use std::fmt;

/// How the temperature ε is chosen for `m` bins (reference points) in dimension `d`.
///
/// Serialized as `"find-eps"`, `"exact"`, `"leading-order"` and `{"fixed": 0.05}`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    /// The reference default `find_eps(m, d)`: Brent's method on [`kl_lower_bound`] = ln m over
    /// ε ∈ [1e-5, 1]. Since the true KL is larger, ε comes out a little sharper than the exact root.
    /// Refuses d = 2 and fails where the bound never reaches ln m (d = 3 from 117 bins up).
    FindEps,
    /// The root of [`kl_exact`] = ln m over ε ∈ [1e-6, 1], as the reference
    /// `sphere_temp_calibration(mode="exact")`, but valid for every d (the reference's `ive`
    /// underflows to NaN at ε = 1 from d = 300 on, so it fails there for every m).
    Exact,
    /// ε = 1/√(2 d ln m), the κ ≪ d limit of the KL; the reference's `calibration="leading_order"`.
    LeadingOrder,
    /// A temperature given directly; must be finite and positive.
    Fixed(f64),
}

impl Calibration {
    /// Parses a mode name: `find-eps`, `exact` or `leading-order` (the reference's spellings
    /// `find_eps` and `leading_order` are accepted too). A fixed ε is not a name, so not parsed here.
    pub fn parse(s: &str) -> Result<Self, CalibrationError> {
        match s {
            "find-eps" | "find_eps" => Ok(Self::FindEps),
            "exact" => Ok(Self::Exact),
            "leading-order" | "leading_order" => Ok(Self::LeadingOrder),
            _ => Err(CalibrationError::new(format!(
                "unknown calibration {s:?}; expected find-eps, exact or leading-order (or give --eps)"
            ))),
        }
    }
}

impl std::str::FromStr for Calibration {
    type Err = CalibrationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why no temperature could be produced; the message says which mode to use instead.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationError {
    message: String,
}

impl CalibrationError {
    fn new(message: String) -> Self {
        Self { message }
    }
}

impl fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CalibrationError {}

/// The reference `find_eps` bracket.
const FIND_EPS_BRACKET: (f64, f64) = (1e-5, 1.0);
/// The reference `sphere_temp_calibration` bracket.
const EXACT_BRACKET: (f64, f64) = (1e-6, 1.0);

/// scipy's `brentq` settings in the reference. find-eps keeps them: with xtol = 1e-12 a root near
/// 1e-5 is pinned only to ~1e-7 relative, so matching the reference to 1e-9 means taking the same
/// Brent steps, not merely solving accurately.
const REFERENCE_TOLERANCE: Tolerance = Tolerance {
    xtol: 1e-12,
    rtol: 1e-10,
    max_iter: 100,
};

/// The exact mode has nothing to replicate, so it solves to what the KL's own accuracy supports.
const EXACT_TOLERANCE: Tolerance = Tolerance {
    xtol: 1e-18,
    rtol: 1e-13,
    max_iter: 200,
};

/// The temperature ε for `n_bins` reference points in dimension `d`.
///
/// Errors if `n_bins < 2` or `d < 2`, if a fixed ε is not finite and positive, or if the chosen mode
/// has no root in its bracket; the message names the mode to use instead.
pub fn temperature(
    calibration: Calibration,
    n_bins: usize,
    d: usize,
) -> Result<f64, CalibrationError> {
    if n_bins < 2 {
        return Err(CalibrationError::new(format!(
            "calibration needs at least 2 bins, got {n_bins}"
        )));
    }
    if d < 2 {
        return Err(CalibrationError::new(format!(
            "calibration needs d >= 2, got d = {d}"
        )));
    }
    let target = libm::log(n_bins as f64);
    match calibration {
        Calibration::FindEps => {
            if d <= 2 {
                return Err(CalibrationError::new(
                    "find-eps needs d > 2 (the bound is singular at d = 2); use --calibration exact"
                        .to_string(),
                ));
            }
            let (lo, hi) = FIND_EPS_BRACKET;
            solve_decreasing(
                |eps| kl_lower_bound(eps, d),
                target,
                FIND_EPS_BRACKET,
                REFERENCE_TOLERANCE,
            )
            .map_err(|failure| {
                let why = match failure {
                    SolveFailure::BelowTargetAtLow => {
                        format!("the lower KL bound never reaches ln {n_bins} on [{lo:e}, {hi}]")
                    }
                    SolveFailure::AboveTargetAtHigh => {
                        format!("the lower KL bound exceeds ln {n_bins} even at eps = {hi}")
                    }
                    SolveFailure::NoConvergence => "Brent's method did not converge".to_string(),
                };
                CalibrationError::new(format!(
                    "find-eps cannot calibrate d = {d} with {n_bins} bins ({why}); \
                     use --calibration exact or --eps"
                ))
            })
        }
        Calibration::Exact => {
            let (lo, hi) = EXACT_BRACKET;
            solve_decreasing(
                |eps| kl_exact(eps, d),
                target,
                EXACT_BRACKET,
                EXACT_TOLERANCE,
            )
            .map_err(|failure| {
                let why = match failure {
                    SolveFailure::BelowTargetAtLow => {
                        format!("the KL stays below ln {n_bins} on [{lo:e}, {hi}]")
                    }
                    SolveFailure::AboveTargetAtHigh => {
                        format!("the KL exceeds ln {n_bins} even at eps = {hi}")
                    }
                    SolveFailure::NoConvergence => "Brent's method did not converge".to_string(),
                };
                CalibrationError::new(format!(
                    "exact calibration cannot calibrate d = {d} with {n_bins} bins ({why}); use --eps"
                ))
            })
        }
        // The reference's operation order, 1/sqrt((2d)·ln m), so the value is bit-for-bit the same.
        Calibration::LeadingOrder => Ok(1.0 / ((2 * d) as f64 * target).sqrt()),
        Calibration::Fixed(eps) => {
            if eps.is_finite() && eps > 0.0 {
                Ok(eps)
            } else {
                Err(CalibrationError::new(format!(
                    "a fixed temperature must be finite and > 0, got {eps}"
                )))
            }
        }
    }
}

/// Lower bound on KL(vMF_ε ‖ U): G(d/2, d/2, κ)/ε − Φ⁺(ε, d) with κ = 1/ε, written in the
/// reference's operation order so that the find-eps root reproduces it.
///
/// NaN at d = 2, where Φ⁺ contains 0·ln 0 (the reference gives NaN there as well).
pub fn kl_lower_bound(eps: f64, d: usize) -> f64 {
    let half = d as f64 / 2.0;
    amos_g(half, half, 1.0 / eps) / eps - phi_plus(eps, d)
}

/// Upper bound on KL(vMF_ε ‖ U): G(ν, ν, κ)/ε − Φ⁻(ε, d) with ν = d/2 − 1 and κ = 1/ε.
pub fn kl_upper_bound(eps: f64, d: usize) -> f64 {
    let nu = d as f64 / 2.0 - 1.0;
    amos_g(nu, nu, 1.0 / eps) / eps - phi_minus(eps, d)
}

/// The Amos bound κ / (α + √(κ² + β²)) on the Bessel ratio.
fn amos_g(alpha: f64, beta: f64, kappa: f64) -> f64 {
    kappa / (alpha + (kappa * kappa + beta * beta).sqrt())
}

/// Lower Amos envelope of ln Z_d(ε).
fn phi_minus(eps: f64, d: usize) -> f64 {
    let inv = 1.0 / eps;
    let half = d as f64 / 2.0;
    let root = (inv * inv + half * half).sqrt();
    root - half + half * libm::log(d as f64 / (half + root))
}

/// Upper Amos envelope of ln Z_d(ε); singular at d = 2.
fn phi_plus(eps: f64, d: usize) -> f64 {
    let nu = d as f64 / 2.0 - 1.0;
    let inv = 1.0 / eps;
    let root = (inv * inv + nu * nu).sqrt();
    root - nu + nu * libm::log((d as f64 - 2.0) / (nu + root))
}

/// The exact KL(vMF_ε ‖ U) = A_ν(κ)/ε − ln Z_d(ε), with ν = d/2 − 1, κ = 1/ε, A_ν = I_{ν+1}/I_ν and
/// Z_d the vMF normaliser relative to the uniform probability measure.
///
/// Relative error below 1e-13 against 40-digit mpmath for every d in 2..=16384 and ε in [1e-6, 1]
/// (it stays finite and accurate well outside that range too). NaN for d < 2 or ε not positive.
pub fn kl_exact(eps: f64, d: usize) -> f64 {
    if d < 2 || eps.is_nan() || eps <= 0.0 {
        return f64::NAN;
    }
    kl_exact_from(d as f64 / 2.0 - 1.0, 1.0 / eps, DEBYE_MIN_ORDER)
}

// ---- Exact KL ---------------------------------------------------------------------------------
//
// Z_d(ε) = Γ(ν+1)(2/κ)^ν I_ν(κ) = ₀F₁(; ν+1; κ²/4) =: F_ν(κ), so ln Z never has to be assembled
// from ν ln(2ε), ln Γ and ln I_ν, three terms of size ~1e5 at d = 16384 that cancel to a KL of a few
// units. Moreover d ln F_ν/dκ = A_ν(κ), so KL = κ (ln F_ν)' − ln F_ν, and in the Debye expansion of
// ln F_ν the terms that grow like κ drop out of that combination analytically.
//
// For ν ≥ DEBYE_MIN_ORDER the KL comes straight from the uniform (Debye) expansion of I_ν. Below,
// F and A are taken from the expansion at μ = ν + n ≥ DEBYE_MIN_ORDER and carried down n orders by
// the three-term recurrence, which is stable downwards for the ratio.

/// Orders below this are reached by downward recurrence from one at least this large.
const DEBYE_MIN_ORDER: f64 = 20.0;
/// Terms U_1..U_K of the Debye series. At μ ≥ 20 the first one dropped is below 1e-18 relative
/// (measured: 10 terms already give 1.5e-14 on the whole grid, set by rounding, not truncation).
const DEBYE_TERMS: usize = 12;
const DEBYE_LEN: usize = 3 * DEBYE_TERMS + 1;

/// Dense coefficients (in p⁰..p^{3K}) of the Debye polynomials U_0..U_K.
static DEBYE_U: [[f64; DEBYE_LEN]; DEBYE_TERMS + 1] = debye_polynomials();

/// U_0 = 1, U_{k+1}(p) = ½p²(1 − p²)U_k'(p) + ⅛∫₀ᵖ(1 − 5s²)U_k(s)ds (DLMF 10.41.9), built at
/// compile time; each coefficient is a few rounded operations away from the exact rational.
const fn debye_polynomials() -> [[f64; DEBYE_LEN]; DEBYE_TERMS + 1] {
    let mut u = [[0.0; DEBYE_LEN]; DEBYE_TERMS + 1];
    u[0][0] = 1.0;
    let mut k = 0;
    while k < DEBYE_TERMS {
        let mut i = 0;
        while i <= 3 * k {
            let a = u[k][i];
            let fi = i as f64;
            u[k + 1][i + 1] += 0.5 * fi * a + a / (8.0 * (fi + 1.0));
            u[k + 1][i + 3] -= 0.5 * fi * a + 5.0 * a / (8.0 * (fi + 3.0));
            i += 1;
        }
        k += 1;
    }
    u
}

/// B_{2k} / (2k(2k − 1)), k = 1..8: the Stirling series of ln Γ.
const STIRLING: [f64; 8] = [
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360360.0,
    1.0 / 156.0,
    -3617.0 / 122400.0,
];

/// ln Γ(μ+1) − (μ + ½) ln μ + μ − ½ ln 2π, for μ ≥ DEBYE_MIN_ORDER only: the first omitted term,
/// |B_18|/(18·17·μ^17), is below 2e-23 there, so the remainder is exact to rounding (~1e-19
/// absolute); it is the only piece of ln Γ the KL needs.
fn stirling_remainder(mu: f64) -> f64 {
    let x = 1.0 / mu;
    let x2 = x * x;
    STIRLING.iter().rev().fold(0.0, |acc, &c| acc * x2 + c) * x
}

/// Order-μ quantities at argument κ from the Debye expansion (valid uniformly in κ for large μ).
struct Debye {
    /// The KL at order μ, i.e. in dimension 2μ + 2.
    kl: f64,
    /// κ A_μ(κ).
    kappa_a: f64,
    /// κ (1 − A_μ(κ)), accurate where A_μ → 1.
    b: f64,
    /// ln F_μ(κ).
    ln_f: f64,
    /// ln F_μ(κ) − κ, accurate where ln F_μ ≈ κ.
    ln_f_minus_kappa: f64,
}

/// With r = √(μ² + κ²), p = μ/r, t = (r − μ)/μ and u(p) = Σ U_k(p)/μ^k, DLMF 10.41.3 gives
/// ln F_μ = S(μ) + (r − μ) − μ ln(1 + t/2) − ½ ln(1 + t) + ln u, S the Stirling remainder, and hence
/// κ A_μ = (r − μ) − ½(1 − p²) − p(1 − p²) u'/u. Their difference, the KL, has no r − μ term.
fn debye(mu: f64, kappa: f64) -> Debye {
    let r = libm::hypot(mu, kappa);
    let p = mu / r;
    // 1 − p² and r − μ are formed without subtracting nearly equal numbers.
    let q = (kappa / r) * (kappa / r);
    let r_minus_mu = kappa * (kappa / (r + mu));
    let t = r_minus_mu / mu;
    // κ − (r − μ) = μ (1 − μ/(κ + r)), again without cancellation when κ ≫ μ.
    let kappa_minus_r_plus_mu = mu * (1.0 - mu / (kappa + r));

    // u − 1 rather than u, so that ln u keeps full relative accuracy when u ≈ 1.
    let mut u_minus_1 = 0.0;
    let mut du = 0.0;
    let mut inv_mu_k = 1.0;
    for (k, coeffs) in DEBYE_U.iter().enumerate().skip(1) {
        inv_mu_k /= mu;
        let (mut v, mut dv) = (0.0, 0.0);
        for &c in coeffs[..=3 * k].iter().rev() {
            dv = dv * p + v;
            v = v * p + c;
        }
        u_minus_1 += v * inv_mu_k;
        du += dv * inv_mu_k;
    }
    let ln_u = libm::log1p(u_minus_1);
    let drift = p * q * du / (1.0 + u_minus_1);

    let s = stirling_remainder(mu);
    let log_terms = mu * libm::log1p(0.5 * t) + 0.5 * libm::log1p(t);
    Debye {
        kl: log_terms - 0.5 * q - drift - ln_u - s,
        kappa_a: r_minus_mu - 0.5 * q - drift,
        b: kappa_minus_r_plus_mu + 0.5 * q + drift,
        ln_f: s + r_minus_mu - log_terms + ln_u,
        ln_f_minus_kappa: s - kappa_minus_r_plus_mu - log_terms + ln_u,
    }
}

/// The exact KL at order ν = d/2 − 1 and κ = 1/ε, using the Debye expansion at orders ≥ `min_order`.
fn kl_exact_from(nu: f64, kappa: f64, min_order: f64) -> f64 {
    if nu >= min_order {
        return debye(nu, kappa).kl;
    }
    // ν is an integer or half-integer, so μ = ν + steps lands on min_order or just above it.
    let steps = (min_order - nu).ceil() as usize;
    let mu = nu + steps as f64;
    let top = debye(mu, kappa);

    // Downwards, with j + 1 the order above: A_j = κ/(2(j+1) + κA_{j+1}), and F_{j+1}/F_j =
    // 2(j+1)A_j/κ = 1/(1 + κA_{j+1}/(2(j+1))). The same step for κ(1 − A_j) keeps it accurate when
    // A → 1; its numerator 2(j+1) − κ(1 − A_{j+1}) stays above (j+1)/2, so no digits are lost.
    let mut kappa_a = top.kappa_a;
    let mut b = top.b;
    let mut ln_f_drop = 0.0; // ln F_ν − ln F_μ
    for i in 0..steps {
        let two_j1 = 2.0 * (mu - i as f64);
        let den = two_j1 + kappa_a;
        ln_f_drop += libm::log1p(kappa_a / two_j1);
        b = kappa * ((two_j1 - b) / den);
        kappa_a = kappa * (kappa / den);
    }
    // κA_ν and ln F_ν both grow like κ once κ ≫ ν; subtracting κ from each first avoids losing
    // log10(κ/KL) digits (five at κ = 1e6, d = 2).
    if kappa <= mu {
        kappa_a - top.ln_f - ln_f_drop
    } else {
        -b - top.ln_f_minus_kappa - ln_f_drop
    }
}

// ---- Root finding -----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Tolerance {
    xtol: f64,
    rtol: f64,
    max_iter: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum SolveFailure {
    /// The function is still below the target at the low end of the bracket.
    BelowTargetAtLow,
    /// The function is still above the target at the high end of the bracket.
    AboveTargetAtHigh,
    NoConvergence,
}

/// Solves `kl(ε) = target` for a decreasing `kl` on `bracket`, with the bracket checks of the
/// reference `_solve_monotone`.
fn solve_decreasing(
    kl: impl Fn(f64) -> f64,
    target: f64,
    (lo, hi): (f64, f64),
    tol: Tolerance,
) -> Result<f64, SolveFailure> {
    let f = |eps: f64| kl(eps) - target;
    let (f_lo, f_hi) = (f(lo), f(hi));
    if f_lo < 0.0 {
        return Err(SolveFailure::BelowTargetAtLow);
    }
    if f_hi > 0.0 {
        return Err(SolveFailure::AboveTargetAtHigh);
    }
    if f_lo.is_nan() || f_hi.is_nan() {
        return Err(SolveFailure::NoConvergence);
    }
    brent(f, (lo, f_lo), (hi, f_hi), tol).ok_or(SolveFailure::NoConvergence)
}

/// Brent–Dekker root finding, laid out step for step like scipy's `brentq` (C version by Charles
/// Harris): inverse quadratic extrapolation or secant when it shrinks the bracket fast enough,
/// bisection otherwise. Stops when half the bracket is below (xtol + rtol·|x|)/2. `a` and `b` carry
/// their already computed function values, which must not have the same sign.
fn brent(
    mut f: impl FnMut(f64) -> f64,
    (xa, fa): (f64, f64),
    (xb, fb): (f64, f64),
    tol: Tolerance,
) -> Option<f64> {
    let (mut xpre, mut fpre) = (xa, fa);
    let (mut xcur, mut fcur) = (xb, fb);
    if fpre == 0.0 {
        return Some(xpre);
    }
    if fcur == 0.0 {
        return Some(xcur);
    }
    if fpre.is_sign_negative() == fcur.is_sign_negative() {
        return None;
    }
    // xblk is the far end of the bracket; spre and scur the steps before last and last.
    let (mut xblk, mut fblk, mut spre, mut scur) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    for _ in 0..tol.max_iter {
        if fpre != 0.0 && fcur != 0.0 && fpre.is_sign_negative() != fcur.is_sign_negative() {
            xblk = xpre;
            fblk = fpre;
            spre = xcur - xpre;
            scur = spre;
        }
        if fblk.abs() < fcur.abs() {
            // Keep the smaller residual in xcur; the old best becomes the previous point.
            xpre = xcur;
            fpre = fcur;
            std::mem::swap(&mut xcur, &mut xblk);
            std::mem::swap(&mut fcur, &mut fblk);
        }

        let delta = (tol.xtol + tol.rtol * xcur.abs()) / 2.0;
        let sbis = (xblk - xcur) / 2.0;
        if fcur == 0.0 || sbis.abs() < delta {
            return Some(xcur);
        }

        if spre.abs() > delta && fcur.abs() < fpre.abs() {
            let stry = if xpre == xblk {
                -fcur * (xcur - xpre) / (fcur - fpre)
            } else {
                let dpre = (fpre - fcur) / (xpre - xcur);
                let dblk = (fblk - fcur) / (xblk - xcur);
                -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            };
            // Accept only a step that at least halves the one before last and stays well
            // inside the bracket; otherwise the guaranteed progress of bisection wins.
            let limit = spre.abs().min(3.0 * sbis.abs() - delta);
            if 2.0 * stry.abs() < limit {
                spre = scur;
                scur = stry;
            } else {
                spre = sbis;
                scur = sbis;
            }
        } else {
            spre = sbis;
            scur = sbis;
        }

        xpre = xcur;
        fpre = fcur;
        // Never step by less than the tolerance, or the bracket could stall.
        xcur += if scur.abs() > delta {
            scur
        } else if sbis > 0.0 {
            delta
        } else {
            -delta
        };
        fcur = f(xcur);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/calibration.json");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).expect("calibration.json parses")
    }

    fn records<'a>(fx: &'a Value, key: &str) -> &'a [Value] {
        fx[key].as_array().expect("fixture list")
    }

    fn usize_of(rec: &Value, key: &str) -> usize {
        rec[key].as_u64().expect("integer field") as usize
    }

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn find_eps_matches_reference_and_fails_where_it_raises() {
        let fx = fixture();
        let mut worst = 0.0_f64;
        for rec in records(&fx, "calibration") {
            let (m, d) = (usize_of(rec, "m"), usize_of(rec, "d"));
            let ours = temperature(Calibration::FindEps, m, d);
            match rec["find_eps"].as_f64() {
                Some(want) => {
                    let got = ours.unwrap_or_else(|e| panic!("m={m} d={d}: {e}"));
                    worst = worst.max(rel(got, want));
                    assert!(rel(got, want) <= 1e-9, "m={m} d={d}: {got} vs {want}");
                }
                None => {
                    assert!(rec["find_eps_error"].is_string(), "m={m} d={d}");
                    assert!(
                        ours.is_err(),
                        "m={m} d={d}: reference raised, we gave {ours:?}"
                    );
                }
            }
        }
        eprintln!("find-eps vs reference: max relative difference {worst:.2e}");
    }

    #[test]
    fn exact_matches_scipy_where_it_answers_and_mpmath_everywhere() {
        let fx = fixture();
        let mut worst_scipy = 0.0_f64;
        for rec in records(&fx, "calibration") {
            let (m, d) = (usize_of(rec, "m"), usize_of(rec, "d"));
            let got = temperature(Calibration::Exact, m, d)
                .unwrap_or_else(|e| panic!("m={m} d={d}: {e}"));
            if let Some(want) = rec["exact"].as_f64() {
                worst_scipy = worst_scipy.max(rel(got, want));
                assert!(rel(got, want) <= 1e-8, "m={m} d={d}: {got} vs scipy {want}");
            }
        }
        let mut worst_mp = 0.0_f64;
        let roots = records(&fx, "mp_exact_eps");
        assert!(roots.iter().any(|r| usize_of(r, "d") == 16384));
        for rec in roots {
            let (m, d) = (usize_of(rec, "m"), usize_of(rec, "d"));
            let want = rec["eps"].as_f64().unwrap();
            let got = temperature(Calibration::Exact, m, d).unwrap();
            worst_mp = worst_mp.max(rel(got, want));
            assert!(
                rel(got, want) <= 1e-8,
                "m={m} d={d}: {got} vs mpmath {want}"
            );
        }
        eprintln!("exact eps: max relative difference {worst_scipy:.2e} vs scipy, {worst_mp:.2e} vs mpmath");
        assert!(
            worst_mp <= 1e-12,
            "solved tighter than the test bound: {worst_mp:e}"
        );
    }

    #[test]
    fn kl_bounds_match_reference() {
        let fx = fixture();
        for rec in records(&fx, "kl") {
            let (d, eps) = (usize_of(rec, "d"), rec["eps"].as_f64().unwrap());
            for (key, got) in [
                ("lower", kl_lower_bound(eps, d)),
                ("upper", kl_upper_bound(eps, d)),
            ] {
                match rec[key].as_f64() {
                    Some(want) => assert!(
                        rel(got, want) <= 1e-10,
                        "{key} d={d} eps={eps}: {got} vs {want}"
                    ),
                    None => assert!(got.is_nan(), "{key} d={d} eps={eps}: {got}"),
                }
            }
        }
    }

    #[test]
    fn kl_exact_matches_mpmath_and_scipy() {
        let fx = fixture();
        let (mut worst_mp, mut worst_scipy) = (0.0_f64, 0.0_f64);
        for rec in records(&fx, "kl") {
            let (d, eps) = (usize_of(rec, "d"), rec["eps"].as_f64().unwrap());
            let got = kl_exact(eps, d);
            let mp = rec["exact_mp"].as_f64().unwrap();
            worst_mp = worst_mp.max(rel(got, mp));
            assert!(
                rel(got, mp) <= 1e-9,
                "d={d} eps={eps}: {got} vs mpmath {mp}"
            );
            // A negative KL from scipy is `ive` underflow (d = 576, eps = 0.05 gives -0.347
            // against the true 0.347); everywhere else scipy is within its rounding of mpmath.
            if let Some(scipy) = rec["exact_scipy"].as_f64().filter(|v| *v >= 0.0) {
                worst_scipy = worst_scipy.max(rel(got, scipy));
                assert!(
                    rel(got, scipy) <= 1e-10,
                    "d={d} eps={eps}: {got} vs scipy {scipy}"
                );
            }
        }
        eprintln!("exact KL: max relative difference {worst_mp:.2e} vs mpmath, {worst_scipy:.2e} vs scipy");
        assert!(worst_mp <= 1e-13, "{worst_mp:e}");
    }

    #[test]
    fn scipy_exact_kl_is_garbage_where_ive_underflows() {
        let fx = fixture();
        let rec = records(&fx, "kl")
            .iter()
            .find(|r| usize_of(r, "d") == 576 && r["eps"].as_f64() == Some(0.05))
            .unwrap();
        assert!(rec["exact_scipy"].as_f64().unwrap() < 0.0);
        assert!(rel(kl_exact(0.05, 576), rec["exact_mp"].as_f64().unwrap()) <= 1e-13);
    }

    #[test]
    fn leading_order_is_the_reference_formula() {
        let fx = fixture();
        for rec in records(&fx, "calibration") {
            let (m, d) = (usize_of(rec, "m"), usize_of(rec, "d"));
            let want = rec["leading_order"].as_f64().unwrap();
            let got = temperature(Calibration::LeadingOrder, m, d).unwrap();
            assert!(rel(got, want) <= 1e-15, "m={m} d={d}: {got} vs {want}");
            let formula = 1.0 / (2.0 * d as f64 * (m as f64).ln()).sqrt();
            assert!(rel(got, formula) <= 1e-15);
        }
    }

    #[test]
    fn exact_in_d3_is_two_over_e_m() {
        // KL(ε, 3) = ln(2κ/e) + O(κ e^{−2κ}), so ε = 2/(e·m) up to a relative (2κ+1)e^{−2κ}: within
        // 1e-6 from m = 8 on (mpmath: 8e-9 at m = 8, 1.4e-6 at m = 6, 3e-2 at m = 2).
        let fx = fixture();
        for rec in records(&fx, "mp_exact_eps")
            .iter()
            .filter(|r| usize_of(r, "d") == 3)
        {
            let m = usize_of(rec, "m");
            let closed = 2.0 / (std::f64::consts::E * m as f64);
            let mp = rec["eps"].as_f64().unwrap();
            assert_eq!(rel(closed, mp) <= 1e-6, m >= 8, "m={m}: {closed} vs {mp}");
            if m >= 8 {
                let got = temperature(Calibration::Exact, m, 3).unwrap();
                assert!(rel(got, closed) <= 1e-6, "m={m}: {got} vs {closed}");
            }
        }
    }

    #[test]
    fn method_md_appendix_a_rows() {
        let close = |got: f64, want: f64| rel(got, want) <= 1e-5;
        let find = temperature(Calibration::FindEps, 100, 64).unwrap();
        assert!(close(find, 0.0362299), "{find}");
        let exact = temperature(Calibration::Exact, 100, 64).unwrap();
        assert!(close(exact, 0.0370495), "{exact}");
        let exact3 = temperature(Calibration::Exact, 100, 3).unwrap();
        assert!(close(exact3, 0.00735759), "{exact3}");
        let lead = temperature(Calibration::LeadingOrder, 100, 64).unwrap();
        assert!(close(lead, 0.0411881), "{lead}");
    }

    #[test]
    fn error_messages() {
        let msg = |c, m, d| temperature(c, m, d).unwrap_err().to_string();
        assert_eq!(
            msg(Calibration::FindEps, 100, 2),
            "find-eps needs d > 2 (the bound is singular at d = 2); use --calibration exact"
        );
        assert_eq!(
            msg(Calibration::FindEps, 256, 3),
            "find-eps cannot calibrate d = 3 with 256 bins (the lower KL bound never reaches \
             ln 256 on [1e-5, 1]); use --calibration exact or --eps"
        );
        assert_eq!(
            msg(Calibration::Exact, 1, 64),
            "calibration needs at least 2 bins, got 1"
        );
        assert_eq!(
            msg(Calibration::LeadingOrder, 100, 1),
            "calibration needs d >= 2, got d = 1"
        );
        assert_eq!(
            msg(Calibration::Fixed(-1.0), 100, 64),
            "a fixed temperature must be finite and > 0, got -1"
        );
        assert_eq!(
            msg(Calibration::Fixed(f64::NAN), 100, 64),
            "a fixed temperature must be finite and > 0, got NaN"
        );
        // The exact KL in d = 2 only reaches ~7.3 at eps = 1e-6, so ~1500 bins is the limit there.
        assert_eq!(
            msg(Calibration::Exact, 2000, 2),
            "exact calibration cannot calibrate d = 2 with 2000 bins (the KL stays below ln 2000 \
             on [1e-6, 1]); use --eps"
        );
        assert_eq!(
            Calibration::parse("bounds").unwrap_err().to_string(),
            "unknown calibration \"bounds\"; expected find-eps, exact or leading-order (or give --eps)"
        );
        for m in [2, 100] {
            assert!(msg(Calibration::FindEps, m, 2).contains("--calibration exact"));
        }
    }

    #[test]
    fn fixed_passes_through() {
        assert_eq!(temperature(Calibration::Fixed(0.05), 100, 64), Ok(0.05));
        assert!(temperature(Calibration::Fixed(0.0), 100, 64).is_err());
        assert!(temperature(Calibration::Fixed(f64::INFINITY), 100, 64).is_err());
    }

    #[test]
    fn parse_and_serde_names() {
        for (s, c) in [
            ("find-eps", Calibration::FindEps),
            ("find_eps", Calibration::FindEps),
            ("exact", Calibration::Exact),
            ("leading-order", Calibration::LeadingOrder),
            ("leading_order", Calibration::LeadingOrder),
        ] {
            assert_eq!(Calibration::parse(s), Ok(c));
            assert_eq!(s.parse::<Calibration>(), Ok(c));
        }
        for (c, json) in [
            (Calibration::FindEps, r#""find-eps""#),
            (Calibration::Exact, r#""exact""#),
            (Calibration::LeadingOrder, r#""leading-order""#),
            (Calibration::Fixed(0.05), r#"{"fixed":0.05}"#),
        ] {
            assert_eq!(serde_json::to_string(&c).unwrap(), json);
            assert_eq!(serde_json::from_str::<Calibration>(json).unwrap(), c);
        }
    }

    #[test]
    fn exact_kl_is_finite_positive_and_decreasing_everywhere() {
        let mut dims: Vec<usize> = (2..=64).collect();
        let mut d = 64.0_f64;
        while d < 16384.0 {
            d *= 1.37;
            dims.push((d as usize).min(16384));
        }
        for &d in &dims {
            let mut prev = f64::INFINITY;
            for i in 0..=120 {
                let eps = 10f64.powf(-6.0 + 0.05 * i as f64);
                let kl = kl_exact(eps, d);
                assert!(kl.is_finite() && kl > 0.0, "d={d} eps={eps}: {kl}");
                assert!(kl < prev, "d={d} eps={eps}: {kl} !< {prev}");
                prev = kl;
            }
        }
    }

    #[test]
    fn debye_and_recurrence_paths_agree() {
        // The same KL from the expansion at order ≥ 20 carried down, and at order ≥ 60: a check of
        // the recurrence, the κ ≶ μ switch and the expansion's truncation independent of mpmath.
        // Carrying down 120 orders costs digits (1.2e-13 at d = 2, κ = 2e4), hence the 3e-13.
        for d in [2, 3, 5, 10, 17, 30, 41, 42, 43, 60, 100] {
            let nu = d as f64 / 2.0 - 1.0;
            for i in 0..=60 {
                let kappa = 10f64.powf(0.1 * i as f64);
                let a = kl_exact_from(nu, kappa, DEBYE_MIN_ORDER);
                let b = kl_exact_from(nu, kappa, 60.0);
                assert!(rel(a, b) <= 3e-13, "d={d} kappa={kappa}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn brent_finds_a_simple_root() {
        let tol = Tolerance {
            xtol: 1e-15,
            rtol: 1e-15,
            max_iter: 100,
        };
        let f = |x: f64| x * x - 2.0;
        let root = brent(f, (0.0, f(0.0)), (2.0, f(2.0)), tol).unwrap();
        assert!((root - std::f64::consts::SQRT_2).abs() <= 4e-15);
        assert_eq!(brent(f, (2.0, 2.0), (3.0, 7.0), tol), None);
    }
}
