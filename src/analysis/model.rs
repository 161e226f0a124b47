//! A model's hidden states analysed on token sequences, the way [`super::analyze`] analyses a dump
//! of them, split into steps that any number of threads or Web Workers can share without changing
//! a bit: [`ModelAnalysis::forward_batch`] runs forward passes (*jobs*: one sequence each, with
//! the analysed layers' states kept at its planned positions only), the jobs of one of
//! [`ModelAnalysis::batches`] at once (the same bits as one at a time), anywhere, in any order. [`ModelAnalysis::take`] hands a job's states to the accumulators and must see the
//! jobs in order, so the sums are added in the same order however the passes were shared out.
//!
//! The CLI drives it through [`crate::ordered::map_in_order`] ([`analyze_model`], a batch per
//! item); the page drives it from JavaScript, one instance per worker, the batches spread over the
//! workers and the states taken by one of them (`www/app.js`, `runModel`).

use std::ops::Range;

use super::{
    label_ids, update_all, Analysis, AnalysisError, AnalysisSettings, InputSummary, LayerState,
    RowMean,
};
use crate::estimator::accumulator::LabelIds;
use crate::estimator::SoftEntropyAccumulator;
use crate::formats::tensor::Floats;
use crate::labels::{self, LabelPlan};
use crate::model::{self, ModelError, Transformer};
use crate::ordered;

/// One forward pass: a sequence, and the planned positions whose states are kept.
#[derive(Clone, Debug)]
struct Job {
    /// Index into the sequences.
    sequence: usize,
    /// Range into `positions` (the centring pass's or the analysis's) of this sequence's
    /// positions, in order.
    at: Range<usize>,
    /// A centring job (its rows go into the means) or an analysis one.
    centring: bool,
}

/// Everything a forward pass needs, fixed once the analysis is planned: shared by every thread.
pub struct ForwardPlan {
    name: String,
    d: usize,
    /// `slot[hidden state]` = index into the analysed layers, for the analysed ones.
    slot: Vec<Option<usize>>,
    tokens: Vec<u32>,
    ranges: Vec<Range<usize>>,
    jobs: Vec<Job>,
    /// The centring pass's positions (every sequence's, before any is left out), if centring.
    universe: Vec<usize>,
    plan: LabelPlan,
}

/// What the jobs' states add up to, in job order.
struct Sums {
    accs: Vec<Vec<SoftEntropyAccumulator>>,
    /// The analysed layers' running means, while the centring jobs are taken.
    means: Option<Vec<RowMean>>,
    ids: LabelIds,
    /// Jobs taken so far.
    taken: usize,
    /// Whether the label sets have made room for all their values (see [`Sums::start_estimates`]).
    reserved: bool,
}

/// A planned analysis of a model's hidden states on token sequences: see the module's
/// documentation.
pub struct ModelAnalysis {
    forward: ForwardPlan,
    sums: Sums,
    settings: AnalysisSettings,
    layers: Vec<usize>,
    hidden_states: usize,
    chosen: Range<usize>,
    keep_counts: bool,
}

