//! The cosine-score kernel against a BLAS-style product: `matrixmultiply` (through ndarray, AVX2 +
//! FMA where present; f32, the machine's matrix-product ceiling, and f64) and infoplane's
//! fixed-order f32 kernel (`estimator::scores`), 2 048 rows × 100 reference points, d = 384, 768
//! and 2 048. The fixed order is what makes the page's numbers equal the CLI's; this measures what
//! it costs (BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::linalg::general_mat_mul;
use ndarray::Array2;
use std::time::Duration;

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("score_kernel");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for d in [384usize, 768, 2048] {
        let (b, m) = (2048, 100);
        let z = Array2::from_shape_fn((b, d), |(i, j)| {
            ((i * 31 + j * 17) % 97) as f64 / 97.0 - 0.5
        });
        let w = Array2::from_shape_fn((m, d), |(i, j)| ((i * 13 + j * 7) % 89) as f64 / 89.0 - 0.5);
        let (z32, w32) = (z.mapv(|v| v as f32), w.mapv(|v| v as f32));
        let mut out = Array2::<f64>::zeros((b, m));
        let mut out32 = Array2::<f32>::zeros((b, m));
        group.throughput(Throughput::Elements((2 * b * m * d) as u64));
        group.bench_with_input(BenchmarkId::new("matrixmultiply_f32", d), &d, |bench, _| {
            bench.iter(|| general_mat_mul(1.0, &z32, &w32.t(), 0.0, &mut out32))
        });
        group.bench_with_input(BenchmarkId::new("matrixmultiply_f64", d), &d, |bench, _| {
            bench.iter(|| general_mat_mul(1.0, &z, &w.t(), 0.0, &mut out))
        });
        group.bench_with_input(BenchmarkId::new("fixed_order_f32", d), &d, |bench, &d| {
            bench.iter(|| {
                infoplane::estimator::scores::cosine_scores(
                    z32.as_slice().unwrap(),
                    w32.as_slice().unwrap(),
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
