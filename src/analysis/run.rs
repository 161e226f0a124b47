//! One analysis of a dump's layers, in two steps: [`LayerRun::prepare`] finds the layout, builds
//! the label plan and the accumulators; then the rows go in, either read by the run itself through
//! the files' readers ([`LayerRun::read_rows`], the CLI) or fetched by the caller as the byte
//! ranges [`LayerRun::chunks`] names and handed over, a chunk at a time ([`LayerRun::feed`]) or in
//! pieces of any length ([`LayerRun::feed_part`]; the page reads them ahead in another worker, so
//! reading and computing overlap). Both ways add the same rows in the same order, so they give
//! the same numbers, bit for bit.

use std::ops::Range;

use super::rows::{self, chunk_rows, Gathered, RowMean, Split};
use super::{Analysis, AnalysisError, AnalysisSettings, InputSummary, LayerShare, LayerState};
use crate::estimator::accumulator::LabelIds;
use crate::estimator::SoftEntropyAccumulator;
use crate::formats::layout::{self, LayerSource, LayoutOverrides};
use crate::formats::tensor::{FloatDecoder, Floats, StoredSpan, TensorFile};
use crate::formats::FormatError;
use crate::labels::{self, LabelPlan, NamedColumn};

/// How many layers [`analyze`] would analyse with these settings: how many shares are worth
/// running side by side.
pub fn chosen_layer_count(
    files: &mut [Box<dyn TensorFile>],
    label_files: &[bool],
    overrides: &LayoutOverrides,
    settings: &AnalysisSettings,
) -> Result<usize, AnalysisError> {
    let layout = layout::detect(files, label_files, overrides)?;
    let source: Vec<&str> = files.iter().map(|f| f.file_name()).collect();
    let available: Vec<usize> = layout.layers.iter().map(|l| l.layer).collect();
    Ok(settings
        .chosen_layers(&available, &source.join(" + "), "the data has layers")?
        .len())
}

/// Analyses a dataset made of `files` (see `formats::layout` for what is recognised).
/// `label_files[i]` marks files whose columns are all label sets (TSV metadata). With
/// `keep_counts` the result keeps every layer's soft counts, so it can be saved and merged;
/// without, each layer's counts are dropped once its numbers are read off. `share` picks the part
/// of the chosen layers this run analyses ([`LayerShare::WHOLE`]: all). `on_layer(done, total)`
/// is called once the layers are known (`done` = 0) and after each layer (the page shows it as
/// progress).
pub fn analyze(
    files: &mut [Box<dyn TensorFile>],
    label_files: &[bool],
    overrides: &LayoutOverrides,
    settings: &AnalysisSettings,
    keep_counts: bool,
    share: LayerShare,
    on_layer: &mut dyn FnMut(usize, usize),
) -> Result<Analysis, AnalysisError> {
    let mut run = LayerRun::prepare(files, label_files, overrides, settings, keep_counts, share)?;
    on_layer(0, run.layers.len());
    run.read_rows(files, on_layer)?;
    run.finish()
}

/// What a pass over one layer's rows is for: the mean that centring subtracts (a first pass,
/// over every position of the whole data), or the estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Mean,
    Estimate,
}

/// One pass over a layer's rows: which layer (index into the run's layers) and what for.
#[derive(Clone, Copy, Debug)]
struct Pass {
    layer: usize,
    purpose: Purpose,
}

/// Bytes a caller fetches for [`LayerRun::feed`] or [`LayerRun::feed_part`]: bytes `bytes` of
/// file `file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowChunk {
    pub file: usize,
    pub bytes: Range<u64>,
}

/// The chunks of the rows still to come, where each lies and how it is stored.
struct ChunkPlan {
    chunks: Vec<RowChunk>,
    /// For each chunk: its pass (index into the run's passes) and how its bytes are stored.
    stored: Vec<(usize, StoredSpan)>,
    /// The next chunk [`LayerRun::feed`] or [`LayerRun::feed_part`] takes.
    next: usize,
    /// Bytes of chunk `next` come so far, once [`LayerRun::feed_part`] (or `feed`) has begun it.
    open: Option<usize>,
}

