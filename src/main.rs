//! The `infoplane` command line: argument parsing, file access and output, nothing else. All
//! computation is in the library, so the CLI prints what the page shows for the same file.

use std::fs::File;
use std::io::{BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use infoplane::analysis::{self, Analysis, AnalysisSettings};
use infoplane::estimator::{calibration, Calibration, EstimatorConfig};
use infoplane::formats::layout::{self, LayoutOverrides};
use infoplane::formats::npz_write::NpzWriter;
use infoplane::formats::one_line;
use infoplane::formats::open::{self, Opened};
use infoplane::formats::tensor::TensorFile;
use infoplane::labels::{self, LabelOptions};
use infoplane::model::checkpoint::{load_checkpoint, role, Checkpoint, Role};
use infoplane::model::tokenizer::Tokenizer;
use infoplane::ordered;
use infoplane::probe::{self, Probe, ProbeSettings};
use infoplane::report::{self, Report};
use infoplane::state;

#[derive(Parser)]
#[command(
    name = "infoplane",
    version,
    about = "Soft-entropy compression statistics of neural-network representations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse activation dumps and print the statistics as JSON.
    Analyze(AnalyzeArgs),
    /// List the tensors of files and say what `analyze` would use.
    Inspect(InspectArgs),
    /// Combine saved states (from `analyze --save-state`) and print the statistics of the whole.
    Merge(MergeArgs),
    /// Print the temperature ε a calibration mode gives for d dimensions and m bins.
    Calibrate(CalibrateArgs),
    /// Run model checkpoints (Hugging Face folders) on a text and analyse every hidden state.
    Model(ModelArgs),
    /// Run one checkpoint on a text and write its hidden states as the canonical .npz dump.
    HiddenStates(HiddenStatesArgs),
}

/// The text a model is run on.
#[derive(Args)]
struct TextArgs {
    /// A .txt file, one sequence per line (default: the built-in probe corpus).
    #[arg(long)]
    text: Option<PathBuf>,
    /// Use only the first N non-empty lines.
    #[arg(long)]
    max_sequences: Option<usize>,
    /// Cut each line to at most N tokens, special tokens included.
    #[arg(long, default_value_t = 128)]
    max_length: usize,
    /// Instead of one sequence per line: tokenise the whole text (no special tokens) and cut it
    /// into windows of N tokens; --max-sequences then counts windows.
    #[arg(long)]
    window: Option<usize>,
}

