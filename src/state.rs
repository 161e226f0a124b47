//! Saving and loading an [`Analysis`] so shards computed in different workers or on different
//! machines merge into one result. Layout: magic, a JSON header (settings, what went in, label-set
//! sizes), then raw little-endian counts. Loading checks every size against the bytes present
//! before allocating, so a damaged or hostile file gives an error, never a huge allocation.

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, AnalysisSettings, InputSummary, LayerState};
use crate::estimator::accumulator::{LabelSetCounts, Tally};
use crate::estimator::SoftEntropyAccumulator;
use crate::labels::{self, Direction, LabelSetSpec};

const MAGIC: &[u8; 16] = b"INFOPLANE-STATE\n";
const VERSION: u32 = 4;
/// Oldest version read: 3 differs only in writing `input.label_data` as numbers, which are still
/// read.
const OLDEST_VERSION: u32 = 3;
/// Widest representation a state may claim; far above any model, far below an allocation bomb.
const MAX_D: usize = 1 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    settings: AnalysisSettings,
    input: InputSummary,
    specs: Vec<LabelSetSpec>,
    layers: Vec<LayerHeader>,
}

#[derive(Serialize, Deserialize)]
struct LayerHeader {
    layer: usize,
    temperature: f64,
    rows: u64,
    rows_skipped: u64,
    /// One per seed.
    seeds: Vec<SeedHeader>,
}

#[derive(Serialize, Deserialize)]
struct SeedHeader {
    row_entropy_sum: f64,
    /// One per label set of the accumulator (the sets, then their shuffled copies).
    sets: Vec<SetHeader>,
}

#[derive(Serialize, Deserialize)]
struct SetHeader {
    /// Distinct label values stored.
    values: usize,
    unique: Tally,
    dropped: Tally,
    /// Whether `n_bins` counts of dropped rows follow.
    dropped_counts: bool,
}

