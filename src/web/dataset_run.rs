//! One worker's analysis of a dropped dump, or of a share of its layers, in steps `www/worker.js`
//! drives: open and plan (`new DatasetRun`), then the rows, either as the byte ranges `chunks()`
//! names, read ahead by a reader worker and handed over in pieces with `feed_part` (the page) or
//! a chunk at a time with `feed` (reading and computing overlap), or read here with `read_rows`;
//! then `numbers()` (a share, for `combine_layers`) or `report()` (the whole dataset).

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{
    js_error, numbers_serializer, one_line_error, open_dataset, result_json, Dataset, Progress,
};
use crate::analysis::{AnalysisNumbers, LayerRun, LayerShare};

/// An open dataset and its analysis under way.
#[wasm_bindgen]
pub struct DatasetRun {
    dataset: Dataset,
    /// Byte length of each file, as the browser gives it.
    lengths: Vec<u64>,
    run: LayerRun,
}

/// Tells `progress` that `done` of `total` layers are done.
fn layers_done(progress: &Rc<RefCell<Progress>>) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        let mut p = progress.borrow_mut();
        p.done = done;
        p.total = total;
        p.report();
    }
}

#[wasm_bindgen]
impl DatasetRun {
    /// Opens `files` (an array of `File`, forming one dataset) with `settings` (an object; missing
    /// fields take the reference's defaults) and plans share `part` of `parts` of the chosen
    /// layers (a share beyond the layers is empty). `progress(bytes_read, bytes_total,
    /// layers_done, layers_total)` is called as the files are read and after each layer. Throws
    /// the one-line message on bad input.
    #[wasm_bindgen(constructor)]
    pub fn new(
        files: js_sys::Array,
        settings: JsValue,
        part: usize,
        parts: usize,
        progress: &js_sys::Function,
    ) -> Result<DatasetRun, JsValue> {
        let lengths = files
            .iter()
            .map(|f| f.dyn_into::<web_sys::File>().map(|f| f.size() as u64))
            .collect::<Result<Vec<_>, _>>()?;
        let mut dataset = open_dataset(files, settings, progress).map_err(one_line_error)?;
        let run = LayerRun::prepare(
            &mut dataset.files,
            &dataset.labels_only,
            &dataset.overrides,
            &dataset.settings,
            false,
            LayerShare { part, parts },
        )
        .map_err(js_error)?;
        layers_done(&dataset.progress)(0, run.layer_count());
        Ok(DatasetRun {
            dataset,
            lengths,
            run,
        })
    }

    /// The byte ranges of the rows, in the order `feed` takes them: `[file, start, end, file,
    /// start, end, ...]` (indices into the files given, byte offsets), or `undefined` when they
    /// are not all stored as plain bytes (a compressed `.npz`, TSV, a torch file): then
    /// `read_rows` reads them.
    pub fn chunks(&mut self) -> Option<js_sys::Float64Array> {
        let chunks = self.run.chunks(&self.dataset.files, &self.lengths)?;
        let flat: Vec<f64> = chunks
            .iter()
            .flat_map(|c| [c.file as f64, c.bytes.start as f64, c.bytes.end as f64])
            .collect();
        Some(js_sys::Float64Array::from(flat.as_slice()))
    }

    /// Takes the next chunk `chunks` named, as read (a `Uint8Array` of its bytes; one of another
    /// length is a short read, refused with the file's and the tensor's names).
    pub fn feed(&mut self, chunk: &js_sys::Uint8Array) -> Result<(), JsValue> {
        let got = chunk.length() as usize;
        let progress = self.dataset.progress.clone();
        self.run
            .feed(
                |buffer| {
                    if got != buffer.len() {
                        return Err(format!(
                            "the file gave {got} bytes where {} were expected (was it changed or \
                             removed while it was read?)",
                            buffer.len()
                        ));
                    }
                    chunk.copy_to(buffer);
                    Ok(())
                },
                &mut layers_done(&progress),
            )
            .map_err(js_error)?;
        progress.borrow_mut().read(got as u64);
        Ok(())
    }

    /// Takes the next bytes of the chunks `chunks` named, all of them one after another, in a
    /// piece of any length (a `Uint8Array`): the page's reader worker reads the rows in small
    /// pieces (`www/worker.js`). Each chunk's rows are analysed once its last byte has come.
    pub fn feed_part(&mut self, piece: &js_sys::Uint8Array) -> Result<(), JsValue> {
        let len = piece.length() as usize;
        let progress = self.dataset.progress.clone();
        self.run
            .feed_part(
                len,
                // Piece lengths are u32 (a Uint8Array's), so the offsets are too.
                |from, buffer| {
                    piece
                        .subarray(from as u32, (from + buffer.len()) as u32)
                        .copy_to(buffer)
                },
                &mut layers_done(&progress),
            )
            .map_err(js_error)?;
        progress.borrow_mut().read(len as u64);
        Ok(())
    }

    /// Reads the rows here, through `FileReaderSync` (when `chunks` gave none).
    pub fn read_rows(&mut self) -> Result<(), JsValue> {
        let progress = self.dataset.progress.clone();
        let mut on_layer = layers_done(&progress);
        self.run
            .read_rows(&mut self.dataset.files, &mut on_layer)
            .map_err(js_error)
    }

    /// A share's numbers for `combine_layers`: `{"numbers": <the share's numbers, a JS object:
    /// exact doubles, NaN kept, 64-bit integers as BigInt>, "files": <JSON of the files>}`.
    pub fn numbers(self) -> Result<JsValue, JsValue> {
        let result = self.run.finish().map_err(js_error)?;
        let out = js_sys::Object::new();
        let numbers = AnalysisNumbers::from(&result)
            .serialize(&numbers_serializer())
            .map_err(js_error)?;
        js_sys::Reflect::set(&out, &"numbers".into(), &numbers)?;
        js_sys::Reflect::set(
            &out,
            &"files".into(),
            &JsValue::from_str(&serde_json::Value::Array(self.dataset.described).to_string()),
        )?;
        Ok(out.into())
    }

    /// The whole dataset's result, as JSON: `{"report": <the CLI's report>, "reference": <the
    /// reference's shape>, "charts": [[name, svg], ...], "files": [{"name", "format", "tensors":
    /// [...]}]}`.
    pub fn report(self) -> Result<String, JsValue> {
        let result = self.run.finish().map_err(js_error)?;
        Ok(result_json(&result, self.dataset.described).to_string())
    }
}