/// The pass under way and where it stands.
struct Current {
    pass: usize,
    accs: Vec<SoftEntropyAccumulator>,
    mean: Option<RowMean>,
    at: Gathered,
    split: Split,
}

/// An analysis prepared and under way: see the module's documentation.
pub struct LayerRun {
    names: Vec<String>,
    source: String,
    layout: layout::Layout,
    settings: AnalysisSettings,
    keep_counts: bool,
    /// The layers this run analyses, and their sources in the layout.
    layers: Vec<usize>,
    sources: Vec<LayerSource>,
    plan: LabelPlan,
    /// The analysed rows of each layer, and the rows a centring mean averages over.
    rows: Vec<usize>,
    universe_rows: Vec<usize>,
    /// Sequences and tokens analysed.
    summary: (usize, usize),
    /// A fresh accumulator per seed, cloned for every layer.
    prototype: Vec<SoftEntropyAccumulator>,
    ids: LabelIds,
    passes: Vec<Pass>,
    /// Passes finished.
    done: usize,
    current: Option<Current>,
    states: Vec<LayerState>,
    plan_of_chunks: Option<ChunkPlan>,
    decoder: FloatDecoder,
    /// The chunk's bytes as [`LayerRun::feed`] and [`LayerRun::feed_part`] fill them, 8-byte
    /// aligned so float32 rows decode in place.
    buffer: Vec<u64>,
}

impl LayerRun {
    /// Finds the layout of `files`, checks the settings, builds the label plan and one
    /// accumulator per seed for share `share` of the chosen layers (see [`analyze`]).
    pub fn prepare(
        files: &mut [Box<dyn TensorFile>],
        label_files: &[bool],
        overrides: &LayoutOverrides,
        settings: &AnalysisSettings,
        keep_counts: bool,
        share: LayerShare,
    ) -> Result<Self, AnalysisError> {
        let layout = layout::detect(files, label_files, overrides)?;
        let names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
        let source = names.join(" + ");
        settings.check(&source)?;
        if share.parts == 0 || share.part >= share.parts {
            return Err(AnalysisError::Settings(format!(
                "{source}: share {} of {} does not exist",
                share.part, share.parts
            )));
        }
        let available: Vec<usize> = layout.layers.iter().map(|l| l.layer).collect();
        let layers = share
            .of(&settings.chosen_layers(&available, &source, "the data has layers")?)
            .to_vec();
        let sources = layers
            .iter()
            .map(|&layer| {
                layout
                    .layers
                    .iter()
                    .find(|s| s.layer == layer)
                    .expect("layers were checked against the layout")
                    .clone()
            })
            .collect();

        // Positions (rows within a layer), their label sets, and the summary of what went in.
        let (plan, rows, universe_rows, summary) = match &layout.text {
            Some(text) => {
                let chosen =
                    settings.chosen_sequences(text.sequences.len(), &source, "the data has")?;
                let named = layout
                    .extra_labels
                    .iter()
                    .map(|e| NamedColumn {
                        name: e.name.clone(),
                        keys: text.token_rows.iter().map(|&r| e.keys[r]).collect(),
                    })
                    .collect();
                let plan = labels::plan(
                    &text.tokens,
                    &text.sequences,
                    Some(chosen.clone()),
                    &settings.orders,
                    named,
                    &settings.labels,
                )?;
                let rows: Vec<usize> = plan.positions.iter().map(|&p| text.token_rows[p]).collect();
                let universe_rows: Vec<usize> = plan
                    .universe_positions
                    .iter()
                    .map(|&p| text.token_rows[p])
                    .collect();
                let chosen = &text.sequences[chosen];
                let summary = (chosen.len(), chosen.iter().map(|s| s.len()).sum::<usize>());
                (plan, rows, universe_rows, summary)
            }
            None => {
                let l = &settings.labels;
                if settings.sequences.is_some()
                    || l.exclude_first > 0
                    || !l.exclude_tokens.is_empty()
                {
                    let what = if settings.sequences.is_some() {
                        "--sequences"
                    } else {
                        "excluding positions"
                    };
                    return Err(AnalysisError::Settings(format!(
                        "{source}: {what} needs token ids to find sequences, and the data has none"
                    )));
                }
                if l.backoff.is_some() {
                    return Err(AnalysisError::Settings(format!(
                        "{source}: back-off labels need token ids, and the data has none"
                    )));
                }
                let named = layout
                    .extra_labels
                    .iter()
                    .map(|e| NamedColumn {
                        name: e.name.clone(),
                        keys: e.keys.clone(),
                    })
                    .collect();
                let plan = labels::plan_rows(layout.rows_per_layer, named, l);
                let rows = plan.positions.clone();
                (plan, rows.clone(), rows, (0, 0))
            }
        };

        // A share beyond the layers (the page starts its workers before it knows how many layers
        // there are) needs no accumulators: it brings the input's summary only.
        let prototype = if layers.is_empty() {
            Vec::new()
        } else {
            settings.accumulators(layout.d, &plan.specs)?
        };
        let ids = rows::label_ids(&plan)?;
        let purposes: &[Purpose] = if settings.centre {
            &[Purpose::Mean, Purpose::Estimate]
        } else {
            &[Purpose::Estimate]
        };
        let passes = (0..layers.len())
            .flat_map(|layer| purposes.iter().map(move |&purpose| Pass { layer, purpose }))
            .collect();
        Ok(Self {
            names,
            source,
            layout,
            settings: settings.clone(),
            keep_counts,
            layers,
            sources,
            plan,
            rows,
            universe_rows,
            summary,
            prototype,
            ids,
            passes,
            done: 0,
            current: None,
            states: Vec::new(),
            plan_of_chunks: None,
            decoder: FloatDecoder::default(),
            buffer: Vec::new(),
        })
    }