impl ModelAnalysis {
    /// Plans the analysis of a model with `hidden_states` states of width `d` on `sequences` of
    /// token ids (see [`crate::probe`]); `name` names the checkpoint in the report and in errors.
    pub fn new(
        d: usize,
        hidden_states: usize,
        name: &str,
        sequences: &[Vec<u32>],
        settings: &AnalysisSettings,
        keep_counts: bool,
    ) -> Result<Self, AnalysisError> {
        settings.check(name)?;
        let available: Vec<usize> = (0..hidden_states).collect();
        let layers = settings.chosen_layers(&available, name, "the model has hidden states")?;
        let mut tokens = Vec::new();
        let mut ranges = Vec::with_capacity(sequences.len());
        for s in sequences {
            ranges.push(tokens.len()..tokens.len() + s.len());
            tokens.extend_from_slice(s);
        }
        let chosen = settings.chosen_sequences(ranges.len(), name, "the text gives")?;
        let plan = labels::plan(
            &tokens,
            &ranges,
            Some(chosen.clone()),
            &settings.orders,
            Vec::new(),
            &settings.labels,
        )?;
        let prototype = settings.accumulators(d, &plan.specs)?;
        let accs = layers.iter().map(|_| prototype.clone()).collect();
        let ids = label_ids(&plan)?;
        let mut slot = vec![None; hidden_states];
        for (i, &l) in layers.iter().enumerate() {
            slot[l] = Some(i);
        }
        // Centring first runs every sequence for the means of its universe positions, then the
        // chosen ones for the analysis.
        let mut jobs = Vec::new();
        let (universe, means) = if settings.centre {
            let universe = plan.universe_positions.clone();
            jobs.extend(jobs_for(&ranges, 0..ranges.len(), &universe, true));
            (
                universe,
                Some(layers.iter().map(|_| RowMean::new(d)).collect()),
            )
        } else {
            (Vec::new(), None)
        };
        jobs.extend(jobs_for(&ranges, chosen.clone(), &plan.positions, false));
        Ok(Self {
            forward: ForwardPlan {
                name: name.to_owned(),
                d,
                slot,
                tokens,
                ranges,
                jobs,
                universe,
                plan,
            },
            sums: Sums {
                accs,
                means,
                ids,
                taken: 0,
                reserved: false,
            },
            settings: settings.clone(),
            layers,
            hidden_states,
            chosen,
            keep_counts,
        })
    }

    /// How many forward passes the analysis takes (with centring, every sequence twice).
    pub fn jobs(&self) -> usize {
        self.forward.jobs.len()
    }

    /// How many f32 values job `k`'s states hold: analysed layers × its positions × d (0 when the
    /// sequence has no planned positions, and then [`Self::forward_batch`] runs nothing).
    pub fn states_len(&self, k: usize) -> usize {
        self.forward.states_len(k)
    }

    /// The jobs in batches of consecutive ones, at most [`crate::model::BATCH_TOKENS`] tokens run
    /// in each (a longer sequence alone).
    pub fn batches(&self) -> Vec<Range<usize>> {
        self.forward.batches()
    }

    /// The states of each of `jobs`, their sequences run as one batch (the same bits as one at a
    /// time). A job's states are the analysed layers' states at its planned positions, layer after
    /// layer (in the order of the analysed layers), each its positions' rows in order, `d` f32
    /// each; a sequence without positions is not run.
    pub fn forward_batch(
        &self,
        model: &dyn Transformer,
        jobs: Range<usize>,
    ) -> Result<Vec<Vec<f32>>, AnalysisError> {
        self.forward.run_batch(model, jobs)
    }

    /// Adds job `k`'s states (from [`Self::forward_batch`], by any thread or worker) to the sums. Jobs
    /// must be taken in order, 0 first: anything else is refused.
    pub fn take(&mut self, k: usize, states: &[f32]) -> Result<(), AnalysisError> {
        self.sums.take(&self.forward, k, states)
    }

    /// The analysis, once every job has been taken.
    pub fn finish(mut self) -> Result<Analysis, AnalysisError> {
        let jobs = self.jobs();
        if self.sums.taken != jobs {
            return Err(AnalysisError::Settings(format!(
                "{}: {} of {jobs} forward passes taken",
                self.forward.name, self.sums.taken
            )));
        }
        self.sums.centre_once()?;
        let plan = self.forward.plan;
        let n_sets = plan.specs.len();
        let shuffles = self.settings.labels.shuffles;
        let keep_counts = self.keep_counts;
        let states = self
            .layers
            .iter()
            .zip(self.sums.accs)
            .map(|(&layer, a)| LayerState::new(layer, a, n_sets, shuffles, keep_counts))
            .collect();
        let chosen = &self.forward.ranges[self.chosen];
        let (name, d) = (self.forward.name, self.forward.d);
        Ok(Analysis {
            settings: AnalysisSettings {
                orders: plan.orders.clone(),
                layers: Some(self.layers),
                ..self.settings
            },
            input: InputSummary {
                files: vec![name.clone()],
                layout: format!(
                    "model {name}: {} hidden states of width {d}, run on {} sequences",
                    self.hidden_states,
                    chosen.len()
                ),
                layers_in_file: self.hidden_states,
                d,
                sequences: chosen.len(),
                tokens: chosen.iter().map(|r| r.len()).sum(),
                positions: plan.positions.len(),
                sequences_without_positions: plan.sequences_without_positions,
                backoff: plan.backoff_counts.clone(),
                label_data: vec![plan.fingerprint],
            },
            specs: plan.specs,
            layers: states,
        })
    }
}

