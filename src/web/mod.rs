//! The wasm-bindgen boundary, and nothing else: it runs inside a Web Worker, reads dropped `File`s
//! in slices through `FileReaderSync` (never as one ArrayBuffer), and hands them to the same
//! analysis, report and chart code the CLI uses, so the page shows the CLI's numbers.

use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::analysis::{self, Analysis, AnalysisNumbers, AnalysisSettings};
use crate::estimator::{Calibration, EstimatorConfig};
use crate::formats::layout::LayoutOverrides;
use crate::formats::open;
use crate::formats::tensor::TensorFile;
use crate::labels::{self, LabelOptions};
use crate::probe::ProbeSettings;
use crate::report::{self, Report};

mod dataset_run;
mod explainer;
mod model_run;

/// Bytes fetched per slice when reading on: large enough that the per-call cost of
/// FileReaderSync vanishes, small enough to keep a multi-GB file far from memory.
const SLICE_BYTES: usize = 4 << 20;

/// Bytes fetched by a read that does not go on from the previous fetch (a header, an archive's
/// directory, a jump back or far ahead); each read that goes on, or skips less than
/// [`SLICE_BYTES`] ahead, doubles it, up to [`SLICE_BYTES`]. Chromium takes about 3 ms per MiB
/// fetched, so opening an npz with 4 MiB slices spent 25-35 ms fetching headers it then left
/// unread.
const FIRST_SLICE_BYTES: usize = 64 << 10;

/// Bytes read between two progress reports (besides one per finished layer).
const REPORT_EVERY_BYTES: u64 = 16 << 20;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// [`crate::estimator::accumulator::warm_up`], for a worker started ahead of a run.
#[wasm_bindgen]
pub fn warm_up() -> f64 {
    crate::estimator::accumulator::warm_up()
}

/// What the page is told as the analysis goes: `progress(bytes_read, bytes_total, done, total)`
/// (layers of a dump; a model run reports its bytes only, and the page counts its forward
/// passes), after every [`REPORT_EVERY_BYTES`] read and after every layer.
struct Progress {
    callback: js_sys::Function,
    bytes_read: u64,
    bytes_total: u64,
    reported_at: u64,
    /// Layers done, of `total` (dumps).
    done: usize,
    total: usize,
}

impl Progress {
    fn report(&mut self) {
        self.reported_at = self.bytes_read;
        let args = js_sys::Array::of4(
            &JsValue::from(self.bytes_read as f64),
            &JsValue::from(self.bytes_total as f64),
            &JsValue::from(self.done as u32),
            &JsValue::from(self.total as u32),
        );
        // A failing progress callback must not stop the analysis.
        let _ = self.callback.apply(&JsValue::NULL, &args);
    }

    fn read(&mut self, n: u64) {
        self.bytes_read += n;
        if self.bytes_read - self.reported_at >= REPORT_EVERY_BYTES {
            self.report();
        }
    }
}

/// A `File` as `Read + Seek`, reading slices synchronously (allowed in workers only).
///
/// The last slice fetched is kept, and a seek keeps it: reads within it are served from memory.
/// (`BufReader` drops its buffer on every seek, so loading a checkpoint, which seeks to each of
/// its ~100 tensors, fetched a whole slice per tensor: 400 MB through FileReaderSync for
/// all-MiniLM-L6-v2's 90 MB, a second of a one-second load.) Reads of a slice or more go
/// straight to the caller's buffer.
struct FileSource {
    file: web_sys::File,
    reader: web_sys::FileReaderSync,
    pos: u64,
    len: u64,
    progress: Rc<RefCell<Progress>>,
    /// The bytes at `cached_from ..` of the file.
    cache: Vec<u8>,
    cached_from: u64,
    /// Where the last fetch ended (`u64::MAX` before the first), and the slice size in use: a
    /// read that goes on from there, or skips less than [`SLICE_BYTES`] ahead, fetches twice as
    /// much (up to [`SLICE_BYTES`]); any other read starts again at [`FIRST_SLICE_BYTES`].
    fetched_to: u64,
    slice: usize,
}

