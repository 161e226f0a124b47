//! Throughput of `SoftEntropyAccumulator::update` in rows per second, the work the CLI and the page
//! do per layer once rows are decoded (no file reading, no label building inside the timing).
//!
//! Setting, as in an LLM analysis: 100 bins (find-eps temperature, seed 0), batches of 4096 f32 rows
//! of random normal values plus one shared offset vector (the anisotropy of real hidden states), and
//! the 6 label sets `input/output_{unigram,bigram,trigram}` built by `labels::plan` from a token
//! stream drawn from a Zipf (s = 1.1) distribution over a 5000-token vocabulary, so label
//! cardinalities are realistic: thousands of distinct unigrams, nearly one label per row for
//! trigrams. Everything is drawn from seeded `Pcg64` generators, so every run sees the same data.
//!
//! Groups:
//! - `accumulator_d768`: d = 768 (GPT-2 small / BERT base width)
//!   - `steady`: an accumulator that has already seen every label of the stream (the state after the
//!     first batches of a long run): matrix product, softmax and label-count updates only;
//!   - `first_batch`: one batch into an empty accumulator, so every label value is a new slot
//!     (hash-map insert and count-row allocation);
//!   - `no_labels`: `steady` without label sets (H(Z) only), to separate the cost of the labels.
//! - `accumulator_scale`: `steady` at d = 64 and d = 2048.
//!
//! Run with `CARGO_TARGET_DIR=/tmp/target-bench cargo bench --bench accumulator` (about 45 s);
//! results and how to read them are in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ndarray::{s, Array2};

use infoplane::estimator::rng::Pcg64;
use infoplane::estimator::{Calibration, EstimatorConfig, LabelKey, SoftEntropyAccumulator};
use infoplane::labels;

/// Rows per `update` call.
const BATCH: usize = 4096;
/// Distinct row batches kept in memory; iterations cycle through them.
const ROW_BATCHES: usize = 4;
/// Label batches in the token stream; iterations cycle through them too, so the label sets see
/// 16 × 4096 positions' worth of distinct n-grams.
const LABEL_BATCHES: usize = 16;
const VOCAB: usize = 5000;
const ZIPF_EXPONENT: f64 = 1.1;
const BINS: usize = 100;

/// A Zipf-distributed token stream of `len` tokens over `VOCAB` token ids (rank r has probability
/// ∝ 1 / r^s), sampled by inverting the cumulative distribution.
fn zipf_tokens(len: usize, seed: u64) -> Vec<u32> {
    let mut cdf = Vec::with_capacity(VOCAB);
    let mut total = 0.0;
    for rank in 1..=VOCAB {
        total += (rank as f64).powf(-ZIPF_EXPONENT);
        cdf.push(total);
    }
    let mut rng = Pcg64::from_seed(seed);
    (0..len)
        .map(|_| {
            let u = rng.next_f64() * total;
            let rank = cdf.partition_point(|&c| c <= u).min(VOCAB - 1);
            rank as u32
        })
        .collect()
}

/// The 6 label sets of one token stream, positions [2, T − 3) of a single sequence.
struct Labels {
    names: Vec<String>,
    /// `sets[s]` has `LABEL_BATCHES × BATCH` labels.
    sets: Vec<Vec<LabelKey>>,
}

fn make_labels() -> Labels {
    // One sequence; orders 1..3 keep positions [2, T - 3), i.e. T - 5 of them.
    let t = LABEL_BATCHES * BATCH + 5;
    let tokens = zipf_tokens(t, 20_250_101);
    let whole = 0..t;
    // The raw token-tuple keys (no unique/rare marking, no shuffled copies).
    let plan = labels::universe(
        &tokens,
        std::slice::from_ref(&whole),
        &[1, 2, 3],
        &labels::LabelOptions::default(),
    )
    .expect("valid orders and sequence");
    assert_eq!(plan.positions.len(), LABEL_BATCHES * BATCH);
    Labels {
        names: plan.specs.iter().map(|s| s.name.clone()).collect(),
        sets: plan.labels,
    }
}

impl Labels {
    fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// The label slices of batch `k` (cycled).
    fn batch(&self, k: usize) -> Vec<&[LabelKey]> {
        let start = (k % LABEL_BATCHES) * BATCH;
        self.sets.iter().map(|l| &l[start..start + BATCH]).collect()
    }

