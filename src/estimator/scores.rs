//! Cosine scores of unit rows against the reference points: f32 products summed in one fixed
//! order of operations. BLAS-style kernels pick FMA and SIMD widths by machine, which changes the
//! last bits; this kernel gives the same bits natively (AVX or plain x86-64) and in wasm (with or
//! without simd128), so the page and the CLI agree exactly.
//!
//! Why f32: the scores are the estimator's one large cost (rows × d × bins multiply-adds), and f32
//! doubles the SIMD width. The reference package itself computes in float32 when handed float32
//! rows (its usual input); its float64 path differs from the f32 one by ~1e-8 in the reported
//! numbers, far inside the 1e-6 the parity tests hold (`tests/golden.rs`).
//!
//! Rows of at most [`F64_MAX_DIM`] values are scored in f64 instead, by the same code: there the
//! products cost nothing next to reading the rows, and the calibrated ε is sharp (1.4e-3 for
//! find-eps at d = 3, m = 10), so f32 rounding of the unit rows would move the reported numbers by
//! up to 5e-7.
//!
//! The order: each dot product keeps 8 running partial sums (element i goes to lane
//! i mod 8 while a whole chunk of 8 remains; the remainder goes to lanes 0.. in order), every
//! product rounded to f32 before it is added (no FMA: wasm has none that is deterministic), and
//! the lanes are combined as ((0+1)+(2+3))+((4+5)+(6+7)). The tile shapes (how many rows and
//! points are scored together) differ by target to fit its registers; they do not change a bit.
//! (Scoring long rows in panels that stay in the first-level cache, with the partial sums kept in
//! memory between panels, was tried at d = 2048: 1.5 times slower natively, no faster in wasm.)

use std::ops::{Add, AddAssign, Mul};

/// Partial sums per dot product: one AVX register of f32, or two of wasm simd128.
const LANES: usize = 8;

/// Rows this short are scored in f64 (see the module's documentation).
pub const F64_MAX_DIM: usize = 32;

/// What the kernel multiplies: f32, or f64 for short rows. Each type picks its fastest kernel.
pub trait Element: Copy + Default + Add<Output = Self> + Mul<Output = Self> + AddAssign {
    fn to_f64(self) -> f64;
    /// [`cosine_scores`] for this type.
    fn scores(z: &[Self], w: &[Self], d: usize, out: &mut [f64]);
}

impl Element for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn scores(z: &[f32], w: &[f32], d: usize, out: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            drive::<f32, x86::Avx, 6, 2>(z, w, d, out);
            return;
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            drive::<f32, wasm::Simd128, 4, 2>(z, w, d, out);
            return;
        }
        #[allow(unreachable_code)]
        drive::<f32, Portable, 4, 2>(z, w, d, out);
    }
}

impl Element for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    fn scores(z: &[f64], w: &[f64], d: usize, out: &mut [f64]) {
        drive::<f64, Portable, 4, 2>(z, w, d, out);
    }
}

/// `out[r * m + j] = z_r · w_j` for `b = z.len() / d` rows of `z` and `m = w.len() / d` points of
/// `w`, both row-major with row length `d`.
pub fn cosine_scores<T: Element>(z: &[T], w: &[T], d: usize, out: &mut [f64]) {
    T::scores(z, w, d, out);
}

/// A way of computing the dot products of `R` rows with `P` points in the documented order.
trait Kernel<T> {
    fn tile<const R: usize, const P: usize>(rows: &[&[T]; R], pts: &[&[T]; P]) -> [[T; P]; R];
}

