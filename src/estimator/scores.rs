//! Cosine scores of unit rows against the reference points, computed in one fixed order of
//! operations. BLAS-style kernels pick FMA and SIMD widths by machine, which changes the last bits;
//! this kernel gives the same bits natively and in wasm, so the page and the CLI agree exactly.

/// Lanes of independent partial sums per dot product: wide enough for the compiler to keep them in
/// SIMD registers (2 × AVX or 4 × SSE2 / wasm simd128), fixed so the order never depends on the target.
const LANES: usize = 8;
/// Rows scored together, so each reference point is loaded once per group instead of once per row.
const ROWS: usize = 4;

/// `out[r * m + j] = z_r · w_j` for `b = z.len() / d` rows of `z` and `m = w.len() / d` points of
/// `w`, both row-major with row length `d`.
pub fn cosine_scores(z: &[f64], w: &[f64], d: usize, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above.
        unsafe { cosine_scores_avx(z, w, d, out) };
        return;
    }
    cosine_scores_portable(z, w, d, out);
}

/// The same kernel compiled with 256-bit vectors. AVX without FMA keeps every multiply and add
/// separately rounded, so the bits equal the portable build's (and wasm's).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn cosine_scores_avx(z: &[f64], w: &[f64], d: usize, out: &mut [f64]) {
    cosine_scores_portable(z, w, d, out);
}

#[inline(always)]
fn cosine_scores_portable(z: &[f64], w: &[f64], d: usize, out: &mut [f64]) {
    let b = z.len() / d;
    let m = w.len() / d;
    debug_assert_eq!(out.len(), b * m);
    let mut r = 0;
    while r + ROWS <= b {
        let rows: [&[f64]; ROWS] = std::array::from_fn(|k| &z[(r + k) * d..(r + k + 1) * d]);
        for j in 0..m {
            let dots = dot_rows(&rows, &w[j * d..(j + 1) * d]);
            for (k, v) in dots.into_iter().enumerate() {
                out[(r + k) * m + j] = v;
            }
        }
        r += ROWS;
    }
    for r in r..b {
        let row = [&z[r * d..(r + 1) * d]];
        for j in 0..m {
            out[r * m + j] = dot_rows(&row, &w[j * d..(j + 1) * d])[0];
        }
    }
}

/// Dot products of `N` rows with one point, each summed as: `LANES` running partial sums over
/// chunks, the remainder added to lane 0.. in order, then the lanes combined pairwise.
#[inline(always)]
fn dot_rows<const N: usize>(rows: &[&[f64]; N], w: &[f64]) -> [f64; N] {
    let mut acc = [[0.0f64; LANES]; N];
    let chunks = w.len() / LANES;
    for c in 0..chunks {
        let wc = &w[c * LANES..(c + 1) * LANES];
        for (a, row) in acc.iter_mut().zip(rows) {
            let zc = &row[c * LANES..(c + 1) * LANES];
            for l in 0..LANES {
                a[l] += zc[l] * wc[l];
            }
        }
    }
    let tail = chunks * LANES;
    for (a, row) in acc.iter_mut().zip(rows) {
        for (l, i) in (tail..w.len()).enumerate() {
            a[l] += row[i] * w[i];
        }
    }
    acc.map(|a| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_dot_products_for_every_shape() {
        for (b, m, d) in [(1, 1, 1), (3, 5, 7), (4, 2, 8), (9, 3, 19), (6, 10, 64)] {
            let z: Vec<f64> = (0..b * d)
                .map(|i| ((i * 37 % 11) as f64 - 5.0) / 7.0)
                .collect();
            let w: Vec<f64> = (0..m * d)
                .map(|i| ((i * 13 % 17) as f64 - 8.0) / 5.0)
                .collect();
            let mut out = vec![0.0; b * m];
            cosine_scores(&z, &w, d, &mut out);
            for r in 0..b {
                for j in 0..m {
                    let exact: f64 = (0..d).map(|k| z[r * d + k] * w[j * d + k]).sum();
                    assert!((out[r * m + j] - exact).abs() < 1e-12, "{b} {m} {d}");
                }
            }
        }
    }

    #[test]
    fn vector_and_portable_builds_give_the_same_bits() {
        let d = 771;
        let z: Vec<f64> = (0..9 * d).map(|i| (i as f64 * 0.377).sin()).collect();
        let w: Vec<f64> = (0..7 * d).map(|i| (i as f64 * 0.911).cos()).collect();
        let (mut a, mut b) = (vec![0.0; 63], vec![0.0; 63]);
        cosine_scores(&z, &w, d, &mut a);
        cosine_scores_portable(&z, &w, d, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn grouped_and_single_rows_give_the_same_bits() {
        let d = 37;
        let z: Vec<f64> = (0..5 * d).map(|i| (i as f64 * 0.731).sin()).collect();
        let w: Vec<f64> = (0..3 * d).map(|i| (i as f64 * 1.37).cos()).collect();
        let mut all = vec![0.0; 15];
        cosine_scores(&z, &w, d, &mut all);
        for r in 0..5 {
            let mut one = vec![0.0; 3];
            cosine_scores(&z[r * d..(r + 1) * d], &w, d, &mut one);
            assert_eq!(one, all[r * 3..(r + 1) * 3]);
        }
    }
}