    /// How many layers this run analyses.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// The rows a pass reads.
    fn rows_of(&self, pass: Pass) -> &[usize] {
        match pass.purpose {
            Purpose::Mean => &self.universe_rows,
            Purpose::Estimate => &self.rows,
        }
    }

    /// Starts pass `p`: a layer's first pass takes fresh accumulators; the estimate after a mean
    /// pass centres them on that mean. An estimate's label sets make room for all their values.
    fn begin(&mut self, p: usize) -> Result<(), AnalysisError> {
        let pass = self.passes[p];
        let mut accs: Vec<SoftEntropyAccumulator> = match self.current.take() {
            Some(c) if c.pass + 1 == p && self.passes[c.pass].layer == pass.layer => {
                let mean = c.mean.expect("a mean pass sums a mean").mean();
                c.accs
                    .into_iter()
                    .map(|a| a.with_centre(mean.clone()))
                    .collect::<Result<_, _>>()?
            }
            _ => self.prototype.clone(),
        };
        if pass.purpose == Purpose::Estimate {
            accs.iter_mut().for_each(|a| a.reserve_labels(&self.ids));
        }
        let d = self.layout.d;
        self.current = Some(Current {
            pass: p,
            accs,
            mean: (pass.purpose == Purpose::Mean).then(|| RowMean::new(d)),
            at: Gathered::new(self.rows_of(pass), d),
            split: Split::default(),
        });
        Ok(())
    }

    /// Ends the pass under way: an estimate's numbers (and counts, when kept) are the layer's
    /// state. `on_layer(done, total)` is told after each layer.
    fn end(&mut self, on_layer: &mut dyn FnMut(usize, usize)) {
        let c = self.current.as_ref().expect("a pass is under way");
        let pass = self.passes[c.pass];
        self.done += 1;
        if pass.purpose == Purpose::Estimate {
            let c = self.current.take().expect("a pass is under way");
            self.states.push(LayerState::new(
                self.layers[pass.layer],
                c.accs,
                self.plan.specs.len(),
                self.settings.labels.shuffles,
                self.keep_counts,
            ));
            on_layer(self.states.len(), self.layers.len());
        }
    }