/// Scores in tiles of `R` rows × `P` points, the ragged edges with smaller tiles (rows in tiles
/// of 4, 2 and 1, points one at a time).
///
/// The loop over the larger of the two matrices is the outer one, so the smaller one is what is
/// read again for every tile of the larger and stays in cache: the estimator's blocks of rows
/// sweep its 100 points once per row tile, while a forward pass's few tokens are swept once per
/// pair of weight rows and each weight matrix is read from memory once (reading it once per
/// tile of tokens had made the forward pass memory-bound). The order of the tiles changes no bit.
#[inline(always)]
fn drive<T: Element, K: Kernel<T>, const R: usize, const P: usize>(
    z: &[T],
    w: &[T],
    d: usize,
    out: &mut [f64],
) {
    if d == 0 {
        out.fill(0.0);
        return;
    }
    let b = z.len() / d;
    let m = w.len() / d;
    assert_eq!(out.len(), b * m, "scores: output of the wrong size");
    let rows = row_tiles::<R>(b);
    let points = (0..m / P)
        .map(|t| (t * P, P))
        .chain((m / P * P..m).map(|j| (j, 1)));
    let mut one = |(r, rs): (usize, usize), (j, ps): (usize, usize)| {
        let at = Tile { d, m, r, j };
        match (rs, ps) {
            (x, y) if x == R && y == P => at.score::<T, K, R, P>(z, w, out),
            (x, _) if x == R => at.score::<T, K, R, 1>(z, w, out),
            (4, y) if y == P => at.score::<T, K, 4, P>(z, w, out),
            (4, _) => at.score::<T, K, 4, 1>(z, w, out),
            (2, y) if y == P => at.score::<T, K, 2, P>(z, w, out),
            (2, _) => at.score::<T, K, 2, 1>(z, w, out),
            (_, y) if y == P => at.score::<T, K, 1, P>(z, w, out),
            _ => at.score::<T, K, 1, 1>(z, w, out),
        }
    };
    if b >= m {
        for &rt in &rows {
            for pt in points.clone() {
                one(rt, pt);
            }
        }
    } else {
        for pt in points {
            for &rt in &rows {
                one(rt, pt);
            }
        }
    }
}

/// `(first row, rows)` of each row tile: tiles of `R`, then what is left in tiles of 4, 2 and 1
/// (a forward pass's 16 tokens would otherwise sweep the points once per leftover row).
fn row_tiles<const R: usize>(b: usize) -> Vec<(usize, usize)> {
    let mut tiles: Vec<(usize, usize)> = (0..b / R).map(|t| (t * R, R)).collect();
    let mut r = b / R * R;
    for size in [4, 2] {
        if R > size && b - r >= size {
            tiles.push((r, size));
            r += size;
        }
    }
    tiles.extend((r..b).map(|r| (r, 1)));
    tiles
}

/// Where a tile sits: row length `d`, `m` points in all, its first row `r` and first point `j`.
#[derive(Clone, Copy)]
struct Tile {
    d: usize,
    m: usize,
    r: usize,
    j: usize,
}

impl Tile {
    /// Rows `r .. r + RR` against points `j .. j + PP`, written to `out`.
    #[inline(always)]
    fn score<T: Element, K: Kernel<T>, const RR: usize, const PP: usize>(
        self,
        z: &[T],
        w: &[T],
        out: &mut [f64],
    ) {
        let Tile { d, m, r, j } = self;
        let rows: [&[T]; RR] = std::array::from_fn(|k| &z[(r + k) * d..(r + k + 1) * d]);
        let pts: [&[T]; PP] = std::array::from_fn(|p| &w[(j + p) * d..(j + p + 1) * d]);
        let dots = K::tile(&rows, &pts);
        for (k, row) in dots.iter().enumerate() {
            for (p, &v) in row.iter().enumerate() {
                out[(r + k) * m + j + p] = v.to_f64();
            }
        }
    }
}