/// A job for each sequence of `which`, with its positions among `positions` (ascending).
fn jobs_for(
    ranges: &[Range<usize>],
    which: Range<usize>,
    positions: &[usize],
    centring: bool,
) -> Vec<Job> {
    let mut cursor = 0usize;
    which
        .map(|sequence| {
            let range = &ranges[sequence];
            while cursor < positions.len() && positions[cursor] < range.start {
                cursor += 1;
            }
            let start = cursor;
            while cursor < positions.len() && positions[cursor] < range.end {
                cursor += 1;
            }
            Job {
                sequence,
                at: start..cursor,
                centring,
            }
        })
        .collect()
}

impl ForwardPlan {
    fn positions(&self, job: &Job) -> &[usize] {
        let all = if job.centring {
            &self.universe
        } else {
            &self.plan.positions
        };
        &all[job.at.clone()]
    }

    fn states_len(&self, k: usize) -> usize {
        let analysed = self.slot.iter().flatten().count();
        analysed * self.jobs[k].at.len() * self.d
    }

    /// Consecutive jobs in batches of at most [`crate::model::BATCH_TOKENS`] tokens, counting
    /// only the sequences that are run.
    fn batches(&self) -> Vec<Range<usize>> {
        crate::model::batches(self.jobs.iter().map(|job| {
            if job.at.is_empty() {
                0
            } else {
                self.ranges[job.sequence].len()
            }
        }))
    }

    /// The states of each of `jobs` (see [`ModelAnalysis::forward_batch`]), their sequences run
    /// as one batch (the same bits as one at a time; see [`Transformer::forward_batch`]).
    fn run_batch(
        &self,
        model: &dyn Transformer,
        jobs: Range<usize>,
    ) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let d = self.d;
        let mut states: Vec<Vec<f32>> = jobs
            .clone()
            .map(|k| vec![0f32; self.states_len(k)])
            .collect();
        // The jobs that run, where their sequence's rows start in the batch, and the batch.
        let mut run = Vec::new();
        let (mut ids, mut sequences) = (Vec::new(), Vec::new());
        for (i, k) in jobs.clone().enumerate() {
            let job = &self.jobs[k];
            if job.at.is_empty() {
                continue;
            }
            let range = &self.ranges[job.sequence];
            run.push((i, job, ids.len()));
            sequences.push(ids.len()..ids.len() + range.len());
            ids.extend_from_slice(&self.tokens[range.clone()]);
        }
        if run.is_empty() {
            return Ok(states);
        }
        let done = model.forward_batch(&ids, &sequences, &mut |layer, s| {
            if let Some(slot) = self.slot[layer] {
                for &(i, job, first) in &run {
                    let positions = self.positions(job);
                    let per_layer = positions.len() * d;
                    let out = &mut states[i][slot * per_layer..(slot + 1) * per_layer];
                    let start = self.ranges[job.sequence].start;
                    for (row, &p) in out.chunks_exact_mut(d).zip(positions) {
                        for (o, &v) in row.iter_mut().zip(s.row(first + p - start)) {
                            *o = v;
                        }
                    }
                }
            }
            Ok(())
        });
        match done {
            Ok(()) => Ok(states),
            Err(e) => Err(match model::failing_sequence(model, &ids, &sequences) {
                Some((i, e)) => self.failed(&format!("sequence {}", run[i].1.sequence), e),
                None => {
                    let (a, b) = (run[0].1.sequence, run[run.len() - 1].1.sequence);
                    self.failed(&format!("sequences {a} to {b}"), e)
                }
            }),
        }
    }

    fn failed(&self, which: &str, e: ModelError) -> AnalysisError {
        AnalysisError::Model(ModelError::new(format!("{}, {which}: {e}", self.name)))
    }
}