#[derive(Args)]
struct ModelArgs {
    /// Model folders (config.json, model*.safetensors or pytorch_model*.bin, tokenizer.json);
    /// several are analysed one after the other (checkpoints of one run) and printed as a list.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    text: TextArgs,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// Leave out positions of the tokenizer's special tokens (BOS, EOS, [CLS], [SEP], ...).
    #[arg(long)]
    exclude_special: bool,
    /// Also write the texts and token ids used, as JSON, so the run can be reproduced.
    #[arg(long)]
    save_tokens: Option<PathBuf>,
    /// Threads running forward passes side by side (default: one per core). The numbers do not
    /// depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

#[derive(Args)]
struct HiddenStatesArgs {
    /// A model folder.
    dir: PathBuf,
    #[command(flatten)]
    text: TextArgs,
    /// Where to write the dump (hidden_states [layers, tokens, d] float32, input_ids, seq_lens).
    #[arg(long)]
    out: PathBuf,
    /// Threads running forward passes side by side (default: one per core). The dump does not
    /// depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

#[derive(Args)]
struct EstimatorArgs {
    /// Number of reference points m.
    #[arg(long, default_value_t = 100)]
    bins: usize,
    /// Seed of numpy's default_rng that draws the reference points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Temperature calibration: find-eps (the reference's default), exact, leading-order.
    #[arg(long, default_value = "find-eps")]
    calibration: String,
    /// Use this temperature ε instead of a calibration.
    #[arg(long, allow_negative_numbers = true)]
    eps: Option<f64>,
}

impl EstimatorArgs {
    fn config(&self) -> Result<EstimatorConfig, String> {
        let calibration = match self.eps {
            Some(eps) => Calibration::Fixed(eps),
            None => Calibration::parse(&self.calibration).map_err(|e| e.to_string())?,
        };
        Ok(EstimatorConfig {
            n_bins: self.bins,
            seed: self.seed,
            calibration,
        })
    }
}

/// What to compute and print, shared by `analyze` and `model`.
#[derive(Args)]
struct AnalysisArgs {
    #[command(flatten)]
    estimator: EstimatorArgs,
    /// n-gram orders (1 to 4), comma-separated.
    #[arg(long, default_value = "1,2,3", value_delimiter = ',')]
    orders: Vec<usize>,
    /// Layers (hidden states) to analyse, e.g. 0,3,5-7 (default: all; 0 is the embedding output).
    #[arg(long)]
    layers: Option<String>,
    /// Leave out the first N positions of each sequence (BOS, [CLS], attention sinks; N = 1 when
    /// given without a value). Positions before n−1 are never used anyway.
    #[arg(long, value_name = "N", default_value_t = 0, default_missing_value = "1", num_args = 0..=1)]
    exclude_first: usize,
    /// Leave out positions whose token is one of these ids, e.g. 0,2 (special tokens).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    exclude_tokens: Vec<u32>,
    /// Shuffled copies of every label set, for the baseline of I that labels unrelated to the
    /// rows give (0 = none).
    #[arg(long, value_name = "K", default_value_t = labels::DEFAULT_SHUFFLES)]
    shuffles: usize,
    /// Seed of the label permutations (numpy's default_rng(seed).permutation).
    #[arg(long, default_value_t = 0)]
    shuffle_seed: u64,
    /// Sets of reference points (seeds --seed, --seed+1, ...); numbers become mean ± sd.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seeds: usize,
    /// Drop label values seen fewer than K times from their label set.
    #[arg(long, value_name = "K", default_value_t = 0)]
    min_count: usize,
    /// Add back-off label sets: at each position the highest order (up to 4) whose n-gram is seen
    /// at least K times (K = 5 when given without a value).
    #[arg(long, value_name = "K", default_missing_value = "5", num_args = 0..=1)]
    backoff: Option<usize>,
    /// Subtract each layer's mean row (over all positions, from a first pass) before normalising.
    #[arg(long)]
    centre: bool,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

impl AnalysisArgs {
    fn settings(&self, sequences: Option<Range<usize>>) -> Result<AnalysisSettings, String> {
        Ok(AnalysisSettings {
            estimator: self.estimator.config()?,
            orders: self.orders.clone(),
            layers: self
                .layers
                .as_deref()
                .map(analysis::parse_layers)
                .transpose()?,
            sequences,
            labels: LabelOptions {
                exclude_first: self.exclude_first,
                exclude_tokens: self.exclude_tokens.clone(),
                min_count: self.min_count,
                backoff: self.backoff,
                shuffles: self.shuffles,
                shuffle_seed: self.shuffle_seed,
            },
            seeds: self.seeds,
            centre: self.centre,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// infoplane's documented report (settings, per-layer metrics, optimality, counts).
    Json,
    /// Exactly the reference package's {"per_layer": [...], "mean": {...}} shape.
    Reference,
}

/// Which tensors to use, where detection by name and shape needs help.
#[derive(Args)]
struct LayoutArgs {
    /// Name of the hidden-state tensor (stacked) or the prefix of per-layer tensors.
    #[arg(long)]
    hidden: Option<String>,
    /// Name of the token-id tensor; `none` analyses plain rows without n-gram labels.
    #[arg(long)]
    ids: Option<String>,
    /// A tensor to use as an extra label set (repeatable); `labels.*`, `labels/*`, `labels` and
    /// `y` are used without asking.
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Read the (non-TSV) files as raw little-endian float32 of this shape, e.g. 1000,768.
    #[arg(long, value_delimiter = ',')]
    raw_shape: Option<Vec<usize>>,
}

impl LayoutArgs {
    fn overrides(&self) -> LayoutOverrides {
        LayoutOverrides {
            hidden: self.hidden.clone(),
            ids: self.ids.as_deref().map(|i| {
                if i == "none" {
                    String::new()
                } else {
                    i.to_owned()
                }
            }),
            labels: self.labels.clone(),
        }
    }
}

#[derive(Args)]
struct InspectArgs {
    /// Files forming one dataset.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    layout: LayoutArgs,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Files forming one dataset (e.g. one .npz, or per-layer .npy files plus input_ids.npy).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    layout: LayoutArgs,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// Only these sequences, as START..END (end exclusive): one shard of the dump.
    #[arg(long)]
    sequences: Option<String>,
    /// Also write the mergeable state of this analysis to this file.
    #[arg(long)]
    save_state: Option<PathBuf>,
    /// Threads, each analysing a share of the layers (default: one per core). The numbers do
    /// not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

#[derive(Args)]
struct MergeArgs {
    /// State files written by `analyze --save-state`.
    #[arg(required = true)]
    states: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Also write the merged state to this file.
    #[arg(long)]
    save_state: Option<PathBuf>,
}

#[derive(Args)]
struct CalibrateArgs {
    /// Dimension d of the representations.
    #[arg(long)]
    dim: usize,
    #[arg(long, default_value_t = 100)]
    bins: usize,
    #[arg(long, default_value = "find-eps")]
    calibration: String,
}

fn parse_range(text: &str) -> Result<Range<usize>, String> {
    let bad = || format!("bad sequence range '{text}' (expected START..END)");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b {
        return Err(bad());
    }
    Ok(a..b)
}

fn print(analysis: &Analysis, format: Format) -> Result<(), String> {
    let report = Report::from_analysis(analysis);
    warn(&report);
    let value = match format {
        Format::Json => serde_json::to_value(report),
        Format::Reference => Ok(report::reference_shape(analysis)),
    }
    .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value).map_err(|e| e.to_string())?;
    writeln!(out).map_err(|e| e.to_string())
}

/// The report's bias notes, one line each on stderr (the numbers go to stdout).
fn warn(report: &Report) {
    let source = report.input.files.join(" + ");
    for note in &report.notes {
        eprintln!("note: {}", one_line(&format!("{source}: {note}")));
    }
}

fn save(path: &PathBuf, analysis: &Analysis) -> Result<(), String> {
    std::fs::write(path, state::to_bytes(analysis)?)
        .map_err(|e| format!("{}: cannot write state ({e})", path.display()))
}

/// Opened files, and for each whether it holds only label columns.
type Dataset = (Vec<Box<dyn TensorFile>>, Vec<bool>);

/// Opens every path with the reader its contents call for.
fn open_all(paths: &[PathBuf], raw_shape: Option<&[usize]>) -> Result<Dataset, String> {
    let mut files = Vec::with_capacity(paths.len());
    let mut labels_only = Vec::with_capacity(paths.len());
    for path in paths {
        let opened = open_path(path, raw_shape)?;
        files.push(opened.file);
        labels_only.push(opened.labels_only);
    }
    Ok((files, labels_only))
}

/// `--threads`, or one per core.
fn threads(chosen: Option<u16>) -> usize {
    chosen.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    )
}

/// `infoplane analyze`: one thread per core (or `--threads`), at most one per layer, each
/// analysing one share of the layers (see [`analysis::LayerShare`]) from its own handles on the
/// files; the shares combine into exactly the one-thread result.
fn analyze_in_threads(a: &AnalyzeArgs, settings: &AnalysisSettings) -> Result<Analysis, String> {
    let threads = threads(a.threads);
    let overrides = a.layout.overrides();
    let (mut files, labels_only) = open_all(&a.files, a.layout.raw_shape.as_deref())?;
    let layers = analysis::chosen_layer_count(&mut files, &labels_only, &overrides, settings)
        .map_err(|e| e.to_string())?;
    let parts = threads.min(layers).max(1);
    let run = |part: usize, opened: Option<Dataset>| -> Result<Analysis, String> {
        let (mut files, labels_only) = match opened {
            Some(d) => d,
            None => open_all(&a.files, a.layout.raw_shape.as_deref())?,
        };
        analysis::analyze(
            &mut files,
            &labels_only,
            &overrides,
            settings,
            a.save_state.is_some(),
            analysis::LayerShare { part, parts },
            &mut |_, _| {},
        )
        .map_err(|e| e.to_string())
    };
    let shares: Vec<Result<Analysis, String>> = std::thread::scope(|scope| {
        let run = &run;
        let handles: Vec<_> = (1..parts)
            .map(|part| scope.spawn(move || run(part, None)))
            .collect();
        let mut shares = vec![run(0, Some((files, labels_only)))];
        shares.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|_| Err("an analysis thread stopped".into()))
        }));
        shares
    });
    let shares = shares.into_iter().collect::<Result<Vec<_>, _>>()?;
    Analysis::combine_layers(shares).map_err(|e| e.to_string())
}

fn open_path(path: &PathBuf, raw_shape: Option<&[usize]>) -> Result<Opened, String> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("{name}: cannot open ({e})"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("{name}: cannot open ({e})"))?
        .len();
    // Only files that are not TSV can be raw float32 (labels travel in metadata.tsv beside them).
    let raw = raw_shape.filter(|_| !name.ends_with(".tsv"));
    open::open(&name, BufReader::new(file), len, raw).map_err(|e| e.to_string())
}