/// The lanes combined as ((0+1)+(2+3))+((4+5)+(6+7)).
#[inline(always)]
fn combine<T: Element>(s: [T; LANES]) -> T {
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// Plain Rust, one element at a time: f64, and f32 where no vector kernel applies.
struct Portable;

impl<T: Element> Kernel<T> for Portable {
    #[inline(always)]
    fn tile<const R: usize, const P: usize>(rows: &[&[T]; R], pts: &[&[T]; P]) -> [[T; P]; R] {
        let d = pts[0].len();
        let mut acc = [[[T::default(); LANES]; P]; R];
        let chunks = d / LANES;
        for c in 0..chunks {
            let at = c * LANES;
            for (a, row) in acc.iter_mut().zip(rows) {
                let zc = &row[at..at + LANES];
                for (ap, wp) in a.iter_mut().zip(pts) {
                    let wc = &wp[at..at + LANES];
                    for l in 0..LANES {
                        ap[l] += zc[l] * wc[l];
                    }
                }
            }
        }
        let tail = chunks * LANES;
        for (a, row) in acc.iter_mut().zip(rows) {
            for (ap, wp) in a.iter_mut().zip(pts) {
                for (l, i) in (tail..d).enumerate() {
                    ap[l] += row[i] * wp[i];
                }
            }
        }
        acc.map(|a| a.map(combine))
    }
}

/// The last `d mod 8` elements of a row, zero-padded to a whole chunk. Rows and points are both
/// padded, so a padded lane adds 0 × 0 = +0 to its sum, which leaves it unchanged (a sum that
/// starts at +0 is never −0), and the vector kernels may add whole chunks and still give the
/// portable kernel's bits.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
#[inline(always)]
fn padded(row: &[f32], tail: usize) -> [f32; LANES] {
    let mut out = [0.0f32; LANES];
    out[..row.len() - tail].copy_from_slice(&row[tail..]);
    out
}

/// AVX: one chunk of 8 partial sums per 256-bit register, multiply and add separate (no FMA).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{combine, padded, Kernel, LANES};
    use std::arch::x86_64::*;

    pub struct Avx;

    impl Kernel<f32> for Avx {
        #[inline(always)]
        fn tile<const R: usize, const P: usize>(
            rows: &[&[f32]; R],
            pts: &[&[f32]; P],
        ) -> [[f32; P]; R] {
            // SAFETY: `Avx` is private to this module's parent, which uses it only after
            // `is_x86_feature_detected!("avx")` (checked again here in debug builds).
            debug_assert!(std::arch::is_x86_feature_detected!("avx"));
            unsafe { tile_avx(rows, pts) }
        }
    }

    #[target_feature(enable = "avx")]
    unsafe fn tile_avx<const R: usize, const P: usize>(
        rows: &[&[f32]; R],
        pts: &[&[f32]; P],
    ) -> [[f32; P]; R] {
        let d = pts[0].len();
        for v in rows.iter().chain(pts) {
            assert_eq!(v.len(), d, "rows and points of different lengths");
        }
        let mut acc = [[_mm256_setzero_ps(); P]; R];
        let mut w = [_mm256_setzero_ps(); P];
        let chunks = d / LANES;
        for c in 0..chunks {
            let at = c * LANES;
            for p in 0..P {
                // SAFETY: at + 8 <= d, the length of every point and row (checked above).
                w[p] = unsafe { _mm256_loadu_ps(pts[p].as_ptr().add(at)) };
            }
            for r in 0..R {
                // SAFETY: as above.
                let z = unsafe { _mm256_loadu_ps(rows[r].as_ptr().add(at)) };
                for p in 0..P {
                    acc[r][p] = _mm256_add_ps(acc[r][p], _mm256_mul_ps(z, w[p]));
                }
            }
        }
        let tail = chunks * LANES;
        if tail < d {
            for p in 0..P {
                let wp = padded(pts[p], tail);
                // SAFETY: an array of 8 f32.
                w[p] = unsafe { _mm256_loadu_ps(wp.as_ptr()) };
            }
            for r in 0..R {
                let zr = padded(rows[r], tail);
                // SAFETY: an array of 8 f32.
                let z = unsafe { _mm256_loadu_ps(zr.as_ptr()) };
                for p in 0..P {
                    acc[r][p] = _mm256_add_ps(acc[r][p], _mm256_mul_ps(z, w[p]));
                }
            }
        }
        let mut out = [[0.0f32; P]; R];
        for r in 0..R {
            for p in 0..P {
                let mut lanes = [0.0f32; LANES];
                // SAFETY: an array of 8 f32.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][p]) };
                out[r][p] = combine(lanes);
            }
        }
        out
    }
}

