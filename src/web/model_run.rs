//! A model folder run on text in the page, shared by several Web Workers with the CLI's numbers:
//! each worker opens its own [`ModelRun`] (the same files, so the same model and the same plan),
//! runs whichever forward passes the page hands it, and one of them takes every pass's states in
//! order and writes the report (see [`crate::analysis::ModelAnalysis`]). A wasm call cannot wait
//! for another worker, so the page's JavaScript (`www/app.js`, `runModel`) moves the states
//! between them.

use wasm_bindgen::prelude::*;

use super::{
    files_with_progress, one_line_error, parse_settings, read_whole, result_json, FileSource,
};
use crate::analysis::ModelAnalysis;
use crate::model::checkpoint::{self, Role};
use crate::model::tokenizer::Tokenizer;
use crate::model::Transformer;
use crate::probe::{self, ProbeSettings};

/// A model folder opened and its analysis planned, in one worker.
#[wasm_bindgen]
pub struct ModelRun {
    model: Box<dyn Transformer>,
    /// `None` once finished.
    analysis: Option<ModelAnalysis>,
    described: Vec<serde_json::Value>,
    probe: serde_json::Value,
    /// The checkpoint's name, for messages.
    name: String,
}

#[wasm_bindgen]
impl ModelRun {
    /// Opens the model folder `files` (config.json, weights, tokenizer.json; a `.txt` among them
    /// is the text, else the built-in probe corpus), tokenises the text and plans the analysis of
    /// every hidden state, like `infoplane model`. `progress(bytes_read, bytes_total, 0, 0)`
    /// follows the reading of the weights.
    #[wasm_bindgen(constructor)]
    pub fn new(
        files: js_sys::Array,
        name: &str,
        settings: JsValue,
        progress: &js_sys::Function,
    ) -> Result<ModelRun, JsValue> {
        Self::open(files, name, settings, progress).map_err(one_line_error)
    }

    /// Where each batch of forward passes ends (the passes `batches[i - 1] .. batches[i]` run as
    /// one batch, the first from 0): the units [`Self::forward`] and [`Self::take`] work in.
    pub fn batches(&self) -> Vec<u32> {
        self.analysis.as_ref().map_or(Vec::new(), |a| {
            a.batches().into_iter().map(|b| b.end as u32).collect()
        })
    }

    /// The states of forward passes `first .. end`, run as one batch: each pass's states at its
    /// planned positions (the analysed layers' rows, layer after layer), one pass after another,
    /// for [`Self::take`] in whichever worker takes them.
    pub fn forward(&self, first: usize, end: usize) -> Result<js_sys::Float32Array, JsValue> {
        let analysis = self.planned(first, end)?;
        let states = analysis
            .forward_batch(self.model.as_ref(), first..end)
            .map_err(|e| one_line_error(JsValue::from_str(&e.to_string())))?;
        Ok(js_sys::Float32Array::from(&states.concat()[..]))
    }

    /// Adds the states of forward passes `first .. end` (from [`Self::forward`]) to the
    /// accumulators; passes must come in order, 0 first.
    pub fn take(&mut self, first: usize, end: usize, states: &[f32]) -> Result<(), JsValue> {
        self.planned(first, end)?;
        let analysis = self.analysis.as_mut().expect("checked by planned");
        let lens: Vec<usize> = (first..end).map(|k| analysis.states_len(k)).collect();
        let total: usize = lens.iter().sum();
        if states.len() != total {
            return Err(JsValue::from_str(&format!(
                "{}: forward passes {first}..{end} handed over {} values, not {total}",
                self.name,
                states.len()
            )));
        }
        let mut at = 0;
        for (k, n) in (first..end).zip(lens) {
            analysis
                .take(k, &states[at..at + n])
                .map_err(|e| one_line_error(JsValue::from_str(&e.to_string())))?;
            at += n;
        }
        Ok(())
    }