    /// Hands one run of gathered rows (`range` into the pass's rows) to the pass under way.
    #[allow(clippy::too_many_arguments)]
    fn take(
        accs: &mut [SoftEntropyAccumulator],
        mean: &mut Option<RowMean>,
        purpose: Purpose,
        values: Floats<'_>,
        d: usize,
        plan: &LabelPlan,
        ids: &LabelIds,
        range: Range<usize>,
    ) -> Result<(), crate::estimator::EstimatorError> {
        match purpose {
            Purpose::Mean => {
                mean.as_mut().expect("a mean pass").add(values);
                Ok(())
            }
            Purpose::Estimate => rows::update_all(accs, values, d, plan, ids, range),
        }
    }

    /// Reads every pass still to come through the files' own readers.
    pub fn read_rows(
        &mut self,
        files: &mut [Box<dyn TensorFile>],
        on_layer: &mut dyn FnMut(usize, usize),
    ) -> Result<(), AnalysisError> {
        // Chunks asked for but none handed over yet (the page's reader could not start): the run
        // reads them itself after all.
        match &self.plan_of_chunks {
            Some(c) if c.next > 0 || c.open.is_some() => {
                return Err(self.refusal("its rows are being handed over already"))
            }
            _ => self.plan_of_chunks = None,
        }
        for p in self.done..self.passes.len() {
            self.begin(p)?;
            let pass = self.passes[p];
            let src = &self.sources[pass.layer];
            let rows = match pass.purpose {
                Purpose::Mean => &self.universe_rows,
                Purpose::Estimate => &self.rows,
            };
            let Current { accs, mean, .. } = self.current.as_mut().expect("begun");
            let (d, plan, ids) = (self.layout.d, &self.plan, &self.ids);
            rows::stream_rows(&mut *files[src.tensor.file], src, d, rows, &mut |r, v| {
                Self::take(accs, mean, pass.purpose, v, d, plan, ids, r)
            })?;
            self.end(on_layer);
        }
        Ok(())
    }

    /// The byte ranges of every pass's rows, in the order [`feed`](Self::feed) must be given them:
    /// chunks of whole rows (natively about 1 MiB, in the page up to 16 MiB) of the files of the
    /// dataset. `None` when some layer's rows are not stored as plain bytes (a deflated `.npz`
    /// member, TSV, a torch storage, Fortran order) or some chunk ends beyond its file's
    /// `file_lengths`: then [`read_rows`](Self::read_rows) reads them, and says what is wrong
    /// with them if anything is.
    pub fn chunks(
        &mut self,
        files: &[Box<dyn TensorFile>],
        file_lengths: &[u64],
    ) -> Option<&[RowChunk]> {
        if self.done > 0 || self.current.is_some() {
            return None;
        }
        let d = self.layout.d;
        let (mut chunks, mut stored) = (Vec::new(), Vec::new());
        for (p, &pass) in self.passes.iter().enumerate() {
            let src = &self.sources[pass.layer];
            let Some(range) = rows::elements(src, d, self.rows_of(pass)) else {
                continue;
            };
            let file = src.tensor.file;
            let span = files[file].stored_span(&src.tensor.name, range.clone())?;
            let per = chunk_rows(d, span.dtype.size()) * d;
            let mut first = 0;
            while first < range.len() {
                let n = per.min(range.len() - first);
                let from = span.skip(first)?;
                let bytes = from.bytes(n)?;
                if bytes.end > *file_lengths.get(file)? {
                    return None;
                }
                chunks.push(RowChunk { file, bytes });
                stored.push((p, from));
                first += n;
            }
        }
        self.plan_of_chunks = Some(ChunkPlan {
            chunks,
            stored,
            next: 0,
            open: None,
        });
        self.plan_of_chunks.as_ref().map(|c| c.chunks.as_slice())
    }

