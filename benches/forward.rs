//! Forward passes of all-MiniLM-L6-v2 (BERT, 6 blocks, d = 384) with infoplane's own model code,
//! in process: the 100 sequences (1 607 tokens) of tests/fixtures/models/minilm_reference.json
//! ("input_ids": the first 100 lines of www/probe/probe_corpus.txt tokenised by the model's
//! tokenizer), one sequence at a time, every hidden state handed to a sink that does nothing.
//! Throughput counts tokens. Loading the weights is not timed.
//!
//!   bash scripts/fetch_minilm.sh    # puts the model in target/minilm/model
//!   cargo bench --bench forward
//!
//! INFOPLANE_MINILM=DIR points at another copy of the model folder.
//!
//! A second group, `forward_200x64`, runs the forward-pass benchmark's sets when
//! benches/export_onnx.py has made them (target/forward_bench/ids.json, or INFOPLANE_FORWARD_BENCH=DIR):
//! `minilm` (all-MiniLM-L6-v2 on the first 200 probe-corpus lines, at most 64 tokens each) and
//! `pythia70m_random` (a Pythia-70m-shaped GPT-NeoX with random weights on 200 sequences of 16-64
//! random ids), the same ids every other implementation there runs, one sequence at a time, every
//! hidden state to a sink that does nothing. Without ids.json it says so and measures nothing.
//! benches/forward_harness.py runs it (`cargo bench --bench forward -- forward_200x64`) and prints
//! target/criterion/forward_200x64/<set>/new/estimates.json beside PyTorch, onnxruntime-web and the page.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use infoplane::model::checkpoint::load_checkpoint;
use infoplane::model::Transformer;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn model_dir() -> PathBuf {
    std::env::var_os("INFOPLANE_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/minilm/model"))
}

fn sequences() -> Vec<Vec<u32>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/minilm_reference.json");
    let text = std::fs::read_to_string(&path).expect("tests/fixtures/models/minilm_reference.json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    serde_json::from_value(value["input_ids"].clone()).expect("input_ids: lists of token ids")
}

fn forward(c: &mut Criterion) {
    let model = load_model(&model_dir());
    let seqs = sequences();
    let tokens: usize = seqs.iter().map(Vec::len).sum();
    assert_eq!(seqs.len(), 100);
    assert_eq!(tokens, 1607);

    let mut group = c.benchmark_group("forward");
    // One iteration (100 sequences, one thread) took 4.9 s with one core loaded; 10 samples of
    // one iteration each (criterion's minimum) keep the whole run near a minute.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(45))
        .throughput(Throughput::Elements(tokens as u64));
    group.bench_function("minilm_100_sequences", |b| {
        b.iter(|| forward_all(model.as_ref(), &seqs))
    });
    group.finish();
}

/// Every sequence through `model`, one at a time, each hidden state to a sink that keeps nothing.
fn forward_all(model: &dyn Transformer, seqs: &[Vec<u32>]) {
    for ids in seqs {
        model
            .forward(ids, &mut |_, h| {
                std::hint::black_box(h);
                Ok(())
            })
            .expect("forward pass");
    }
}

/// The model in folder `dir` (config.json, model.safetensors).
fn load_model(dir: &Path) -> Box<dyn Transformer> {
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/fetch_minilm.sh or set INFOPLANE_MINILM; \
                 benches/export_onnx.py makes the random model)",
            dir.join("config.json").display()
        )
    });
    let file = File::open(dir.join("model.safetensors"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("model.safetensors").display()));
    let len = file.metadata().expect("metadata").len();
    load_checkpoint(
        &config,
        vec![("model.safetensors".to_owned(), BufReader::new(file), len)],
    )
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    .model
}

/// The sets of benches/export_onnx.py (ids.json), one sequence at a time, like `forward`.
fn forward_sets(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("INFOPLANE_FORWARD_BENCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/forward_bench"));
    let Ok(text) = std::fs::read_to_string(dir.join("ids.json")) else {
        eprintln!(
            "forward_200x64: no {} (run benches/export_onnx.py): skipped",
            dir.join("ids.json").display()
        );
        return;
    };
    let sets: serde_json::Value = serde_json::from_str(&text).expect("ids.json is JSON");
    let mut group = c.benchmark_group("forward_200x64");
    // Criterion's minimum of 10 samples, one pass over the set each (one pass took 4.5 s for
    // minilm and 11 s for pythia70m_random here with one core loaded; the measurement times are
    // 10 passes, so criterion does not warn).
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(2));
    for (name, seconds) in [("minilm", 45), ("pythia70m_random", 110)] {
        let Some(set) = sets.get(name) else {
            eprintln!("forward_200x64: ids.json has no {name}: skipped");
            continue;
        };
        let model = load_model(&root.join(set["model_dir"].as_str().expect("model_dir")));
        let seqs: Vec<Vec<u32>> =
            serde_json::from_value(set["input_ids"].clone()).expect("input_ids: lists of ids");
        let tokens: usize = seqs.iter().map(Vec::len).sum();
        group
            .measurement_time(Duration::from_secs(seconds))
            .throughput(Throughput::Elements(tokens as u64));
        group.bench_function(name, |b| b.iter(|| forward_all(model.as_ref(), &seqs)));
    }
    group.finish();
}

criterion_group!(benches, forward, forward_sets);
criterion_main!(benches);
