//! The explainer's 2-D picture of a data set in more than three dimensions: its first two
//! principal components (PCA), the linear projection that keeps the most variance. The
//! covariance's eigenvectors come from the cyclic Jacobi method, written here because the one
//! 64 × 64 symmetric eigenproblem does not justify a linear-algebra crate (nalgebra) in the wasm,
//! and LAPACK bindings do not build for wasm32; Jacobi is exact to rounding and cubic in d, which
//! [`super::data::MAX_DIM`] bounds.

use serde::Serialize;

/// A data set drawn in 2-D.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Projection {
    /// `n × 2`: each row's coordinates on the first and second component, after centring.
    pub coordinates: Vec<f64>,
    /// `2 × d`: the components, unit vectors. Each is signed so that its entry of largest
    /// magnitude is positive (the first such entry on ties), so the picture does not flip.
    pub components: Vec<f64>,
    /// The share of the total variance each component carries.
    pub variance_ratio: [f64; 2],
}

/// The first two principal components of `rows` (`n × d`, row-major, finite). With d = 1 the
/// second component is zero and carries no variance.
pub fn principal_components(rows: &[f64], d: usize) -> Projection {
    let n = rows.len().checked_div(d).unwrap_or(0);
    let mut mean = vec![0.0; d];
    for row in rows.chunks_exact(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in &mut mean {
        *m /= n.max(1) as f64;
    }
    // The scatter matrix Σ (x − mean)(x − mean)ᵀ; its eigenvectors are the covariance's.
    let mut scatter = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for row in rows.chunks_exact(d) {
        for ((c, v), m) in centred.iter_mut().zip(row).zip(&mean) {
            *c = v - m;
        }
        for p in 0..d {
            let cp = centred[p];
            for q in p..d {
                scatter[p * d + q] += cp * centred[q];
            }
        }
    }
    for p in 0..d {
        for q in 0..p {
            scatter[p * d + q] = scatter[q * d + p];
        }
    }
    let total: f64 = (0..d).map(|p| scatter[p * d + p]).sum();
    let (values, vectors) = jacobi_eigen(scatter, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut components = vec![0.0; 2 * d];
    let mut variance_ratio = [0.0; 2];
    for (k, &j) in order.iter().take(2).enumerate() {
        let column: Vec<f64> = (0..d).map(|p| vectors[p * d + j]).collect();
        let largest = column.iter().enumerate().fold(0, |best, (p, v)| {
            if v.abs() > column[best].abs() {
                p
            } else {
                best
            }
        });
        let sign = if column[largest] < 0.0 { -1.0 } else { 1.0 };
        for (c, v) in components[k * d..(k + 1) * d].iter_mut().zip(&column) {
            *c = sign * v;
        }
        variance_ratio[k] = if total > 0.0 {
            values[j].max(0.0) / total
        } else {
            0.0
        };
    }
    let mut coordinates = vec![0.0; 2 * n];
    for (i, row) in rows.chunks_exact(d).enumerate() {
        for k in 0..2 {
            coordinates[2 * i + k] = row
                .iter()
                .zip(&mean)
                .zip(&components[k * d..(k + 1) * d])
                .map(|((v, m), c)| (v - m) * c)
                .sum();
        }
    }
    Projection {
        coordinates,
        components,
        variance_ratio,
    }
}

/// Eigenvalues and eigenvectors (the columns of the returned `d × d` row-major matrix) of the
/// symmetric matrix `a`, by cyclic Jacobi rotations until the off-diagonal part is negligible
/// next to the diagonal (relative 1e-30 in squares) or 100 sweeps have run.
fn jacobi_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for p in 0..d {
        v[p * d + p] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|p| (p + 1..d).map(move |q| (p, q)))
            .map(|(p, q)| a[p * d + q] * a[p * d + q])
            .sum();
        let diagonal: f64 = (0..d).map(|p| a[p * d + p] * a[p * d + p]).sum();
        if off <= 1e-30 * diagonal || off == 0.0 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q]: t = tan φ, the smaller root of
                // t² + 2θt − 1 = 0 with θ = (a_qq − a_pp) / 2a_pq.
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (kp, kq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * kp - s * kq;
                    a[k * d + q] = s * kp + c * kq;
                }
                for k in 0..d {
                    let (pk, qk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * pk - s * qk;
                    a[q * d + k] = s * pk + c * qk;
                }
                for k in 0..d {
                    let (kp, kq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * kp - s * kq;
                    v[k * d + q] = s * kp + c * kq;
                }
            }
        }
    }
    ((0..d).map(|p| a[p * d + p]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ellipse_gives_its_axes_and_variances() {
        // Points on an ellipse with semi-axes 3 and 1, turned by 30°, plus a flat third axis:
        // the components are the turned axes and the variance ratios 9 : 1 : 0.
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let mut rows = Vec::new();
        for i in 0..360 {
            let a = (i as f64).to_radians();
            let (x, y) = (3.0 * a.cos(), a.sin());
            rows.extend([c * x - s * y + 5.0, s * x + c * y - 2.0, 7.0]);
        }
        let p = principal_components(&rows, 3);
        let expect = [[c, s, 0.0], [-s, c, 0.0]];
        for (k, axis) in expect.iter().enumerate() {
            let got = &p.components[3 * k..3 * k + 3];
            // Signed by the largest entry: the first axis (c, s) has c largest, positive; the
            // second (−s, c) has c largest, positive.
            for (g, e) in got.iter().zip(axis) {
                assert!((g - e).abs() < 1e-12, "component {k}: {got:?} vs {axis:?}");
            }
        }
        assert!(
            (p.variance_ratio[0] - 0.9).abs() < 1e-12,
            "{:?}",
            p.variance_ratio
        );
        assert!(
            (p.variance_ratio[1] - 0.1).abs() < 1e-12,
            "{:?}",
            p.variance_ratio
        );
        // Point 0 is (3, 0) on the ellipse: coordinates (3, 0).
        assert!((p.coordinates[0] - 3.0).abs() < 1e-12 && p.coordinates[1].abs() < 1e-12);
    }

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let d = 6;
        let mut a = vec![0.0; d * d];
        for p in 0..d {
            for q in 0..d {
                a[p * d + q] =
                    1.0 / (1.0 + p as f64 + q as f64) + if p == q { p as f64 } else { 0.0 };
            }
        }
        let (values, v) = jacobi_eigen(a.clone(), d);
        // A v_j = λ_j v_j for every column j.
        for j in 0..d {
            for p in 0..d {
                let av: f64 = (0..d).map(|q| a[p * d + q] * v[q * d + j]).sum();
                assert!((av - values[j] * v[p * d + j]).abs() < 1e-12);
            }
        }
    }
}
