//! Result types read off an [`Analysis`]: per layer H(Z), complexity I(X;Z) and expressivity I(Y;Z)
//! per n-gram order, regularity and optimality, with counts; and the reference package's flat shape.
//! Values are efficiency units (nats / ln m); NaN is written as JSON null.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::analysis::{Analysis, InputSummary};
use crate::estimator::metrics::{optimality, regularity};
use crate::estimator::Calibration;
use crate::labels::{order_name, Direction};

/// Version of the JSON schema below; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The documented report (`infoplane analyze` default output).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub infoplane: &'static str,
    pub settings: ReportSettings,
    pub input: InputSummary,
    pub layers: Vec<LayerReport>,
    /// Averages over the analysed layers, the embedding layer (0) excluded as in the reference.
    pub mean: MeanReport,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReportSettings {
    pub n_bins: usize,
    pub seed: u64,
    pub calibration: Calibration,
    /// The softmax temperature ε actually used.
    pub temperature: Option<f64>,
    pub orders: Vec<usize>,
    pub layers: Vec<usize>,
    /// Whether the first position of each sequence was left out.
    pub exclude_first_position: bool,
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
    pub orders: Vec<OrderReport>,
    /// Label sets read from the data (preference, part of speech, class...).
    pub label_sets: Vec<LabelSetReport>,
}

/// One n-gram order at one layer.
#[derive(Clone, Debug, Serialize)]
pub struct OrderReport {
    pub order: usize,
    pub name: &'static str,
    /// I(X;Z) with X the input k-gram.
    pub complexity: f64,
    /// I(Y;Z) with Y the next k tokens.
    pub expressivity: f64,
    /// expressivity / complexity (null when complexity ≤ 0).
    pub optimality: f64,
    pub input: LabelSetReport,
    pub output: LabelSetReport,
}

#[derive(Clone, Debug, Serialize)]
pub struct LabelSetReport {
    pub name: String,
    pub mutual_information: f64,
    /// H(Z|X) = Σ (N_x/N) H(Z|X=x).
    pub conditional_entropy: f64,
    /// I / H(Z).
    pub regularity: f64,
    pub distinct_labels: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct MeanReport {
    /// Layers averaged (all analysed layers but 0; layer 0 alone if it is the only one).
    pub layers: Vec<usize>,
    pub entropy: f64,
    pub orders: Vec<MeanOrderReport>,
    pub label_sets: Vec<MeanLabelSetReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MeanLabelSetReport {
    pub name: String,
    pub mutual_information: f64,
    pub regularity: f64,
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
}

fn layer_report(analysis: &Analysis, i: usize) -> LayerReport {
    let state = &analysis.layers[i];
    let summary = &state.summary;
    let h = summary.entropy;
    let set = |s: usize| {
        let set = &summary.sets[s];
        LabelSetReport {
            name: analysis.specs[s].name.clone(),
            mutual_information: set.mutual_information,
            conditional_entropy: set.conditional_entropy,
            regularity: regularity(set.mutual_information, h),
            distinct_labels: set.distinct_labels,
        }
    };
    let orders = analysis
        .settings
        .orders
        .iter()
        .map(|&order| {
            let find = |dir: Direction| {
                analysis
                    .specs
                    .iter()
                    .position(|s| s.order == order && s.direction == Some(dir))
                    .expect("every order has both label sets")
            };
            let input = set(find(Direction::Input));
            let output = set(find(Direction::Output));
            OrderReport {
                order,
                name: order_name(order),
                complexity: input.mutual_information,
                expressivity: output.mutual_information,
                optimality: optimality(output.mutual_information, input.mutual_information),
                input,
                output,
            }
        })
        .collect();
    let label_sets = analysis
        .specs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.direction.is_none())
        .map(|(i, _)| set(i))
        .collect();
    LayerReport {
        layer: state.layer,
        rows: summary.rows,
        rows_skipped: summary.rows_skipped,
        entropy: h,
        orders,
        label_sets,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    s / n as f64
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
        let orders = analysis
            .settings
            .orders
            .iter()
            .enumerate()
            .map(|(k, &order)| {
                let of = |f: &dyn Fn(&OrderReport) -> f64| {
                    mean(averaged.iter().map(|l| f(&l.orders[k])))
                };
                let complexity = of(&|o| o.complexity);
                let expressivity = of(&|o| o.expressivity);
                MeanOrderReport {
                    order,
                    name: order_name(order),
                    complexity,
                    expressivity,
                    optimality: of(&|o| o.optimality),
                    optimality_of_means: optimality(expressivity, complexity),
                    input_regularity: of(&|o| o.input.regularity),
                    output_regularity: of(&|o| o.output.regularity),
                }
            })
            .collect();
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
            })
            .collect();
        Report {
            schema: SCHEMA_VERSION,
            infoplane: env!("CARGO_PKG_VERSION"),
            settings: ReportSettings {
                n_bins: analysis.settings.estimator.n_bins,
                seed: analysis.settings.estimator.seed,
                calibration: analysis.settings.estimator.calibration,
                temperature: analysis.temperature(),
                orders: analysis.settings.orders.clone(),
                layers: analysis.layers.iter().map(|l| l.layer).collect(),
                exclude_first_position: analysis.settings.exclude_first,
            },
            input: analysis.input.clone(),
            mean: MeanReport {
                layers: averaged.iter().map(|l| l.layer).collect(),
                entropy: mean(averaged.iter().map(|l| l.entropy)),
                orders,
                label_sets,
            },
            layers,
        }
    }
}

/// The reference package's output shape (`LLMInferrer.run()`): `{"per_layer": [results()...],
/// "mean": {...}}`, keys `H(Z)`, `I(X;Z)/<set>`, `regularity/<set>` in the reference's order, the
/// mean taken over layers 1..L.
pub fn reference_shape(analysis: &Analysis) -> Value {
    let per_layer: Vec<Map<String, Value>> = analysis
        .layers
        .iter()
        .map(|state| {
            let h = state.summary.entropy;
            let mut m = Map::new();
            m.insert("H(Z)".into(), number(h));
            for (s, spec) in analysis.specs.iter().enumerate() {
                let mi = state.summary.sets[s].mutual_information;
                m.insert(format!("I(X;Z)/{}", spec.name), number(mi));
                m.insert(
                    format!("regularity/{}", spec.name),
                    number(regularity(mi, h)),
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