    /// Takes the next chunk [`chunks`](Self::chunks) named: `fill` is given a buffer of exactly
    /// its length to fill with its bytes (an `Err` from it names what went wrong in reading). The
    /// rows it holds go to the accumulators; `on_layer` is told as with [`analyze`].
    pub fn feed(
        &mut self,
        fill: impl FnOnce(&mut [u8]) -> Result<(), String>,
        on_layer: &mut dyn FnMut(usize, usize),
    ) -> Result<(), AnalysisError> {
        if self
            .plan_of_chunks
            .as_ref()
            .is_some_and(|c| c.open.is_some())
        {
            return Err(self.refusal("a chunk is being handed over in parts"));
        }
        let len = self.open_chunk(on_layer)?;
        let filled = fill(&mut bytemuck::cast_slice_mut::<u64, u8>(&mut self.buffer)[..len]);
        if let Err(why) = filled {
            let (file, tensor) = self.open_chunk_source();
            let error =
                AnalysisError::Format(FormatError::new(&self.names[file], Some(tensor), why));
            // Not begun after all: the chunk may be handed over again.
            self.plan_of_chunks.as_mut().expect("asked for").open = None;
            return Err(error);
        }
        self.take_chunk(on_layer)
    }

    /// The next `len` bytes of the chunks [`chunks`](Self::chunks) named, all of them one after
    /// another, in a piece of any length: `fill(from, buffer)` copies the piece's bytes
    /// `from..from + buffer.len()` into `buffer`. Each chunk's rows go to the accumulators once
    /// its last byte has come, as with [`feed`](Self::feed), whose numbers this gives bit for bit.
    /// The page's reader worker hands the bytes over in small pieces, which Chromium reads with
    /// less work than whole chunks (BENCHMARKS.md, *Issue 8, ninth pass*).
    pub fn feed_part(
        &mut self,
        len: usize,
        mut fill: impl FnMut(usize, &mut [u8]),
        on_layer: &mut dyn FnMut(usize, usize),
    ) -> Result<(), AnalysisError> {
        let mut at = 0;
        while at < len {
            let filled = match self.plan_of_chunks.as_ref().and_then(|c| c.open) {
                Some(filled) => filled,
                None => {
                    self.open_chunk(on_layer)?;
                    0
                }
            };
            let chunks = self.plan_of_chunks.as_mut().expect("a chunk is open");
            let bytes = &chunks.chunks[chunks.next].bytes;
            let chunk_len = (bytes.end - bytes.start) as usize;
            let n = (chunk_len - filled).min(len - at);
            chunks.open = Some(filled + n);
            fill(
                at,
                &mut bytemuck::cast_slice_mut::<u64, u8>(&mut self.buffer)[filled..filled + n],
            );
            at += n;
            if filled + n == chunk_len {
                self.take_chunk(on_layer)?;
            }
        }
        Ok(())
    }

    /// Begins the next chunk: the passes before its own, its pass, and a buffer of its length
    /// (returned).
    fn open_chunk(
        &mut self,
        on_layer: &mut dyn FnMut(usize, usize),
    ) -> Result<usize, AnalysisError> {
        let Some(chunks) = self.plan_of_chunks.as_ref() else {
            return Err(self.refusal("no chunks were asked for"));
        };
        let k = chunks.next;
        let (Some(chunk), Some(&(p, _))) = (chunks.chunks.get(k), chunks.stored.get(k)) else {
            return Err(self.refusal("every chunk was handed over already"));
        };
        let len = (chunk.bytes.end - chunk.bytes.start) as usize;
        // Passes without rows have no chunks; they are done as the passes read are.
        self.pass_empty_until(p, on_layer)?;
        if self.current.as_ref().map(|c| c.pass) != Some(p) {
            self.begin(p)?;
        }
        self.buffer.resize(len.div_ceil(8), 0);
        self.plan_of_chunks.as_mut().expect("asked for").open = Some(0);
        Ok(len)
    }

