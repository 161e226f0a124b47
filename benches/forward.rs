//! Forward passes of all-MiniLM-L6-v2 (BERT, 6 blocks, d = 384) with infoplane's own model code,
//! in process: the 100 sequences (1 607 tokens) of tests/fixtures/models/minilm_reference.json
//! ("input_ids": the first 100 lines of www/probe/probe_corpus.txt tokenised by the model's
//! tokenizer), one sequence at a time, every hidden state handed to a sink that does nothing.
//! Throughput counts tokens. Loading the weights is not timed.
//!
//!   bash scripts/fetch_minilm.sh    # puts the model in target/minilm/model
//!   cargo bench --bench forward
//!
//! INFOPLANE_MINILM=DIR points at another copy of the model folder. benches/forward_side_by_side.py
//! prints this figure (target/criterion/forward/minilm_100_sequences/new/estimates.json) beside
//! PyTorch's (BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use infoplane::model::checkpoint::load_checkpoint;
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
    let dir = model_dir();
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/fetch_minilm.sh or set INFOPLANE_MINILM)",
            dir.join("config.json").display()
        )
    });
    let weights_path = dir.join("model.safetensors");
    let file = File::open(&weights_path).expect("model.safetensors");
    let len = file.metadata().expect("metadata").len();
    let ckpt = load_checkpoint(
        &config,
        vec![("model.safetensors".to_owned(), BufReader::new(file), len)],
    )
    .expect("all-MiniLM-L6-v2 loads");
    let model = ckpt.model;
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
        b.iter(|| {
            for ids in &seqs {
                model
                    .forward(ids, &mut |_, h| {
                        std::hint::black_box(h);
                        Ok(())
                    })
                    .expect("forward pass");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