/// Serialises an analysis state; the analysis must have kept its counts.
pub fn to_bytes(analysis: &Analysis) -> Result<Vec<u8>, String> {
    let accumulators = analysis
        .layers
        .iter()
        .map(|l| l.accumulators.as_deref())
        .collect::<Option<Vec<_>>>()
        .ok_or("the analysis did not keep its counts, so it has no state to save")?;
    let header = Header {
        version: VERSION,
        settings: analysis.settings.clone(),
        input: analysis.input.clone(),
        specs: analysis.specs.clone(),
        layers: analysis
            .layers
            .iter()
            .zip(&accumulators)
            .map(|(l, accs)| LayerHeader {
                layer: l.layer,
                temperature: accs[0].temperature(),
                rows: accs[0].rows(),
                rows_skipped: accs[0].rows_skipped(),
                seeds: accs
                    .iter()
                    .map(|acc| SeedHeader {
                        row_entropy_sum: acc.row_entropy_sum(),
                        sets: acc
                            .label_sets()
                            .iter()
                            .map(|s| SetHeader {
                                values: s.keys().len(),
                                unique: s.unique(),
                                dropped: s.dropped(),
                                dropped_counts: !s.dropped_counts().is_empty(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    let f64s = |out: &mut Vec<u8>, v: &[f64]| {
        v.iter()
            .for_each(|c| out.extend_from_slice(&c.to_le_bytes()))
    };
    for accs in &accumulators {
        if let Some(c) = accs[0].centre() {
            f64s(&mut out, c);
        }
        for acc in accs.iter() {
            f64s(&mut out, acc.counts());
            for set in acc.label_sets() {
                set.keys()
                    .iter()
                    .for_each(|k| out.extend_from_slice(&k.to_le_bytes()));
                set.rows()
                    .iter()
                    .for_each(|r| out.extend_from_slice(&r.to_le_bytes()));
                f64s(&mut out, set.all_counts());
                f64s(&mut out, set.dropped_counts());
            }
        }
    }
    Ok(out)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    file: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(format!("{}: state file is truncated ({what})", self.file));
        }
        let (a, b) = self.bytes.split_at(n);
        self.bytes = b;
        Ok(a)
    }
    fn array<T, const N: usize>(
        &mut self,
        count: usize,
        what: &str,
        f: fn([u8; N]) -> T,
    ) -> Result<Vec<T>, String> {
        let bytes = count
            .checked_mul(N)
            .ok_or_else(|| format!("{}: state file is damaged ({what})", self.file))?;
        let raw = self.take(bytes, what)?;
        Ok(raw
            .chunks_exact(N)
            .map(|c| f(c.try_into().expect("chunk of N bytes")))
            .collect())
    }
}

/// The label sets an analysis with `settings` has, in order: input and output per n-gram order
/// (orders ascending, distinct, 1 to 4), the back-off pair when asked for, then named sets.
fn check_specs(settings: &AnalysisSettings, specs: &[LabelSetSpec]) -> Result<(), String> {
    let orders = &settings.orders;
    if !orders.is_empty() && labels::normalise_orders(orders).as_ref() != Ok(orders) {
        return Err(format!("orders {orders:?}"));
    }
    let mut expected = labels::label_set_specs(orders);
    if settings.labels.backoff.is_some() {
        expected.extend([Direction::Input, Direction::Output].map(labels::backoff_spec));
    }
    let named = specs.get(expected.len()..).unwrap_or(&[]);
    if specs.get(..expected.len()) != Some(&expected[..])
        || named.iter().any(|s| s.order != 0 || s.direction.is_some())
    {
        return Err("label sets do not match the orders".into());
    }
    Ok(())
}

/// Reads a state written by [`to_bytes`]; `file` names it in errors.
pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Analysis, String> {
    let mut cur = Cursor { bytes, file };
    if cur.take(16, "magic").ok() != Some(&MAGIC[..]) {
        return Err(format!("{file}: not an infoplane state file"));
    }
    let len = u64::from_le_bytes(cur.take(8, "header length")?.try_into().expect("8 bytes"));
    let len = usize::try_from(len).map_err(|_| format!("{file}: state header is damaged"))?;
    let header: Header = serde_json::from_slice(cur.take(len, "header")?)
        // serde's message may quote the file's own text (a field name): keep it on one line.
        .map_err(|e| {
            let e = e.to_string();
            format!("{file}: state header is damaged ({})", e.escape_debug())
        })?;
    if !(OLDEST_VERSION..=VERSION).contains(&header.version) {
        return Err(format!(
            "{file}: state format version {} is not supported (this build reads {OLDEST_VERSION} to {VERSION})",
            header.version
        ));
    }
    let specs = header.specs;
    let settings = header.settings;
    let config = settings.estimator;
    let d = header.input.d;
    if config.n_bins.saturating_mul(8) > bytes.len() || d == 0 || d > MAX_D {
        return Err(format!(
            "{file}: state header is damaged (bins {}, d {d})",
            config.n_bins
        ));
    }
    settings
        .check(file)
        .map_err(|e| format!("{e} (in the state header)"))?;
    check_specs(&settings, &specs)
        .map_err(|what| format!("{file}: state header is damaged ({what})"))?;
    // Building the accumulators validates the settings and draws the reference points once.
    let prototype = settings
        .accumulators(d, &specs)
        .map_err(|e| format!("{file}: state settings are invalid ({e})"))?;
    let names: Vec<String> = prototype[0]
        .label_sets()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    let m = config.n_bins;
    let damaged = |layer: usize| format!("{file}: state of layer {layer} is damaged");
    let mut layers = Vec::with_capacity(header.layers.len().min(bytes.len()));
    for lh in &header.layers {
        if lh.seeds.len() != prototype.len() {
            return Err(damaged(lh.layer));
        }
        let centre = if settings.centre {
            Some(std::sync::Arc::new(cur.array(
                d,
                "centre",
                f64::from_le_bytes,
            )?))
        } else {
            None
        };
        let mut accumulators = Vec::with_capacity(prototype.len());
        for (sh, empty) in lh.seeds.iter().zip(&prototype) {
            if sh.sets.len() != names.len() {
                return Err(damaged(lh.layer));
            }
            let counts = cur.array(m, "counts", f64::from_le_bytes)?;
            let mut sets = Vec::with_capacity(names.len());
            for (name, set) in names.iter().zip(&sh.sets) {
                let n = set.values;
                let keys = cur.array(n, "label values", u128::from_le_bytes)?;
                let rows = cur.array(n, "label rows", u64::from_le_bytes)?;
                let c = cur.array(
                    n.checked_mul(m)
                        .ok_or_else(|| format!("{file}: state file is damaged"))?,
                    "label counts",
                    f64::from_le_bytes,
                )?;
                let dropped_counts = if set.dropped_counts {
                    cur.array(m, "dropped counts", f64::from_le_bytes)?
                } else {
                    Vec::new()
                };
                sets.push(
                    LabelSetCounts::from_parts(
                        name.clone(),
                        keys,
                        rows,
                        c,
                        set.unique,
                        set.dropped,
                        dropped_counts,
                    )
                    .map_err(|e| format!("{file}: {e}"))?,
                );
            }
            // Every row of the layer is in each label set once: as a stored value, a unique one
            // or a dropped one. A state that says otherwise is damaged (or lying).
            for set in &sets {
                let total = set
                    .rows()
                    .iter()
                    .try_fold(0u64, |a, &r| a.checked_add(r))
                    .and_then(|a| a.checked_add(set.unique().rows))
                    .and_then(|a| a.checked_add(set.dropped().rows));
                if total != Some(lh.rows) {
                    return Err(format!(
                        "{file}: state of layer {} is damaged (label set '{}' does not count \
                         every row once)",
                        lh.layer,
                        set.name()
                    ));
                }
            }
            let mut acc = SoftEntropyAccumulator::from_parts(
                empty.clone(),
                lh.temperature,
                counts,
                lh.rows,
                lh.rows_skipped,
                sh.row_entropy_sum,
                sets,
            );
            if let Some(c) = &centre {
                acc = acc
                    .with_centre(c.clone())
                    .map_err(|e| format!("{file}: {e}"))?;
            }
            accumulators.push(acc);
        }
        layers.push(LayerState::new(
            lh.layer,
            accumulators,
            specs.len(),
            settings.labels.shuffles,
            true,
        ));
    }
    if !cur.bytes.is_empty() {
        return Err(format!(
            "{file}: state file has {} unexpected trailing bytes",
            cur.bytes.len()
        ));
    }
    Ok(Analysis {
        settings,
        input: header.input,
        specs,
        layers,
    })
}