    /// The file and tensor of the chunk begun.
    fn open_chunk_source(&self) -> (usize, &str) {
        let chunks = self.plan_of_chunks.as_ref().expect("a chunk is open");
        let pass = self.passes[chunks.stored[chunks.next].0];
        (
            chunks.chunks[chunks.next].file,
            &self.sources[pass.layer].tensor.name,
        )
    }

    /// Gives the rows of the chunk begun, its bytes all in the buffer, to the accumulators.
    fn take_chunk(&mut self, on_layer: &mut dyn FnMut(usize, usize)) -> Result<(), AnalysisError> {
        let chunks = self.plan_of_chunks.as_mut().expect("a chunk is open");
        let k = chunks.next;
        let (p, span) = chunks.stored[k];
        let bytes = &chunks.chunks[k].bytes;
        let len = (bytes.end - bytes.start) as usize;
        let last_of_pass = chunks.stored.get(k + 1).map(|s| s.0) != Some(p);
        let last_of_all = k + 1 == chunks.chunks.len();
        chunks.next += 1;
        chunks.open = None;
        let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut self.buffer)[..len];
        let values = rows::decode_chunk(&mut self.decoder, span.dtype, span.order, bytes);
        let pass = self.passes[p];
        let rows = match pass.purpose {
            Purpose::Mean => &self.universe_rows,
            Purpose::Estimate => &self.rows,
        };
        let Current {
            accs,
            mean,
            at,
            split,
            ..
        } = self.current.as_mut().expect("begun");
        let (d, plan, ids) = (self.layout.d, &self.plan, &self.ids);
        at.take(rows, values, split, &mut |r, v| {
            Self::take(accs, mean, pass.purpose, v, d, plan, ids, r)
        })?;
        if last_of_pass {
            self.end(on_layer);
        }
        if last_of_all {
            self.pass_empty_until(self.passes.len(), on_layer)?;
        }
        Ok(())
    }

    /// Does the passes before pass `p` that are still to come, which read no rows.
    fn pass_empty_until(
        &mut self,
        p: usize,
        on_layer: &mut dyn FnMut(usize, usize),
    ) -> Result<(), AnalysisError> {
        while self.done < p {
            if self.current.as_ref().map(|c| c.pass) != Some(self.done) {
                self.begin(self.done)?;
            }
            self.end(on_layer);
        }
        Ok(())
    }

    /// The analysis, once every pass is done.
    pub fn finish(mut self) -> Result<Analysis, AnalysisError> {
        // Handed over chunk by chunk: passes without rows after the last chunk (or all of them,
        // when no pass has rows) are done here.
        if self
            .plan_of_chunks
            .as_ref()
            .is_some_and(|c| c.next == c.chunks.len())
        {
            self.pass_empty_until(self.passes.len(), &mut |_, _| {})?;
        }
        if self.done < self.passes.len() {
            return Err(self.refusal(&format!(
                "{} of its {} passes over the rows are still to come",
                self.passes.len() - self.done,
                self.passes.len()
            )));
        }
        Ok(Analysis {
            settings: AnalysisSettings {
                orders: self.plan.orders.clone(),
                layers: Some(self.layers),
                ..self.settings
            },
            input: InputSummary {
                files: self.names,
                layout: self.layout.description.clone(),
                layers_in_file: self.layout.layers.len(),
                d: self.layout.d,
                sequences: self.summary.0,
                tokens: self.summary.1,
                positions: self.rows.len(),
                sequences_without_positions: self.plan.sequences_without_positions,
                backoff: self.plan.backoff_counts.clone(),
                label_data: vec![self.plan.fingerprint],
            },
            specs: self.plan.specs,
            layers: self.states,
        })
    }

    /// A refused call, named after the dataset.
    fn refusal(&self, why: &str) -> AnalysisError {
        AnalysisError::Settings(format!(
            "{}: the analysis was asked out of turn: {why}",
            self.source
        ))
    }
}