impl FileSource {
    /// `file`, fetched in slices of [`FIRST_SLICE_BYTES`] growing to [`SLICE_BYTES`] as reads
    /// go on (larger reads in one piece), counting the bytes read into `progress`.
    fn new(
        file: web_sys::File,
        reader: &web_sys::FileReaderSync,
        progress: &Rc<RefCell<Progress>>,
    ) -> FileSource {
        let len = file.size() as u64;
        FileSource {
            file,
            reader: reader.clone(),
            pos: 0,
            len,
            progress: progress.clone(),
            cache: Vec::new(),
            cached_from: 0,
            fetched_to: u64::MAX,
            slice: FIRST_SLICE_BYTES,
        }
    }

    /// Fetches `[at, at + out.len())` (clipped to the file) into `out`; the bytes fetched.
    fn fetch(&mut self, at: u64, out: &mut [u8]) -> io::Result<usize> {
        let n = (out.len() as u64).min(self.len.saturating_sub(at));
        let blob = self
            .file
            .slice_with_f64_and_f64(at as f64, (at + n) as f64)
            .map_err(js_io)?;
        let bytes = self.reader.read_as_array_buffer(&blob).map_err(js_io)?;
        let view = js_sys::Uint8Array::new(&bytes);
        let got = (view.length() as usize).min(out.len());
        view.subarray(0, got as u32).copy_to(&mut out[..got]);
        self.fetched_to = at + got as u64;
        Ok(got)
    }
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let cached = self.cached_from..self.cached_from + self.cache.len() as u64;
        if !cached.contains(&self.pos) {
            // Strided reads (a layer's rows among others') skip ahead a little at a time: they
            // go on, as one large slice would have served them.
            let goes_on =
                self.pos >= self.fetched_to && self.pos - self.fetched_to < SLICE_BYTES as u64;
            self.slice = if goes_on {
                (2 * self.slice).min(SLICE_BYTES)
            } else {
                FIRST_SLICE_BYTES
            };
            if buf.len() >= self.slice {
                let got = self.fetch(self.pos, buf)?;
                self.pos += got as u64;
                self.progress.borrow_mut().read(got as u64);
                return Ok(got);
            }
            let mut cache = std::mem::take(&mut self.cache);
            cache.resize(self.slice, 0);
            let got = self.fetch(self.pos, &mut cache);
            cache.truncate(*got.as_ref().unwrap_or(&0));
            self.cache = cache;
            self.cached_from = self.pos;
            if got? == 0 {
                return Ok(0);
            }
        }
        let at = (self.pos - self.cached_from) as usize;
        let n = buf.len().min(self.cache.len() - at);
        buf[..n].copy_from_slice(&self.cache[at..at + n]);
        self.pos += n as u64;
        // Progress counts bytes handed to the reader, not fetched: a layer read twice (centring)
        // from the kept slice counts twice, as its doubled total expects.
        self.progress.borrow_mut().read(n as u64);
        Ok(n)
    }
}

