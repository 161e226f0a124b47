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

#[test]
fn hidden_states_equal_hf_for_every_fixture_architecture() {
    let root = fixture("models");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.npz").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 6, "model fixtures are missing: {dirs:?}");
    for dir in dirs {
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