    fn distinct(&self) -> Vec<usize> {
        self.sets
            .iter()
            .map(|l| l.iter().collect::<std::collections::HashSet<_>>().len())
            .collect()
    }
}

/// `ROW_BATCHES × BATCH` rows of width `d`: N(0, 1) values plus a shared offset ~ 2·N(0, 1).
fn make_rows(d: usize) -> Array2<f32> {
    let mut rng = Pcg64::from_seed(7_000 + d as u64);
    let offset: Vec<f64> = (0..d).map(|_| 2.0 * rng.standard_normal()).collect();
    let mut rows = Array2::<f32>::zeros((ROW_BATCHES * BATCH, d));
    for mut row in rows.rows_mut() {
        for (v, &o) in row.iter_mut().zip(&offset) {
            *v = (rng.standard_normal() + o) as f32;
        }
    }
    rows
}

fn config() -> EstimatorConfig {
    EstimatorConfig {
        n_bins: BINS,
        seed: 0,
        calibration: Calibration::FindEps,
    }
}

/// An accumulator that has seen every label batch once, so later updates add no new label slot.
fn warm_accumulator(d: usize, rows: &Array2<f32>, labels: &Labels) -> SoftEntropyAccumulator {
    let mut acc =
        SoftEntropyAccumulator::new(config(), d, &labels.names()).expect("valid settings");
    for k in 0..LABEL_BATCHES {
        acc.update(row_batch(rows, k), &labels.batch(k))
            .expect("shapes match");
    }
    acc
}

fn row_batch(rows: &Array2<f32>, k: usize) -> ndarray::ArrayView2<'_, f32> {
    let start = (k % ROW_BATCHES) * BATCH;
    rows.slice(s![start..start + BATCH, ..])
}

/// Benchmarks `update` on an accumulator that already knows every label, cycling through the row
/// and label batches.
fn bench_steady(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    d: usize,
    labels: &Labels,
) {
    let rows = make_rows(d);
    let mut acc = warm_accumulator(d, &rows, labels);
    let mut k = 0usize;
    group.bench_with_input(BenchmarkId::new(name, d), &d, |b, _| {
        b.iter(|| {
            acc.update(black_box(row_batch(&rows, k)), &labels.batch(k))
                .expect("shapes match");
            k += 1;
        })
    });
    black_box(acc.entropy());
}

fn d768(c: &mut Criterion) {
    let labels = make_labels();
    let distinct = labels.distinct();
    eprintln!(
        "label sets over {} positions, distinct values: {}",
        LABEL_BATCHES * BATCH,
        labels
            .names
            .iter()
            .zip(&distinct)
            .map(|(n, k)| format!("{n}={k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let d = 768;
    let mut group = c.benchmark_group("accumulator_d768");
    group.throughput(Throughput::Elements(BATCH as u64));

    bench_steady(&mut group, "steady", d, &labels);

    let rows = make_rows(d);
    let empty = SoftEntropyAccumulator::new(config(), d, &labels.names()).expect("valid settings");
    let first = labels.batch(0);
    group.bench_with_input(BenchmarkId::new("first_batch", d), &d, |b, _| {
        b.iter_batched(
            || empty.clone(),
            |mut acc| {
                acc.update(black_box(row_batch(&rows, 0)), &first)
                    .expect("shapes match");
                acc
            },
            BatchSize::PerIteration,
        )
    });

    let mut bare = SoftEntropyAccumulator::new(config(), d, &[]).expect("valid settings");
    let mut k = 0usize;
    group.bench_with_input(BenchmarkId::new("no_labels", d), &d, |b, _| {
        b.iter(|| {
            bare.update(black_box(row_batch(&rows, k)), &[])
                .expect("shapes match");
            k += 1;
        })
    });
    group.finish();
}

fn scale(c: &mut Criterion) {
    let labels = make_labels();
    let mut group = c.benchmark_group("accumulator_scale");
    group.throughput(Throughput::Elements(BATCH as u64));
    // An update at d = 2048 takes about 0.1 s: 10 samples need a little more time.
    group.measurement_time(Duration::from_secs(6));
    for d in [64, 2048] {
        bench_steady(&mut group, "steady", d, &labels);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Each update of 4096 rows takes tens of milliseconds at d = 768: 10 samples over 4 s give
    // stable medians and keep the whole run under a minute on 2 cores.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .without_plots();
    targets = d768, scale
}
criterion_main!(benches);