/// wasm simd128: each chunk of 8 partial sums in two 128-bit registers, multiply and add separate.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::{combine, padded, Kernel, LANES};
    use core::arch::wasm32::*;

    pub struct Simd128;

    /// `v[at..at + 4]`, unchecked: the caller has checked that `at + 4 <= v.len()`.
    ///
    /// # Safety
    /// `at + 4 <= v.len()`.
    #[inline(always)]
    unsafe fn load4(v: &[f32], at: usize) -> v128 {
        debug_assert!(at + 4 <= v.len());
        // SAFETY: in bounds by the caller's promise; unaligned loads are allowed in wasm.
        unsafe { v128_load(v.as_ptr().add(at).cast()) }
    }

    /// `acc[r][p] += rows[r][at..at + 4] * pts[p][at..at + 4]`, lane by lane, a product rounded
    /// before it is added.
    ///
    /// # Safety
    /// `at + 4 <=` the length of every row and point.
    #[inline(always)]
    unsafe fn add_products<const R: usize, const P: usize>(
        acc: &mut [[v128; P]; R],
        rows: &[&[f32]; R],
        pts: &[&[f32]; P],
        at: usize,
    ) {
        // SAFETY: the caller's promise.
        let w: [v128; P] = std::array::from_fn(|p| unsafe { load4(pts[p], at) });
        for r in 0..R {
            // SAFETY: as above.
            let z = unsafe { load4(rows[r], at) };
            for p in 0..P {
                acc[r][p] = f32x4_add(acc[r][p], f32x4_mul(z, w[p]));
            }
        }
    }

    impl Kernel<f32> for Simd128 {
        #[inline(always)]
        fn tile<const R: usize, const P: usize>(
            rows: &[&[f32]; R],
            pts: &[&[f32]; P],
        ) -> [[f32; P]; R] {
            let d = pts[0].len();
            for v in rows.iter().chain(pts) {
                assert_eq!(v.len(), d, "rows and points of different lengths");
            }
            let zero = f32x4_splat(0.0);
            let chunks = d / LANES;
            let tail = chunks * LANES;
            // One half of every chunk (lanes 0-3, then lanes 4-7) at a time: only that half's
            // R × P accumulators are live, with P point registers and one row register, so a
            // tile of 4 rows × 2 points fits x86's 16 vector registers under V8 (with both
            // halves live, 2 × 2 was the most that did; 4 × 2 this way scores 1.27 times as fast
            // at d = 768 in Chromium). Each lane still takes its elements in order.
            // `half`: the chunks `first..end` for half `h`, on top of that half's sums so far.
            let half = |mut acc: [[v128; P]; R], h: usize, first: usize, end: usize| {
                for c in first..end {
                    // SAFETY: c * 8 + 4 * h + 4 <= chunks * 8 <= d, the length of every row and
                    // point (checked above).
                    unsafe { add_products(&mut acc, rows, pts, c * LANES + 4 * h) };
                }
                acc
            };
            // Long rows go span by span, each half over one span before the next span: a span
            // of the tile's rows and points stays in the first-level cache for the second half
            // (at d = 2048 a whole tile is 48 KB, more than L1's 32 KB). Interleaved runs in
            // Chromium, kernel time of 3 analyses at d = 2048: 1 580-2 154 ms against 1 897-2 512
            // with one half over the whole row.
            const SPAN: usize = 64;
            let (mut low, mut high) = ([[zero; P]; R], [[zero; P]; R]);
            for first in (0..chunks).step_by(SPAN) {
                let end = (first + SPAN).min(chunks);
                low = half(low, 0, first, end);
                high = half(high, 1, first, end);
            }
            if tail < d {
                let pts: [[f32; LANES]; P] = std::array::from_fn(|p| padded(pts[p], tail));
                let rows: [[f32; LANES]; R] = std::array::from_fn(|r| padded(rows[r], tail));
                let pts: [&[f32]; P] = std::array::from_fn(|p| &pts[p][..]);
                let rows: [&[f32]; R] = std::array::from_fn(|r| &rows[r][..]);
                for (h, acc) in [&mut low, &mut high].into_iter().enumerate() {
                    // SAFETY: arrays of 8.
                    unsafe { add_products(acc, &rows, &pts, 4 * h) };
                }
            }
            let mut out = [[0.0f32; P]; R];
            for r in 0..R {
                for p in 0..P {
                    let (lo, hi) = (low[r][p], high[r][p]);
                    out[r][p] = combine([
                        f32x4_extract_lane::<0>(lo),
                        f32x4_extract_lane::<1>(lo),
                        f32x4_extract_lane::<2>(lo),
                        f32x4_extract_lane::<3>(lo),
                        f32x4_extract_lane::<0>(hi),
                        f32x4_extract_lane::<1>(hi),
                        f32x4_extract_lane::<2>(hi),
                        f32x4_extract_lane::<3>(hi),
                    ]);
                }
            }
            out
        }
    }
}