    /// The result, once every pass is taken: the same JSON as `analyze`, plus
    /// `"probe": {"text", "texts", "input_ids", "truncated", "model_type"}`.
    pub fn finish(&mut self) -> Result<String, JsValue> {
        let analysis = self.analysis.take().ok_or_else(|| {
            JsValue::from_str(&format!("{}: the model run is already finished", self.name))
        })?;
        let result = analysis
            .finish()
            .map_err(|e| one_line_error(JsValue::from_str(&e.to_string())))?;
        let mut out = result_json(&result, std::mem::take(&mut self.described));
        out["probe"] = self.probe.take();
        Ok(out.to_string())
    }
}

impl ModelRun {
    /// The analysis, if it is not finished and has passes `first .. end` (at least one).
    fn planned(&self, first: usize, end: usize) -> Result<&ModelAnalysis, JsValue> {
        match &self.analysis {
            Some(a) if first < end && end <= a.jobs() => Ok(a),
            Some(a) => Err(JsValue::from_str(&format!(
                "{}: no forward passes {first}..{end}: the run has {}",
                self.name,
                a.jobs()
            ))),
            None => Err(JsValue::from_str(&format!(
                "{}: the model run is already finished",
                self.name
            ))),
        }
    }

    fn open(
        files: js_sys::Array,
        name: &str,
        settings: JsValue,
        progress: &js_sys::Function,
    ) -> Result<ModelRun, JsValue> {
        let (s, mut settings) = parse_settings(settings)?;
        let err = |e: &dyn std::fmt::Display| JsValue::from_str(&format!("{name}: {e}"));
        let reader = web_sys::FileReaderSync::new()?;
        let (files, progress) = files_with_progress(files, progress)?;
        let (mut config, mut tokenizer, mut text) = (None, None, None);
        let mut weights = Vec::new();
        let mut described = Vec::new();
        for file in files {
            let fname = file.name();
            match checkpoint::role(&fname) {
                Role::Config => {
                    config = Some(
                        String::from_utf8(read_whole(&reader, &file)?)
                            .map_err(|_| err(&"config.json is not UTF-8 text"))?,
                    )
                }
                Role::Tokenizer => {
                    tokenizer = Some(
                        Tokenizer::from_bytes(&fname, &read_whole(&reader, &file)?)
                            .map_err(|e| err(&e))?,
                    )
                }
                Role::Safetensors | Role::PytorchBin => {
                    let len = file.size() as u64;
                    described.push(
                        serde_json::json!({"name": fname, "format": "weights", "tensors": []}),
                    );
                    weights.push((fname, FileSource::new(file, &reader, &progress), len));
                }
                Role::Text => {
                    let bytes = read_whole(&reader, &file)?;
                    text = Some((
                        fname.clone(),
                        String::from_utf8(bytes)
                            .map_err(|_| err(&format!("{fname} is not UTF-8 text")))?,
                    ));
                }
                Role::Other => {}
            }
        }
        let config = config.ok_or_else(|| err(&"no config.json among the files"))?;
        let tokenizer = tokenizer.ok_or_else(|| err(&"no tokenizer.json among the files"))?;
        let ckpt = checkpoint::load_checkpoint(&config, weights).map_err(|e| err(&e))?;
        let (text_name, text) =
            text.unwrap_or_else(|| ("the probe corpus".into(), probe::PROBE_CORPUS.into()));
        let probe = probe::tokenize(
            &text_name,
            &text,
            &tokenizer,
            ProbeSettings {
                max_sequences: s.max_sequences,
                max_length: s.max_length,
                window: s.window,
            },
        )
        .map_err(|e| err(&e))?;
        if s.exclude_special {
            settings.labels.exclude_special(&tokenizer.special_ids());
        }
        let model = ckpt.model;
        let analysis = ModelAnalysis::new(
            model.d(),
            model.hidden_states(),
            name,
            &probe.sequences,
            &settings,
            false,
        )
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
        Ok(ModelRun {
            name: name.to_owned(),
            model,
            analysis: Some(analysis),
            described,
            probe: serde_json::json!({
                "text": text_name,
                "texts": probe.texts,
                "input_ids": probe.sequences,
                "truncated": probe.truncated,
                "model_type": ckpt.config.model_type(),
            }),
        })
    }
}
