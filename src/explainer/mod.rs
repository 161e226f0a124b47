//! The explainer's estimator: a labelled cloud of points (2-D or 3-D in the teaching page, the
//! 64-d digits in its real-data view, any d here) and everything the page draws about it: the
//! reference points, each point's soft assignment, the aggregate P(Z), H(Z), each point's own
//! entropy, H(Z|X) and regularity per class, I(X;Z) and its shuffled-label baseline.
//! The entropies and the mutual information come from the analyser's own
//! [`SoftEntropyAccumulator`], so the explainer shows exactly the numbers `infoplane analyze` gives
//! for the same points; the per-point assignments use the same score kernel and softmax.
//! [`data`] reads a labelled data set from a file, [`projection`] draws it in 2-D.

pub mod data;
pub mod projection;

use serde::Serialize;

use crate::estimator::metrics::{self, mean_sd, regularity};
use crate::estimator::rng::Permuter;
use crate::estimator::{Calibration, EstimatorConfig, EstimatorError, SoftEntropyAccumulator};

/// A cloud of points to explain.
#[derive(Clone, Debug)]
pub struct Cloud<'a> {
    /// `n × d` values, row-major.
    pub points: &'a [f64],
    pub d: usize,
    /// One class per point.
    pub labels: &'a [u32],
    pub n_bins: usize,
    pub seed: u64,
    /// How ε is chosen; the circle and sphere use [`Calibration::Exact`] (it works at d = 2 and 3,
    /// where the reference's default `find-eps` does not) or a fixed ε.
    pub calibration: Calibration,
    /// Shuffled-label copies for the baseline (0: none): copy k relabels point i with the label of
    /// point `perm_k[i]`, `perm_k` the k-th `rng.permutation(n)` of
    /// `numpy.random.default_rng(shuffle_seed)`, as the analyser's shuffles.
    pub shuffles: usize,
    pub shuffle_seed: u64,
    /// Whether to give each point's soft assignment and entropy (the circle and sphere draw them;
    /// the digits view's classes-added curve does not need them).
    pub per_point: bool,
}

/// One class of the cloud.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Class {
    pub label: u32,
    pub points: usize,
    /// H(Z | X = this class), efficiency.
    pub entropy: f64,
    /// 1 − H(Z | X = this class) / H(Z): how much narrower this class's P(Z | X) is than P(Z);
    /// the cloud's regularity is these weighted by the classes' sizes.
    pub regularity: f64,
    /// The class's P(Z | X), `n_bins` values.
    pub distribution: Vec<f64>,
}

/// I(X;Z) with the labels shuffled: what the estimator gives when the labels carry nothing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Baseline {
    /// I(X;Z) of each shuffled copy, in order.
    pub values: Vec<f64>,
    pub mean: f64,
    /// The sample sd (n − 1); None with one copy.
    pub sd: Option<f64>,
    /// I(X;Z) − mean.
    pub corrected: f64,
}

/// What the explainer shows. Entropies are efficiency (nats / ln m); `bits_per_unit` (log₂ m)
/// turns them into bits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub temperature: f64,
    pub n_bins: usize,
    pub d: usize,
    pub bits_per_unit: f64,
    /// `n_bins × d`, unit rows: numpy's `default_rng(seed).standard_normal`, normalised.
    pub reference_points: Vec<f64>,
    /// `n × n_bins`: each point's soft assignment (rows of zeros for skipped points); empty
    /// without `per_point`.
    pub assignments: Vec<f64>,
    /// Each point's own entropy H(Z | that point); NaN for skipped points; empty without
    /// `per_point`.
    pub point_entropies: Vec<f64>,
    /// The aggregate P(Z), `n_bins` values.
    pub distribution: Vec<f64>,
    pub entropy: f64,
    pub conditional_entropy: f64,
    pub mutual_information: f64,
    pub regularity: f64,
    /// H(Z) − mean point entropy: the I(X;Z) a label of its own per point would give.
    pub ceiling: f64,
    pub classes: Vec<Class>,
    /// None without shuffles.
    pub baseline: Option<Baseline>,
    /// Points skipped because they were all zero or not finite.
    pub skipped: u64,
}

