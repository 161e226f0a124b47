//! Result types read off an [`Analysis`]: per layer H(Z), complexity I(X;Z) and expressivity I(Y;Z)
//! per n-gram order, regularity and optimality, with counts; and the reference package's flat shape.
//! Values are efficiency units (nats / ln m); NaN is written as JSON null.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::analysis::{Analysis, InputSummary};
use crate::estimator::metrics::{mean, mean_sd, optimality, regularity};
use crate::estimator::Calibration;
use crate::labels::{order_name, Direction};

/// Version of the JSON schema below; bumped on any incompatible change (3: `input.label_data`
/// holds the fingerprints as 16 hex digits, which JavaScript reads without loss, not as numbers).
pub const SCHEMA_VERSION: u32 = 3;

/// The documented report (`infoplane analyze` default output). With several seeds every number is
/// the mean over seeds and its `_sd` twin the sample standard deviation (null with one seed).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub infoplane: &'static str,
    pub settings: ReportSettings,
    pub input: InputSummary,
    pub layers: Vec<LayerReport>,
    /// Averages over the analysed layers, the embedding layer (0) excluded as in the reference.
    pub mean: MeanReport,
    /// Plain-language warnings about biases in these numbers (rare labels, merged datasets).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReportSettings {
    pub n_bins: usize,
    /// The first seed of the reference points.
    pub seed: u64,
    /// Sets of reference points (seeds `seed`, `seed + 1`, ...).
    pub seeds: usize,
    pub calibration: Calibration,
    /// The softmax temperature ε actually used.
    pub temperature: Option<f64>,
    pub orders: Vec<usize>,
    pub layers: Vec<usize>,
    /// Leading positions of each sequence left out.
    pub exclude_first_positions: usize,
    /// Positions whose token is one of these ids were left out.
    pub exclude_tokens: Vec<u32>,
    /// Label values seen fewer times were dropped from their set (0: none dropped).
    pub min_count: usize,
    /// Threshold of the back-off label sets, when they were built.
    pub backoff: Option<usize>,
    /// Shuffled copies of each label set behind the baselines.
    pub shuffles: usize,
    pub shuffle_seed: u64,
    /// Whether each layer's mean row was subtracted first.
    pub centre: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    pub layer: usize,
    /// Rows that entered the counts.
    pub rows: u64,
    /// Rows skipped because they were all zero or held NaN/Inf.
    pub rows_skipped: u64,
    /// H(Z), efficiency.
    pub entropy: f64,
    pub entropy_sd: Option<f64>,
    /// Mean entropy of one row's soft assignment.
    pub mean_row_entropy: f64,
    /// H(Z) − mean row entropy: the I(X;Z) all-unique labels would give, the most any label can.
    pub ceiling: f64,
    pub ceiling_sd: Option<f64>,
    pub orders: Vec<OrderReport>,
    /// The back-off label sets (order 0, name "backoff"), when asked for.
    pub backoff: Option<OrderReport>,
    /// Label sets read from the data (preference, part of speech, class...).
    pub label_sets: Vec<LabelSetReport>,
}

/// One n-gram order (or the back-off sets) at one layer.
#[derive(Clone, Debug, Serialize)]
pub struct OrderReport {
    pub order: usize,
    pub name: &'static str,
    /// I(X;Z) with X the input k-gram.
    pub complexity: f64,
    pub complexity_sd: Option<f64>,
    /// I(Y;Z) with Y the next k tokens.
    pub expressivity: f64,
    pub expressivity_sd: Option<f64>,
    /// expressivity / complexity (null when complexity ≤ 0).
    pub optimality: f64,
    pub optimality_sd: Option<f64>,
    /// Complexity less its shuffled-label baseline (null without shuffles).
    pub complexity_corrected: Option<f64>,
    /// Expressivity less its shuffled-label baseline (null without shuffles).
    pub expressivity_corrected: Option<f64>,
    /// Corrected expressivity / corrected complexity (null without shuffles or when ≤ 0).
    pub optimality_corrected: Option<f64>,
    pub input: LabelSetReport,
    pub output: LabelSetReport,
}