impl Seek for FileSource {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

fn js_io(e: JsValue) -> io::Error {
    io::Error::other(e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

/// The page's settings, with the reference's defaults.
#[derive(Deserialize)]
#[serde(default)]
struct WebSettings {
    n_bins: usize,
    seed: u64,
    calibration: String,
    eps: Option<f64>,
    orders: Vec<usize>,
    layers: Option<String>,
    hidden: Option<String>,
    ids: Option<String>,
    labels: Vec<String>,
    /// Leading positions of each sequence left out.
    exclude_first: usize,
    /// Positions whose token is one of these ids are left out.
    exclude_tokens: Vec<u32>,
    /// Model runs: also leave out positions of the tokenizer's special tokens.
    exclude_special: bool,
    shuffles: usize,
    shuffle_seed: u64,
    seeds: usize,
    min_count: usize,
    backoff: Option<usize>,
    centre: bool,
    /// Model runs: lines of text used (`None`: all) and tokens kept per line.
    max_sequences: Option<usize>,
    max_length: usize,
    /// Cut the text into windows of this many tokens instead of one sequence per line.
    window: Option<usize>,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            n_bins: 100,
            seed: 0,
            calibration: "find-eps".into(),
            eps: None,
            orders: vec![1, 2, 3],
            layers: None,
            hidden: None,
            ids: None,
            labels: Vec::new(),
            exclude_first: 0,
            exclude_tokens: Vec::new(),
            exclude_special: false,
            shuffles: labels::DEFAULT_SHUFFLES,
            shuffle_seed: 0,
            seeds: 1,
            min_count: 0,
            backoff: None,
            centre: false,
            max_sequences: None,
            max_length: ProbeSettings::default().max_length,
            window: None,
        }
    }
}

/// The message of a thrown error on one line (see [`crate::formats::one_line`]).
fn one_line_error(e: JsValue) -> JsValue {
    match e.as_string() {
        Some(text) => JsValue::from_str(&crate::formats::one_line(&text)),
        None => e,
    }
}

/// Joins the numbers of every share (in share order) that `DatasetRun::numbers` returned for one
/// dataset, and `files` (one share's `files`), into `DatasetRun::report`'s JSON: the same report, bit for
/// bit, as one run over all layers.
#[wasm_bindgen]
pub fn combine_layers(shares: js_sys::Array, files: &str) -> Result<String, JsValue> {
    let parts = shares
        .iter()
        .map(|n| serde_wasm_bindgen::from_value::<AnalysisNumbers>(n).map(Analysis::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(js_error)?;
    let combined = Analysis::combine_layers(parts).map_err(js_error)?;
    let described: Vec<serde_json::Value> = serde_json::from_str(files).map_err(js_error)?;
    Ok(result_json(&combined, described).to_string())
}

/// Numbers cross between workers as JS values: u64 counts as BigInt, so none loses a bit (a JS
/// number holds 53); fingerprints are hex strings already.
fn numbers_serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true)
}

/// Any error as a thrown one-line message.
fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&crate::formats::one_line(&e.to_string()))
}

/// A dropped dataset, opened: its files (and which hold labels only), their description for the
/// page, the layout overrides and settings, and the progress reporter counting their bytes.
struct Dataset {
    files: Vec<Box<dyn TensorFile>>,
    labels_only: Vec<bool>,
    described: Vec<serde_json::Value>,
    overrides: LayoutOverrides,
    settings: AnalysisSettings,
    progress: Rc<RefCell<Progress>>,
}

fn open_dataset(
    files: js_sys::Array,
    settings: JsValue,
    progress: &js_sys::Function,
) -> Result<Dataset, JsValue> {
    let (s, settings) = parse_settings(settings)?;
    let overrides = LayoutOverrides {
        hidden: s.hidden.filter(|h| !h.is_empty()),
        ids: s.ids.map(|i| if i == "none" { String::new() } else { i }),
        labels: s.labels,
    };
    let reader = web_sys::FileReaderSync::new()?;
    let (files, progress) = files_with_progress(files, progress)?;
    if settings.centre {
        // Centring reads each layer twice (once for its mean), so the bytes to read double.
        progress.borrow_mut().bytes_total *= 2;
    }
    let mut opened: Vec<Box<dyn TensorFile>> = Vec::new();
    let mut labels_only = Vec::new();
    let mut described = Vec::new();
    for file in files {
        let name = file.name();
        let len = file.size() as u64;
        let o = open::open(&name, FileSource::new(file, &reader, &progress), len, None)
            .map_err(js_error)?;
        described.push(serde_json::json!({
            "name": name,
            "format": o.format.name(),
            "tensors": o.file.tensors().iter().map(|t| serde_json::json!({
                "name": t.name, "dtype": t.dtype.name(), "shape": t.shape,
            })).collect::<Vec<_>>(),
        }));
        opened.push(o.file);
        labels_only.push(o.labels_only);
    }
    Ok(Dataset {
        files: opened,
        labels_only,
        described,
        overrides,
        settings,
        progress,
    })
}