fn inspect(args: &InspectArgs) -> Result<(), String> {
    let mut files = Vec::new();
    let mut labels_only = Vec::new();
    let mut out = std::io::stdout().lock();
    let w = |out: &mut std::io::StdoutLock, s: String| {
        writeln!(out, "{}", one_line(&s)).map_err(|e| e.to_string())
    };
    for path in &args.files {
        let opened = open_path(path, args.layout.raw_shape.as_deref())?;
        w(
            &mut out,
            format!("{} ({})", opened.file.file_name(), opened.format.name()),
        )?;
        for t in opened.file.tensors() {
            let bytes = t.len().saturating_mul(t.dtype.size());
            w(
                &mut out,
                format!(
                    "  {:<32} {:<9} {:?}  {bytes} bytes",
                    t.name,
                    t.dtype.name(),
                    t.shape
                ),
            )?;
        }
        for (k, v) in opened.file.metadata() {
            w(&mut out, format!("  metadata {k} = {v}"))?;
        }
        files.push(opened.file);
        labels_only.push(opened.labels_only);
    }
    match layout::detect(&mut files, &labels_only, &args.layout.overrides()) {
        Ok(l) => {
            w(&mut out, format!("layout: {}", l.kind.name()))?;
            w(&mut out, format!("analyze would use: {}", l.description))?;
            let layers: Vec<String> = l.layers.iter().map(|s| s.layer.to_string()).collect();
            w(
                &mut out,
                format!(
                    "layers: {} (d = {}, {} rows each)",
                    layers.join(","),
                    l.d,
                    l.rows_per_layer
                ),
            )
        }
        Err(e) => w(&mut out, format!("layout: not recognised: {e}")),
    }
}