impl Sums {
    fn take(
        &mut self,
        forward: &ForwardPlan,
        k: usize,
        states: &[f32],
    ) -> Result<(), AnalysisError> {
        let refuse =
            |what: String| Err(AnalysisError::Settings(format!("{}: {what}", forward.name)));
        if k >= forward.jobs.len() {
            return refuse(format!(
                "no forward pass {k}: the run has {}",
                forward.jobs.len()
            ));
        }
        if k != self.taken {
            return refuse(format!(
                "forward pass {k} handed over when {} was due",
                self.taken
            ));
        }
        let expected = forward.states_len(k);
        if states.len() != expected {
            return refuse(format!(
                "forward pass {k} handed over {} values, not {expected}",
                states.len()
            ));
        }
        let job = &forward.jobs[k];
        if !job.centring {
            self.start_estimates()?;
        }
        if !job.at.is_empty() {
            let per_layer = job.at.len() * forward.d;
            for (i, rows) in states.chunks_exact(per_layer).enumerate() {
                match (&mut self.means, job.centring) {
                    (Some(means), true) => means[i].add_rows(rows),
                    _ => update_all(
                        &mut self.accs[i],
                        Floats::F32(rows),
                        forward.d,
                        &forward.plan,
                        &self.ids,
                        job.at.clone(),
                    )?,
                }
            }
        }
        self.taken += 1;
        Ok(())
    }

    /// Once the centring jobs are all taken: their means become the accumulators' centres.
    fn centre_once(&mut self) -> Result<(), AnalysisError> {
        if let Some(means) = self.means.take() {
            for (layer_accs, mean) in self.accs.iter_mut().zip(means) {
                let mean = mean.mean();
                *layer_accs = std::mem::take(layer_accs)
                    .into_iter()
                    .map(|a| a.with_centre(mean.clone()))
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(())
    }

    /// Before the first estimate job is added: centres (see [`Sums::centre_once`]), then every
    /// label set makes room for all its values. Not earlier: the page's workers that only run
    /// forward passes hold a plan too, and centring would not need the room.
    fn start_estimates(&mut self) -> Result<(), AnalysisError> {
        self.centre_once()?;
        if !self.reserved {
            self.reserved = true;
            for a in self.accs.iter_mut().flatten() {
                a.reserve_labels(&self.ids);
            }
        }
        Ok(())
    }
}

/// Analyses the hidden states of `model` on `sequences` of token ids (see [`crate::probe`]) the
/// way [`super::analyze`] analyses a dump of them: each sequence is run once (with centring,
/// twice: first for the means), in batches of consecutive sequences, and every analysed layer's
/// states at the planned positions go into that layer's accumulators, so memory holds one batch's
/// activations per thread plus the planned positions' states of the few batches computed ahead.
/// `name` names the checkpoint in the report; `threads` run forward passes side by side (the
/// numbers do not depend on it); `on_sequence(done, total)` is called after each forward pass.
#[allow(clippy::too_many_arguments)]
pub fn analyze_model(
    model: &dyn Transformer,
    name: &str,
    sequences: &[Vec<u32>],
    settings: &AnalysisSettings,
    keep_counts: bool,
    threads: usize,
    on_sequence: &mut dyn FnMut(usize, usize),
) -> Result<Analysis, AnalysisError> {
    let mut analysis = ModelAnalysis::new(
        model.d(),
        model.hidden_states(),
        name,
        sequences,
        settings,
        keep_counts,
    )?;
    let jobs = analysis.jobs();
    let (forward, sums) = (&analysis.forward, &mut analysis.sums);
    let batches = forward.batches();
    ordered::map_in_order(
        batches.len(),
        threads,
        &|b| forward.run_batch(model, batches[b].clone()),
        &mut |b, states| {
            for (k, s) in batches[b].clone().zip(states) {
                sums.take(forward, k, &s)?;
                on_sequence(k + 1, jobs);
            }
            Ok(())
        },
    )?;
    analysis.finish()
}