/// The dropped files, and the progress reporter that counts the bytes read from them.
fn files_with_progress(
    files: js_sys::Array,
    callback: &js_sys::Function,
) -> Result<(Vec<web_sys::File>, Rc<RefCell<Progress>>), JsValue> {
    let files: Vec<web_sys::File> = files
        .iter()
        .map(|f| f.dyn_into())
        .collect::<Result<_, _>>()?;
    let progress = Rc::new(RefCell::new(Progress {
        callback: callback.clone(),
        bytes_read: 0,
        bytes_total: files.iter().map(|f| f.size() as u64).sum(),
        reported_at: 0,
        done: 0,
        total: 0,
    }));
    Ok((files, progress))
}

/// What both entry points return: the report, the reference's shape, the charts and the files.
fn result_json(result: &analysis::Analysis, files: Vec<serde_json::Value>) -> serde_json::Value {
    let report = Report::from_analysis(result);
    serde_json::json!({
        "report": report,
        "reference": report::reference_shape(result),
        "charts": crate::plot::charts(&report),
        "files": files,
    })
}

/// A whole (small) file's bytes: config.json, tokenizer.json, a text.
fn read_whole(reader: &web_sys::FileReaderSync, file: &web_sys::File) -> Result<Vec<u8>, JsValue> {
    let buffer = reader.read_as_array_buffer(file)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The page's settings object, and the analysis settings it asks for.
fn parse_settings(settings: JsValue) -> Result<(WebSettings, AnalysisSettings), JsValue> {
    let s: WebSettings = if settings.is_undefined() || settings.is_null() {
        WebSettings::default()
    } else {
        serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsValue::from_str(&format!("bad settings: {e}")))?
    };
    let calibration = match s.eps {
        Some(eps) => Calibration::Fixed(eps),
        None => {
            Calibration::parse(&s.calibration).map_err(|e| JsValue::from_str(&e.to_string()))?
        }
    };
    let analysis = AnalysisSettings {
        estimator: EstimatorConfig {
            n_bins: s.n_bins,
            seed: s.seed,
            calibration,
        },
        orders: s.orders.clone(),
        layers: s
            .layers
            .clone()
            .filter(|l| !l.trim().is_empty())
            .map(|l| analysis::parse_layers(&l))
            .transpose()
            .map_err(|e| JsValue::from_str(&e))?,
        sequences: None,
        labels: LabelOptions {
            exclude_first: s.exclude_first,
            exclude_tokens: s.exclude_tokens.clone(),
            min_count: s.min_count,
            backoff: s.backoff,
            shuffles: s.shuffles,
            shuffle_seed: s.shuffle_seed,
        },
        seeds: s.seeds,
        centre: s.centre,
    };
    Ok((s, analysis))
}

/// One checkpoint as the page sends it: a label, its training step if the name gave one, and
/// its layer-mean complexity and expressivity for one order.
#[derive(Deserialize)]
struct WebTrajectoryPoint {
    label: String,
    step: Option<u64>,
    complexity: Option<f64>,
    expressivity: Option<f64>,
    /// Layer means of the shuffled-label baselines, when the run had shuffles.
    #[serde(default)]
    complexity_baseline: Option<f64>,
    #[serde(default)]
    expressivity_baseline: Option<f64>,
}

/// The SVG of checkpoints on the information plane (`points`: an array of
/// `{label, step, complexity, expressivity}`, in training order) for the order called `order_name`.
#[wasm_bindgen]
pub fn trajectory_chart(points: JsValue, order_name: &str) -> Result<String, JsValue> {
    let points: Vec<WebTrajectoryPoint> = serde_wasm_bindgen::from_value(points)
        .map_err(|e| JsValue::from_str(&format!("bad trajectory points: {e}")))?;
    let points: Vec<crate::plot::TrajectoryPoint> = points
        .into_iter()
        .map(|p| crate::plot::TrajectoryPoint {
            label: p.label,
            step: p.step,
            complexity: p.complexity.unwrap_or(f64::NAN),
            expressivity: p.expressivity.unwrap_or(f64::NAN),
            baseline: p.complexity_baseline.zip(p.expressivity_baseline),
        })
        .collect();
    Ok(crate::plot::trajectory(&points, order_name))
}