/// Explains `cloud`. Errors are the estimator's (bad d, too few bins, calibration failure).
pub fn explain(cloud: &Cloud) -> Result<Explanation, EstimatorError> {
    let d = cloud.d;
    let n = cloud.labels.len();
    if d == 0 || cloud.points.len() != n * d {
        return Err(EstimatorError::Dimension {
            expected: d,
            got: if n == 0 {
                0
            } else {
                cloud.points.len() / n.max(1)
            },
        });
    }
    let config = EstimatorConfig {
        n_bins: cloud.n_bins,
        seed: cloud.seed,
        calibration: cloud.calibration,
    };
    let keys: Vec<u128> = cloud.labels.iter().map(|&l| u128::from(l)).collect();
    let mut columns = vec![keys];
    let mut permuter = Permuter::new(cloud.shuffle_seed);
    for _ in 0..cloud.shuffles {
        let perm = permuter.permutation(n);
        columns.push(perm.iter().map(|&j| columns[0][j]).collect());
    }
    let names: Vec<String> = (0..columns.len())
        .map(|k| match k {
            0 => "class".to_owned(),
            k => format!("shuffled {k}"),
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut acc = SoftEntropyAccumulator::new(config, d, &names)?;
    let rows =
        ndarray::ArrayView2::from_shape((n, d), cloud.points).expect("points hold n × d values");
    let columns_ref: Vec<&[u128]> = columns.iter().map(Vec::as_slice).collect();
    acc.update(rows, &columns_ref)?;

    let m = cloud.n_bins;
    let w = acc.reference_points();
    let w = w.as_slice().expect("reference points are contiguous");
    let temperature = acc.temperature();
    let per_point = if cloud.per_point { n } else { 0 };
    let mut assignments = vec![0.0; per_point * m];
    let mut point_entropies = vec![f64::NAN; per_point];
    for (i, row) in cloud.points.chunks_exact(d).take(per_point).enumerate() {
        // The accumulator's own path for one row; skipped rows keep zeros and NaN.
        if let Some(h) = acc.assign(row, &mut assignments[i * m..(i + 1) * m]) {
            point_entropies[i] = h;
        }
    }

    let total: f64 = acc.counts().iter().sum();
    let distribution = acc.counts().iter().map(|c| c / total).collect();
    let entropy = acc.entropy();
    let set = &acc.label_sets()[0];
    let classes = set
        .keys()
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let counts = set.counts_of(i, m);
            let sum: f64 = counts.iter().sum();
            let class_entropy = metrics::soft_entropy(counts);
            Class {
                label: k as u32,
                points: set.rows()[i] as usize,
                entropy: class_entropy,
                regularity: regularity(entropy - class_entropy, entropy),
                distribution: counts.iter().map(|c| c / sum).collect(),
            }
        })
        .collect();
    let summary = acc.set_summary(0);
    let mutual_information = summary.mutual_information();
    let baseline = (cloud.shuffles > 0).then(|| {
        let values: Vec<f64> = (1..=cloud.shuffles)
            .map(|s| acc.set_summary(s).mutual_information())
            .collect();
        let (mean, sd) = mean_sd(&values);
        Baseline {
            values,
            mean,
            sd,
            corrected: mutual_information - mean,
        }
    });
    Ok(Explanation {
        temperature,
        n_bins: m,
        d,
        bits_per_unit: (m as f64).log2(),
        reference_points: w.to_vec(),
        assignments,
        point_entropies,
        distribution,
        entropy,
        conditional_entropy: summary.conditional_entropy,
        mutual_information,
        regularity: regularity(mutual_information, entropy),
        ceiling: summary.ceiling(),
        classes,
        baseline,
        skipped: acc.rows_skipped(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::calibration;

    fn circle(n: usize, classes: u32) -> (Vec<f64>, Vec<u32>) {
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            points.extend([a.cos(), a.sin()]);
            labels.push(i as u32 * classes / n as u32);
        }
        (points, labels)
    }

    #[test]
    fn assignments_are_distributions_and_average_to_p_z() {
        let (points, labels) = circle(60, 3);
        let cloud = Cloud {
            points: &points,
            d: 2,
            labels: &labels,
            n_bins: 8,
            seed: 0,
            calibration: Calibration::Fixed(0.2),
            shuffles: 0,
            shuffle_seed: 0,
            per_point: true,
        };
        let e = explain(&cloud).unwrap();
        for row in e.assignments.chunks_exact(8) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        for j in 0..8 {
            let mean: f64 = e.assignments.chunks_exact(8).map(|r| r[j]).sum::<f64>() / 60.0;
            assert!((mean - e.distribution[j]).abs() < 1e-12);
        }
        assert_eq!(e.classes.len(), 3);
        assert_eq!(e.classes.iter().map(|c| c.points).sum::<usize>(), 60);
        // I = H − Σ (n_x/N) H(Z|x), and the ceiling is H − mean point entropy.
        let hzx: f64 = e
            .classes
            .iter()
            .map(|c| c.points as f64 / 60.0 * c.entropy)
            .sum();
        assert!((e.mutual_information - (e.entropy - hzx)).abs() < 1e-12);
        let mean_point = e.point_entropies.iter().sum::<f64>() / 60.0;
        assert!((e.ceiling - (e.entropy - mean_point)).abs() < 1e-12);
        assert!(e.mutual_information > 0.0 && e.mutual_information < e.ceiling);
    }

    #[test]
    fn one_class_carries_no_information_and_the_calibration_works_in_2_and_3_d() {
        let (points, _) = circle(40, 1);
        let labels = vec![7; 40];
        let cloud = Cloud {
            points: &points,
            d: 2,
            labels: &labels,
            n_bins: 16,
            seed: 0,
            calibration: Calibration::Exact,
            shuffles: 0,
            shuffle_seed: 0,
            per_point: true,
        };
        let e = explain(&cloud).unwrap();
        assert_eq!(e.mutual_information, 0.0);
        let exact = |d, m| calibration::temperature(Calibration::Exact, m, d).unwrap();
        assert_eq!(e.temperature, exact(2, 16));
        assert!(exact(3, 100) > 0.0);
    }

    #[test]
    fn class_regularities_add_up_and_shuffles_give_a_baseline() {
        let (points, labels) = circle(90, 3);
        let mut cloud = Cloud {
            points: &points,
            d: 2,
            labels: &labels,
            n_bins: 8,
            seed: 0,
            calibration: Calibration::Fixed(0.2),
            shuffles: 4,
            shuffle_seed: 3,
            per_point: false,
        };
        let e = explain(&cloud).unwrap();
        assert!(e.assignments.is_empty() && e.point_entropies.is_empty());
        let weighted: f64 = e
            .classes
            .iter()
            .map(|c| c.points as f64 / 90.0 * c.regularity)
            .sum();
        assert!((weighted - e.regularity).abs() < 1e-12);
        let b = e.baseline.as_ref().unwrap();
        assert_eq!(b.values.len(), 4);
        // Three arcs carry far more than shuffled arcs do.
        assert!(b.values.iter().all(|&v| v < e.mutual_information / 5.0));
        assert!((b.corrected - (e.mutual_information - b.mean)).abs() < 1e-15);
        // One class: every shuffle is the same labels, so the baseline is exactly 0.
        let same = vec![4; 90];
        cloud.labels = &same;
        let b = explain(&cloud).unwrap().baseline.unwrap();
        assert_eq!((b.mean, b.sd, b.corrected), (0.0, Some(0.0), 0.0));
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let cloud = Cloud {
            points: &[1.0, 2.0, 3.0],
            d: 2,
            labels: &[0, 1],
            n_bins: 8,
            seed: 0,
            calibration: Calibration::Fixed(0.1),
            shuffles: 0,
            shuffle_seed: 0,
            per_point: true,
        };
        assert!(explain(&cloud).is_err());
    }
}