/// A model folder's checkpoint and tokenizer.
fn load_model_dir(dir: &Path) -> Result<(Checkpoint, Tokenizer), String> {
    let name = dir.display().to_string();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{name}: cannot list the folder ({e})"))?;
    let mut weights = Vec::new();
    let (mut config, mut tokenizer) = (None, None);
    for entry in entries {
        let path = entry.map_err(|e| format!("{name}: {e}"))?.path();
        let file = path.display().to_string();
        let base = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let read = || std::fs::read(&path).map_err(|e| format!("{file}: cannot read ({e})"));
        match role(&base) {
            Role::Config => {
                config = Some(
                    String::from_utf8(read()?).map_err(|_| format!("{file}: not UTF-8 text"))?,
                )
            }
            Role::Tokenizer => {
                tokenizer = Some(Tokenizer::from_bytes(&file, &read()?).map_err(|e| e.to_string())?)
            }
            Role::Safetensors | Role::PytorchBin => {
                let f = File::open(&path).map_err(|e| format!("{file}: cannot open ({e})"))?;
                let len = f
                    .metadata()
                    .map_err(|e| format!("{file}: cannot open ({e})"))?
                    .len();
                weights.push((file, BufReader::new(f), len));
            }
            Role::Text | Role::Other => {}
        }
    }
    let config = config.ok_or_else(|| format!("{name}: no config.json in the folder"))?;
    let tokenizer = tokenizer.ok_or_else(|| format!("{name}: no tokenizer.json in the folder"))?;
    let ckpt = load_checkpoint(&config, weights).map_err(|e| format!("{name}: {e}"))?;
    Ok((ckpt, tokenizer))
}

