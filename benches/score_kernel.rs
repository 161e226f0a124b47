//! The cosine-score kernel against a BLAS-style product: `matrixmultiply` (through ndarray, AVX2 +
//! FMA where present) and infoplane's fixed-order kernel (`estimator::scores`), 2 048 rows × 100
//! reference points, d = 768 and 2 048. The fixed order is what makes the page's numbers equal the
//! CLI's; this measures what it costs (BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::linalg::general_mat_mul;
use ndarray::Array2;
use std::time::Duration;

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("score_kernel");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for d in [768usize, 2048] {
        let (b, m) = (2048, 100);
        let z = Array2::from_shape_fn((b, d), |(i, j)| {
            ((i * 31 + j * 17) % 97) as f64 / 97.0 - 0.5
        });
        let w = Array2::from_shape_fn((m, d), |(i, j)| ((i * 13 + j * 7) % 89) as f64 / 89.0 - 0.5);
        let mut out = Array2::<f64>::zeros((b, m));
        group.throughput(Throughput::Elements((2 * b * m * d) as u64));
        group.bench_with_input(BenchmarkId::new("matrixmultiply", d), &d, |bench, _| {
            bench.iter(|| general_mat_mul(1.0, &z, &w.t(), 0.0, &mut out))
        });
        group.bench_with_input(BenchmarkId::new("fixed_order", d), &d, |bench, &d| {
            bench.iter(|| {
                infoplane::estimator::scores::cosine_scores(
                    z.as_slice().unwrap(),
                    w.as_slice().unwrap(),
                    d,
                    out.as_slice_mut().unwrap(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