/// The documented order, written out one element at a time: what the kernel's tests (and
/// `model::ops::matmul_nt`'s, which uses it) check every output against.
#[cfg(test)]
pub(crate) fn by_the_book(z: &[f32], w: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let whole = z.len() / LANES * LANES;
    for i in 0..whole {
        lanes[i % LANES] += z[i] * w[i];
    }
    for (l, i) in (whole..z.len()).enumerate() {
        lanes[l] += z[i] * w[i];
    }
    let s = lanes;
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_documented_order_for_every_shape() {
        for (b, m, d) in [
            (1, 1, 1),
            (3, 5, 7),
            (4, 2, 8),
            (9, 3, 19),
            (6, 10, 64),
            (5, 7, 771),
        ] {
            let z: Vec<f32> = (0..b * d).map(|i| (i as f32 * 0.377).sin()).collect();
            let w: Vec<f32> = (0..m * d).map(|i| (i as f32 * 0.911).cos()).collect();
            let mut out = vec![0.0; b * m];
            cosine_scores(&z, &w, d, &mut out);
            for r in 0..b {
                for j in 0..m {
                    let want = by_the_book(&z[r * d..(r + 1) * d], &w[j * d..(j + 1) * d]);
                    assert_eq!(out[r * m + j], f64::from(want), "{b} {m} {d}: ({r}, {j})");
                    let exact: f64 = (0..d)
                        .map(|k| f64::from(z[r * d + k]) * f64::from(w[j * d + k]))
                        .sum();
                    assert!((out[r * m + j] - exact).abs() < 1e-5 * (d as f64).sqrt());
                }
            }
        }
    }

    #[test]
    fn f64_rows_are_scored_in_f64_in_the_same_order() {
        let d = 19;
        let z: Vec<f64> = (0..3 * d).map(|i| (i as f64 * 0.377).sin()).collect();
        let w: Vec<f64> = (0..5 * d).map(|i| (i as f64 * 0.911).cos()).collect();
        let mut out = vec![0.0; 15];
        cosine_scores(&z, &w, d, &mut out);
        for r in 0..3 {
            for j in 0..5 {
                let (zr, wj) = (&z[r * d..(r + 1) * d], &w[j * d..(j + 1) * d]);
                let mut lanes = [0.0f64; LANES];
                for i in 0..16 {
                    lanes[i % LANES] += zr[i] * wj[i];
                }
                for (l, i) in (16..d).enumerate() {
                    lanes[l] += zr[i] * wj[i];
                }
                let s = lanes;
                let want = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
                assert_eq!(out[r * 5 + j], want);
            }
        }
    }

    #[test]
    fn every_tile_shape_gives_the_same_bits() {
        // 11 rows: a 6-row tile, then the leftover tiles of 4 and 1 rows.
        let (b, m, d) = (11, 7, 771);
        let z: Vec<f32> = (0..b * d).map(|i| (i as f32 * 0.377).sin()).collect();
        let w: Vec<f32> = (0..m * d).map(|i| (i as f32 * 0.911).cos()).collect();
        let mut a = vec![0.0; b * m];
        for r in 0..b {
            for j in 0..m {
                let want = by_the_book(&z[r * d..(r + 1) * d], &w[j * d..(j + 1) * d]);
                a[r * m + j] = f64::from(want);
            }
        }
        type Scores = fn(&[f32], &[f32], usize, &mut [f64]);
        #[allow(unused_mut)]
        let mut kernels: Vec<(&str, Scores)> = vec![
            ("portable 1x1", drive::<f32, Portable, 1, 1>),
            ("portable 2x2", drive::<f32, Portable, 2, 2>),
            ("portable 4x2", drive::<f32, Portable, 4, 2>),
            ("portable 3x4", drive::<f32, Portable, 3, 4>),
            ("portable 6x2", drive::<f32, Portable, 6, 2>),
        ];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            kernels.push(("avx 1x1", drive::<f32, x86::Avx, 1, 1>));
            kernels.push(("avx 3x3", drive::<f32, x86::Avx, 3, 3>));
            kernels.push(("avx 4x2", drive::<f32, x86::Avx, 4, 2>));
            kernels.push(("avx 6x2", drive::<f32, x86::Avx, 6, 2>));
        }
        for (name, f) in kernels {
            let mut out = vec![0.0; b * m];
            f(&z, &w, d, &mut out);
            assert_eq!(a, out, "{name}");
        }
    }
}