fn probe_of(args: &TextArgs, tokenizer: &Tokenizer) -> Result<Probe, String> {
    let (name, text) = match &args.text {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read as UTF-8 text ({e})", p.display()))?,
        ),
        None => (
            "the probe corpus".to_owned(),
            probe::PROBE_CORPUS.to_owned(),
        ),
    };
    let settings = ProbeSettings {
        max_sequences: args.max_sequences,
        max_length: args.max_length,
        window: args.window,
    };
    probe::tokenize(&name, &text, tokenizer, settings).map_err(|e| e.to_string())
}

fn run_models(m: &ModelArgs) -> Result<(), String> {
    let settings = m.analysis.settings(None)?;
    let mut outputs = Vec::new();
    let mut used = Vec::new();
    for dir in &m.dirs {
        let (ckpt, tokenizer) = load_model_dir(dir)?;
        let probe = probe_of(&m.text, &tokenizer)?;
        let name = dir.display().to_string();
        let mut settings = settings.clone();
        if m.exclude_special {
            settings.labels.exclude_special(&tokenizer.special_ids());
        }
        let result = analysis::analyze_model(
            ckpt.model.as_ref(),
            &name,
            &probe.sequences,
            &settings,
            false,
            threads(m.threads),
            &mut |_, _| {},
        )
        .map_err(|e| e.to_string())?;
        let report = Report::from_analysis(&result);
        warn(&report);
        outputs.push(match m.analysis.format {
            Format::Json => serde_json::to_value(report).map_err(|e| e.to_string())?,
            Format::Reference => report::reference_shape(&result),
        });
        used.push(serde_json::json!({
            "model": name,
            "texts": probe.texts,
            "input_ids": probe.sequences,
            "tokens": probe.sequences.iter().map(|s| tokenizer.tokens(s)).collect::<Vec<_>>(),
        }));
    }
    if let Some(path) = &m.save_tokens {
        let text = serde_json::to_string_pretty(&used).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("{}: cannot write ({e})", path.display()))?;
    }
    let value = if outputs.len() == 1 {
        outputs.pop().expect("one output")
    } else {
        serde_json::Value::Array(outputs)
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value).map_err(|e| e.to_string())?;
    writeln!(out).map_err(|e| e.to_string())
}