/// The I(X;Z) that shuffled copies of the labels give: what labels unrelated to the rows, with
/// the same counts, would show.
#[derive(Clone, Debug, Serialize)]
pub struct Baseline {
    pub mean: f64,
    /// Sample standard deviation over all shuffled copies (and seeds); null with one copy.
    pub sd: Option<f64>,
    pub shuffles: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct LabelSetReport {
    pub name: String,
    pub mutual_information: f64,
    pub mutual_information_sd: Option<f64>,
    /// H(Z|X) = Σ (N_x/N) H(Z|X=x).
    pub conditional_entropy: f64,
    /// I / H(Z) (H of the rows this set covers).
    pub regularity: f64,
    pub regularity_sd: Option<f64>,
    pub distinct_labels: usize,
    /// Rows this set covers, and rows dropped from it (values below the minimum count).
    pub rows: u64,
    pub dropped_rows: u64,
    /// H(Z) of the rows covered (the layer's unless some were dropped).
    pub entropy: f64,
    /// The most I(X;Z) can be on these rows: H(Z) − mean row entropy.
    pub ceiling: f64,
    /// Shuffled-label baseline (null without shuffles).
    pub baseline: Option<Baseline>,
    /// I − baseline mean (null without shuffles).
    pub corrected: Option<f64>,
    pub corrected_sd: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MeanReport {
    /// Layers averaged (all analysed layers but 0; layer 0 alone if it is the only one).
    pub layers: Vec<usize>,
    pub entropy: f64,
    pub ceiling: f64,
    pub orders: Vec<MeanOrderReport>,
    pub backoff: Option<MeanOrderReport>,
    pub label_sets: Vec<MeanLabelSetReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MeanLabelSetReport {
    pub name: String,
    pub mutual_information: f64,
    pub regularity: f64,
    pub corrected: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MeanOrderReport {
    pub order: usize,
    pub name: &'static str,
    pub complexity: f64,
    pub expressivity: f64,
    /// Mean of the per-layer optimality ratios.
    pub optimality: f64,
    /// Mean expressivity / mean complexity.
    pub optimality_of_means: f64,
    pub input_regularity: f64,
    pub output_regularity: f64,
    pub complexity_corrected: Option<f64>,
    pub expressivity_corrected: Option<f64>,
    pub optimality_corrected: Option<f64>,
    /// Layer means of the shuffled-label baselines (null without shuffles).
    pub complexity_baseline: Option<f64>,
    pub expressivity_baseline: Option<f64>,
}

fn set_report(analysis: &Analysis, i: usize, s: usize) -> LabelSetReport {
    let state = &analysis.layers[i];
    let seeds = &state.summary.seeds;
    let per_seed = |f: &dyn Fn(&crate::analysis::SeedSummary) -> f64| -> Vec<f64> {
        seeds.iter().map(f).collect()
    };
    let (mi, mi_sd) = mean_sd(&per_seed(&|x| x.sets[s].mutual_information));
    let (reg, reg_sd) = mean_sd(&per_seed(&|x| {
        regularity(x.sets[s].mutual_information, x.sets[s].entropy)
    }));
    let first = &seeds[0].sets[s];
    let shuffles = analysis.settings.labels.shuffles;
    let (baseline, corrected, corrected_sd) = if shuffles == 0 {
        (None, None, None)
    } else {
        let all: Vec<f64> = seeds
            .iter()
            .flat_map(|x| x.sets[s].shuffled.iter().copied())
            .collect();
        let (bm, bsd) = mean_sd(&all);
        let (c, csd) = mean_sd(&per_seed(&|x| {
            x.sets[s].mutual_information - mean(x.sets[s].shuffled.iter().copied())
        }));
        (
            Some(Baseline {
                mean: bm,
                sd: bsd,
                shuffles,
            }),
            Some(c),
            csd,
        )
    };
    LabelSetReport {
        name: analysis.specs[s].name.clone(),
        mutual_information: mi,
        mutual_information_sd: mi_sd,
        conditional_entropy: mean(seeds.iter().map(|x| x.sets[s].conditional_entropy)),
        regularity: reg,
        regularity_sd: reg_sd,
        distinct_labels: first.distinct_labels,
        rows: first.rows,
        dropped_rows: state.summary.rows - first.rows,
        entropy: mean(seeds.iter().map(|x| x.sets[s].entropy)),
        ceiling: mean(seeds.iter().map(|x| x.sets[s].ceiling)),
        baseline,
        corrected,
        corrected_sd,
    }
}

/// Complexity, expressivity and optimality of an input/output pair of label sets.
fn order_report(
    analysis: &Analysis,
    i: usize,
    order: usize,
    name: &'static str,
    input: usize,
    output: usize,
) -> OrderReport {
    let seeds = &analysis.layers[i].summary.seeds;
    let (opt, opt_sd) = mean_sd(
        &seeds
            .iter()
            .map(|x| {
                optimality(
                    x.sets[output].mutual_information,
                    x.sets[input].mutual_information,
                )
            })
            .collect::<Vec<_>>(),
    );
    let input = set_report(analysis, i, input);
    let output = set_report(analysis, i, output);
    let optimality_corrected = match (input.corrected, output.corrected) {
        (Some(c), Some(e)) => Some(optimality(e, c)),
        _ => None,
    };
    OrderReport {
        order,
        name,
        complexity: input.mutual_information,
        complexity_sd: input.mutual_information_sd,
        expressivity: output.mutual_information,
        expressivity_sd: output.mutual_information_sd,
        optimality: opt,
        optimality_sd: opt_sd,
        complexity_corrected: input.corrected,
        expressivity_corrected: output.corrected,
        optimality_corrected,
        input,
        output,
    }
}

fn layer_report(analysis: &Analysis, i: usize) -> LayerReport {
    let state = &analysis.layers[i];
    let summary = &state.summary;
    let find = |order: usize, dir: Direction| {
        analysis
            .specs
            .iter()
            .position(|s| s.order == order && s.direction == Some(dir))
    };
    let orders = analysis
        .settings
        .orders
        .iter()
        .map(|&order| {
            let (a, b) = (
                find(order, Direction::Input).expect("every order has both label sets"),
                find(order, Direction::Output).expect("every order has both label sets"),
            );
            order_report(analysis, i, order, order_name(order), a, b)
        })
        .collect();
    let backoff = match (find(0, Direction::Input), find(0, Direction::Output)) {
        (Some(a), Some(b)) => Some(order_report(analysis, i, 0, "backoff", a, b)),
        _ => None,
    };
    let label_sets = analysis
        .specs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.direction.is_none())
        .map(|(s, _)| set_report(analysis, i, s))
        .collect();
    let (entropy, entropy_sd) =
        mean_sd(&summary.seeds.iter().map(|x| x.entropy).collect::<Vec<_>>());
    let (ceiling, ceiling_sd) = mean_sd(
        &summary
            .seeds
            .iter()
            .map(|x| x.entropy - x.mean_row_entropy)
            .collect::<Vec<_>>(),
    );
    LayerReport {
        layer: state.layer,
        rows: summary.rows,
        rows_skipped: summary.rows_skipped,
        entropy,
        entropy_sd,
        mean_row_entropy: mean(summary.seeds.iter().map(|x| x.mean_row_entropy)),
        ceiling,
        ceiling_sd,
        orders,
        backoff,
        label_sets,
    }
}

fn mean_order(
    averaged: &[&LayerReport],
    pick: &dyn Fn(&LayerReport) -> &OrderReport,
) -> MeanOrderReport {
    let of = |f: &dyn Fn(&OrderReport) -> f64| mean(averaged.iter().map(|l| f(pick(l))));
    let of_opt = |f: &dyn Fn(&OrderReport) -> Option<f64>| {
        averaged
            .iter()
            .map(|l| f(pick(l)))
            .collect::<Option<Vec<f64>>>()
            .map(|v| mean(v.into_iter()))
    };
    let first = pick(averaged[0]);
    let complexity = of(&|o| o.complexity);
    let expressivity = of(&|o| o.expressivity);
    MeanOrderReport {
        order: first.order,
        name: first.name,
        complexity,
        expressivity,
        optimality: of(&|o| o.optimality),
        optimality_of_means: optimality(expressivity, complexity),
        input_regularity: of(&|o| o.input.regularity),
        output_regularity: of(&|o| o.output.regularity),
        complexity_corrected: of_opt(&|o| o.complexity_corrected),
        expressivity_corrected: of_opt(&|o| o.expressivity_corrected),
        optimality_corrected: of_opt(&|o| o.optimality_corrected),
        complexity_baseline: of_opt(&|o| o.input.baseline.as_ref().map(|b| b.mean)),
        expressivity_baseline: of_opt(&|o| o.output.baseline.as_ref().map(|b| b.mean)),
    }
}

/// Share of a label set's rows whose label is unique, above which a note is written.
const MOSTLY_UNIQUE: f64 = 0.5;

/// Warnings a reader needs before trusting `layers` and `mean`: label sets whose I is mostly what
/// shuffled labels of the same counts give (or, without shuffles, whose labels are mostly
/// unique), and merges of different datasets.
fn notes(layers: &[LayerReport], mean: &MeanReport, input: &InputSummary) -> Vec<String> {
    let mut out = Vec::new();
    let Some(first) = layers.first() else {
        return out;
    };
    let mut sets: Vec<(&LabelSetReport, f64, Option<f64>)> = Vec::new();
    let orders = first.orders.iter().zip(&mean.orders);
    let backoff = first.backoff.iter().zip(&mean.backoff);
    for (o, m) in orders.chain(backoff) {
        sets.push((&o.input, m.complexity, m.complexity_corrected));
        sets.push((&o.output, m.expressivity, m.expressivity_corrected));
    }
    for (s, m) in first.label_sets.iter().zip(&mean.label_sets) {
        sets.push((s, m.mutual_information, m.corrected));
    }
    for (set, raw, corrected) in sets {
        let unique = if set.rows > 0 {
            set.distinct_labels as f64 / set.rows as f64
        } else {
            0.0
        };
        match corrected {
            Some(c) if raw > 0.0 && c < 0.5 * raw => out.push(format!(
                "{}: labels with the same counts but shuffled give {:.4} of the mean I of {:.4} \
                 (corrected {:.4}; {:.0}% distinct labels per position): most of this I is the \
                 rare-label bias",
                set.name,
                raw - c,
                raw,
                c,
                100.0 * unique
            )),
            None if unique > MOSTLY_UNIQUE => out.push(format!(
                "{}: {:.0}% distinct labels per position, so I is biased towards its ceiling; \
                 shuffled-label baselines (on by default) would show by how much",
                set.name,
                100.0 * unique
            )),
            _ => {}
        }
    }
    if input.label_data.len() > 1 {
        out.push(format!(
            "merged from {} different datasets: labels were counted and shuffled within each",
            input.label_data.len()
        ));
    }
    out
}

impl Report {
    pub fn from_analysis(analysis: &Analysis) -> Self {
        let layers: Vec<LayerReport> = (0..analysis.layers.len())
            .map(|i| layer_report(analysis, i))
            .collect();
        let averaged: Vec<&LayerReport> = {
            let blocks: Vec<&LayerReport> = layers.iter().filter(|l| l.layer > 0).collect();
            if blocks.is_empty() {
                layers.iter().collect()
            } else {
                blocks
            }
        };
        let (orders, backoff) = if averaged.is_empty() {
            (Vec::new(), None)
        } else {
            let orders = (0..analysis.settings.orders.len())
                .map(|k| mean_order(&averaged, &|l| &l.orders[k]))
                .collect();
            let backoff = averaged[0]
                .backoff
                .is_some()
                .then(|| mean_order(&averaged, &|l| l.backoff.as_ref().expect("every layer")));
            (orders, backoff)
        };
        let label_sets = analysis
            .specs
            .iter()
            .filter(|s| s.direction.is_none())
            .enumerate()
            .map(|(k, spec)| MeanLabelSetReport {
                name: spec.name.clone(),
                mutual_information: mean(
                    averaged.iter().map(|l| l.label_sets[k].mutual_information),
                ),
                regularity: mean(averaged.iter().map(|l| l.label_sets[k].regularity)),
                corrected: averaged
                    .iter()
                    .map(|l| l.label_sets[k].corrected)
                    .collect::<Option<Vec<f64>>>()
                    .map(|v| mean(v.into_iter())),
            })
            .collect();
        let l = &analysis.settings.labels;
        let mean = MeanReport {
            layers: averaged.iter().map(|l| l.layer).collect(),
            entropy: mean(averaged.iter().map(|l| l.entropy)),
            ceiling: mean(averaged.iter().map(|l| l.ceiling)),
            orders,
            backoff,
            label_sets,
        };
        Report {
            notes: notes(&layers, &mean, &analysis.input),
            schema: SCHEMA_VERSION,
            infoplane: env!("CARGO_PKG_VERSION"),
            settings: ReportSettings {
                n_bins: analysis.settings.estimator.n_bins,
                seed: analysis.settings.estimator.seed,
                seeds: analysis.settings.seeds,
                calibration: analysis.settings.estimator.calibration,
                temperature: analysis.temperature(),
                orders: analysis.settings.orders.clone(),
                layers: analysis.layers.iter().map(|l| l.layer).collect(),
                exclude_first_positions: l.exclude_first,
                exclude_tokens: l.exclude_tokens.clone(),
                min_count: l.min_count,
                backoff: l.backoff,
                shuffles: l.shuffles,
                shuffle_seed: l.shuffle_seed,
                centre: analysis.settings.centre,
            },
            input: analysis.input.clone(),
            mean,
            layers,
        }
    }
}

/// The reference package's output shape (`LLMInferrer.run()`): `{"per_layer": [results()...],
/// "mean": {...}}`, keys `H(Z)`, `I(X;Z)/<set>`, `regularity/<set>` in the reference's order, the
/// mean taken over layers 1..L. With several seeds these are the first seed's numbers (the
/// reference draws one set of points).
pub fn reference_shape(analysis: &Analysis) -> Value {
    let per_layer: Vec<Map<String, Value>> = analysis
        .layers
        .iter()
        .map(|state| {
            let first = &state.summary.seeds[0];
            let h = first.entropy;
            let mut m = Map::new();
            m.insert("H(Z)".into(), number(h));
            for (s, spec) in analysis.specs.iter().enumerate() {
                let set = &first.sets[s];
                m.insert(
                    format!("I(X;Z)/{}", spec.name),
                    number(set.mutual_information),
                );
                m.insert(
                    format!("regularity/{}", spec.name),
                    number(regularity(set.mutual_information, set.entropy)),
                );
            }
            m
        })
        .collect();
    let blocks: Vec<&Map<String, Value>> = {
        let b: Vec<_> = analysis
            .layers
            .iter()
            .zip(&per_layer)
            .filter(|(s, _)| s.layer > 0)
            .map(|(_, m)| m)
            .collect();
        if b.is_empty() {
            per_layer.iter().collect()
        } else {
            b
        }
    };
    let mut mean_map = Map::new();
    if let Some(first) = blocks.first() {
        for key in first.keys() {
            let v = mean(blocks.iter().map(|m| m[key].as_f64().unwrap_or(f64::NAN)));
            mean_map.insert(key.clone(), number(v));
        }
    }
    serde_json::json!({ "per_layer": per_layer, "mean": mean_map })
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}
