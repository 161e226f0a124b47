//! The `infoplane` command line: argument parsing, file access and output, nothing else. All
//! computation is in the library, so the CLI prints what the page shows for the same file.

use std::fs::File;
use std::io::{BufReader, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use infoplane::analysis::{self, Analysis, AnalysisSettings};
use infoplane::estimator::{calibration, Calibration, EstimatorConfig};
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
    /// Analyse an activation dump (.npz) and print the statistics as JSON.
    Analyze(AnalyzeArgs),
    /// Combine saved states (from `analyze --save-state`) and print the statistics of the whole.
    Merge(MergeArgs),
    /// Print the temperature ε a calibration mode gives for d dimensions and m bins.
    Calibrate(CalibrateArgs),
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

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// infoplane's documented report (settings, per-layer metrics, optimality, counts).
    Json,
    /// Exactly the reference package's {"per_layer": [...], "mean": {...}} shape.
    Reference,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// The dump: hidden_states, input_ids, and seq_lens or attention_mask.
    file: PathBuf,
    #[command(flatten)]
    estimator: EstimatorArgs,
    /// n-gram orders (1 to 4), comma-separated.
    #[arg(long, default_value = "1,2,3", value_delimiter = ',')]
    orders: Vec<usize>,
    /// Layers to analyse, e.g. 0,3,5-7 (default: all; 0 is the embedding output).
    #[arg(long)]
    layers: Option<String>,
    /// Only these sequences, as START..END (end exclusive): one shard of the dump.
    #[arg(long)]
    sequences: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Also write the mergeable state of this analysis to this file.
    #[arg(long)]
    save_state: Option<PathBuf>,
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
    let value = match format {
        Format::Json => serde_json::to_value(Report::from_analysis(analysis)),
        Format::Reference => Ok(report::reference_shape(analysis)),
    }
    .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value).map_err(|e| e.to_string())?;
    writeln!(out).map_err(|e| e.to_string())
}

fn save(path: &PathBuf, analysis: &Analysis) -> Result<(), String> {
    std::fs::write(path, state::to_bytes(analysis))
        .map_err(|e| format!("{}: cannot write state ({e})", path.display()))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Analyze(a) => {
            let settings = AnalysisSettings {
                estimator: a.estimator.config()?,
                orders: a.orders.clone(),
                layers: a
                    .layers
                    .as_deref()
                    .map(analysis::parse_layers)
                    .transpose()?,
                sequences: a.sequences.as_deref().map(parse_range).transpose()?,
            };
            let name = a.file.display().to_string();
            let file = File::open(&a.file).map_err(|e| format!("{name}: cannot open ({e})"))?;
            let result = analysis::analyze_npz(&name, BufReader::new(file), &settings)
                .map_err(|e| e.to_string())?;
            if let Some(path) = &a.save_state {
                save(path, &result)?;
            }
            print(&result, a.format)
        }
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
            eprintln!("infoplane: {message}");
            ExitCode::FAILURE
        }
    }
}