fn write_hidden_states(h: &HiddenStatesArgs) -> Result<(), String> {
    let (ckpt, tokenizer) = load_model_dir(&h.dir)?;
    let probe = probe_of(&h.text, &tokenizer)?;
    let model = ckpt.model.as_ref();
    let (layers, d) = (model.hidden_states(), model.d());
    let total: usize = probe.sequences.iter().map(Vec::len).sum();
    // [layers, tokens, d], filled one batch of sequences at a time (forward passes side by side).
    let mut states = vec![0f32; layers * total * d];
    let mut offset = 0;
    let sequences = &probe.sequences;
    let batches = infoplane::model::batches(sequences.iter().map(Vec::len));
    let forward = |b: usize| -> Result<Vec<f32>, String> {
        let batch = &sequences[batches[b].clone()];
        let ids: Vec<u32> = batch.concat();
        let mut ranges = Vec::with_capacity(batch.len());
        for s in batch {
            let start = ranges.last().map_or(0, |r: &std::ops::Range<usize>| r.end);
            ranges.push(start..start + s.len());
        }
        // [layers, the batch's tokens, d]
        let mut own = Vec::with_capacity(layers * ids.len() * d);
        model
            .forward_batch(&ids, &ranges, &mut |_, s| {
                own.extend(s.iter());
                Ok(())
            })
            .map_err(
                |e| match infoplane::model::failing_sequence(model, &ids, &ranges) {
                    Some((i, e)) => {
                        format!(
                            "{}, sequence {}: {e}",
                            h.dir.display(),
                            batches[b].start + i
                        )
                    }
                    None => format!("{}, sequences {:?}: {e}", h.dir.display(), batches[b]),
                },
            )?;
        Ok(own)
    };
    ordered::map_in_order(
        batches.len(),
        threads(h.threads),
        &forward,
        &mut |b, own| {
            let n = batches[b]
                .clone()
                .map(|i| sequences[i].len())
                .sum::<usize>()
                * d;
            for (layer, s) in own.chunks_exact(n).enumerate() {
                let at = (layer * total + offset) * d;
                states[at..at + n].copy_from_slice(s);
            }
            offset += n / d;
            Ok(())
        },
    )?;
    let ids: Vec<i64> = probe
        .sequences
        .iter()
        .flatten()
        .map(|&t| i64::from(t))
        .collect();
    let lens: Vec<i64> = probe.sequences.iter().map(|s| s.len() as i64).collect();
    let name = h.out.display().to_string();
    let io = |e: std::io::Error| format!("{name}: cannot write ({e})");
    let file = File::create(&h.out).map_err(io)?;
    let mut npz = NpzWriter::new(std::io::BufWriter::new(file));
    npz.add("hidden_states", &[layers, total, d], &states)
        .map_err(io)?;
    npz.add("input_ids", &[total], &ids).map_err(io)?;
    npz.add("seq_lens", &[lens.len()], &lens).map_err(io)?;
    npz.finish().map_err(io)?.flush().map_err(io)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Analyze(a) => {
            let settings = a
                .analysis
                .settings(a.sequences.as_deref().map(parse_range).transpose()?)?;
            let result = analyze_in_threads(&a, &settings)?;
            if let Some(path) = &a.save_state {
                save(path, &result)?;
            }
            print(&result, a.analysis.format)
        }
        Command::Inspect(i) => inspect(&i),
        Command::Merge(m) => {
            let mut merged: Option<Analysis> = None;
            for path in &m.states {
                let name = path.display().to_string();
                let bytes =
                    std::fs::read(path).map_err(|e| format!("{name}: cannot read ({e})"))?;
                let next = state::from_bytes(&name, &bytes)?;
                match &mut merged {
                    None => merged = Some(next),
                    Some(acc) => acc.merge(&next).map_err(|e| e.to_string())?,
                }
            }
            let merged = merged.expect("clap requires at least one state");
            if let Some(path) = &m.save_state {
                save(path, &merged)?;
            }
            print(&merged, m.format)
        }
        Command::Model(m) => run_models(&m),
        Command::HiddenStates(h) => write_hidden_states(&h),
        Command::Calibrate(c) => {
            let mode = Calibration::parse(&c.calibration).map_err(|e| e.to_string())?;
            let eps = calibration::temperature(mode, c.bins, c.dim).map_err(|e| e.to_string())?;
            println!("{eps:.17e}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("infoplane: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}
