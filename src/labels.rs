//! Input and output n-gram labels per position, built as the reference's `llm.py` builds them: for
//! order k at position i the input label is the k-gram ending at i and the output label is the next
//! k tokens; every order shares the positions [n−1, L−n) of each sequence, n the largest order.
//! Optionally the first position of each sequence (a BOS token or attention sink, whose
//! activations are often outsized) is left out; its token still counts as context.

use std::ops::Range;

use crate::estimator::rng::Permuter;
use crate::estimator::{LabelKey, DROPPED, UNIQUE};

/// Largest n-gram order supported (the paper conditions on up to quadgrams).
pub const MAX_ORDER: usize = 4;

/// The name the reference gives an n-gram order (`quadgram` extends its naming to order 4).
pub fn order_name(order: usize) -> &'static str {
    match order {
        1 => "unigram",
        2 => "bigram",
        3 => "trigram",
        4 => "quadgram",
        _ => "n-gram",
    }
}

/// Which side of the position a label describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The k-gram ending at the position: what produced the representation (complexity, I(X;Z)).
    Input,
    /// The k tokens after the position: what the representation must predict (expressivity, I(Y;Z)).
    Output,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// One label set: an n-gram set with its order and direction and reference-style name
/// (`input_bigram`, ...), or a named label set from the data (`order` 0, no direction).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LabelSetSpec {
    pub order: usize,
    pub direction: Option<Direction>,
    pub name: String,
}

impl LabelSetSpec {
    /// A label set read from the data (preference, part of speech, class...).
    pub fn named(name: &str) -> Self {
        Self {
            order: 0,
            direction: None,
            name: name.to_owned(),
        }
    }
}

/// How positions are chosen and labels are treated, beyond the n-gram orders. The defaults are the
/// reference's behaviour plus five shuffled copies of every label set (extra numbers only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LabelOptions {
    /// Leading positions of each sequence left out (BOS / attention sinks); their tokens still
    /// count as context of later positions.
    pub exclude_first: usize,
    /// Positions whose own token is one of these ids (special tokens) are left out.
    pub exclude_tokens: Vec<u32>,
    /// Label values seen fewer times than this (over the whole data's positions) are dropped from
    /// their label set; 0 and 1 keep every value.
    pub min_count: usize,
    /// Adds the back-off label sets `input_backoff` and `output_backoff`: at each position the
    /// highest order (up to [`MAX_ORDER`]) whose n-gram is seen at least this often, else lower.
    pub backoff: Option<usize>,
    /// Shuffled copies of every label set (the baseline of I for labels unrelated to the rows).
    pub shuffles: usize,
    /// Seed of the permutations (numpy's `default_rng(seed).permutation`, one call per copy).
    pub shuffle_seed: u64,
}

/// Shuffled copies of each label set unless told otherwise.
pub const DEFAULT_SHUFFLES: usize = 5;

impl Default for LabelOptions {
    fn default() -> Self {
        Self {
            exclude_first: 0,
            exclude_tokens: Vec::new(),
            min_count: 0,
            backoff: None,
            shuffles: DEFAULT_SHUFFLES,
            shuffle_seed: 0,
        }
    }
}

impl LabelOptions {
    /// Adds `ids` (a tokenizer's special tokens) to the excluded tokens, keeping them sorted and
    /// distinct.
    pub fn exclude_special(&mut self, ids: &[u32]) {
        self.exclude_tokens.extend_from_slice(ids);
        self.exclude_tokens.sort_unstable();
        self.exclude_tokens.dedup();
    }
}

/// Largest token id back-off labels can hold: their keys mark the order in the top 4 bits.
pub const MAX_BACKOFF_TOKEN: u32 = (1 << 28) - 1;

/// Positions over the whole data, and the raw label of each in every label set. Label statistics
/// (counts for the minimum count and back-off, the shuffles) are taken over these, so an analysis
/// of some sequences (a shard) labels its positions exactly as the whole analysis does.
#[derive(Clone, Debug, PartialEq)]
pub struct Universe {
    /// Orders requested, ascending and distinct.
    pub orders: Vec<usize>,
    /// N-gram label sets in the reference's order (for each order, input then output), then the
    /// back-off sets when asked for.
    pub specs: Vec<LabelSetSpec>,
    /// Indices into the flat token stream of every position of every sequence.
    pub positions: Vec<usize>,
    /// The sequence each position belongs to.
    pub sequence_of: Vec<usize>,
    /// `labels[s][p]`: raw label of `positions[p]` in set `specs[s]`.
    pub labels: Vec<Vec<LabelKey>>,
    /// For each back-off set: the order chosen at each position (1..=MAX_ORDER).
    pub backoff_orders: Vec<Vec<u8>>,
    /// Per sequence: whether it gives no position at all.
    pub empty_sequences: Vec<bool>,
}

/// The positions to analyse and the labels of each, ready for the accumulators.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelPlan {
    /// Orders requested, ascending and distinct.
    pub orders: Vec<usize>,
    /// Label sets, as [`Universe::specs`] plus any named sets added before finishing.
    pub specs: Vec<LabelSetSpec>,
    /// Indices into the flat token stream (and so into the rows of each layer) that are analysed.
    pub positions: Vec<usize>,
    /// Every position of the whole data (equal to `positions` unless some sequences were chosen);
    /// mean-centring averages over these, so shards centre alike.
    pub universe_positions: Vec<usize>,
    /// `labels[s][p]`: label of `positions[p]` in set `specs[s]`, with values seen once in the
    /// whole data as [`UNIQUE`] and values below the minimum count as [`DROPPED`].
    pub labels: Vec<Vec<LabelKey>>,
    /// `shuffled[s * K + k][p]`: the k-th shuffled copy of set `s` (K = `options.shuffles`).
    pub shuffled: Vec<Vec<LabelKey>>,
    /// Per back-off set (in spec order): analysed positions labelled at each order 1..=MAX_ORDER.
    pub backoff_counts: Vec<BackoffCounts>,
    /// Sequences analysed that are too short to give any position.
    pub sequences_without_positions: usize,
    /// A fingerprint of the whole data's labels and the label options: analyses with the same
    /// fingerprint were labelled and shuffled over the same positions, so they merge exactly.
    pub fingerprint: u64,
}

/// How often a back-off label set used each order, over the analysed positions.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackoffCounts {
    pub name: String,
    /// `positions[j]`: positions labelled with their (j+1)-gram.
    pub positions: [u64; MAX_ORDER],
}

/// A request the label builder cannot honour.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelError {
    #[error("n-gram order {0} is not supported (use orders 1 to {MAX_ORDER})")]
    Order(usize),
    #[error("no n-gram orders requested")]
    NoOrders,
    #[error("sequence {index} spans tokens {start}..{end}, beyond the {total} tokens given")]
    SequenceOutOfRange {
        index: usize,
        start: usize,
        end: usize,
        total: usize,
    },
    #[error("token id {0} is too large for back-off labels (ids up to {MAX_BACKOFF_TOKEN})")]
    BackoffToken(u32),
    #[error("the back-off threshold must be at least 1")]
    BackoffThreshold,
    #[error("sequences {start}..{end} requested, but there are {total}")]
    ChosenOutOfRange {
        start: usize,
        end: usize,
        total: usize,
    },
}

/// Normalises a list of orders: ascending, distinct, each in 1..=MAX_ORDER.
pub fn normalise_orders(orders: &[usize]) -> Result<Vec<usize>, LabelError> {
    let mut o = orders.to_vec();
    o.sort_unstable();
    o.dedup();
    if o.is_empty() {
        return Err(LabelError::NoOrders);
    }
    if let Some(&bad) = o.iter().find(|&&k| k == 0 || k > MAX_ORDER) {
        return Err(LabelError::Order(bad));
    }
    Ok(o)
}

/// The label sets for `orders`, in the reference's order and naming.
pub fn label_set_specs(orders: &[usize]) -> Vec<LabelSetSpec> {
    orders
        .iter()
        .flat_map(|&order| {
            [Direction::Input, Direction::Output].map(|direction| LabelSetSpec {
                order,
                direction: Some(direction),
                name: format!("{}_{}", direction.as_str(), order_name(order)),
            })
        })
        .collect()
}

/// The back-off label set of one direction (`order` 0 with a direction).
pub fn backoff_spec(direction: Direction) -> LabelSetSpec {
    LabelSetSpec {
        order: 0,
        direction: Some(direction),
        name: format!("{}_backoff", direction.as_str()),
    }
}

impl LabelSetSpec {
    /// Whether this is a back-off set.
    pub fn is_backoff(&self) -> bool {
        self.order == 0 && self.direction.is_some()
    }
}

/// Packs a token tuple into one key. Tokens are 32-bit, so up to four fit in 128 bits without the
/// overflow the reference's `Σ t·V^j` int64 code suffers for quadgrams of large vocabularies.
fn pack(tokens: &[u32]) -> LabelKey {
    tokens
        .iter()
        .fold(0u128, |key, &t| (key << 32) | LabelKey::from(t))
}

/// A back-off key: the packed n-gram with its order in the top 4 bits (free below order 4, and
/// zero for quadgrams whose first id is at most [`MAX_BACKOFF_TOKEN`]), so orders never collide.
fn pack_backoff(tokens: &[u32]) -> LabelKey {
    let order = tokens.len() as u128;
    if tokens.len() < MAX_ORDER {
        pack(tokens) | (order << 124)
    } else {
        pack(tokens)
    }
}

/// Positions and raw labels over every sequence. Positions of a sequence of length L are
/// [n−1, L−n), n the largest order, starting at `options.exclude_first` at least and skipping
/// positions whose token is in `options.exclude_tokens`.
pub fn universe(
    tokens: &[u32],
    sequences: &[Range<usize>],
    orders: &[usize],
    options: &LabelOptions,
) -> Result<Universe, LabelError> {
    let orders = normalise_orders(orders)?;
    let n = *orders.last().expect("orders is not empty");
    let first = (n - 1).max(options.exclude_first);
    let mut specs = label_set_specs(&orders);
    let backoff_dirs: Vec<Direction> = match options.backoff {
        Some(0) => return Err(LabelError::BackoffThreshold),
        Some(_) => vec![Direction::Input, Direction::Output],
        None => Vec::new(),
    };
    let n_gram_sets = specs.len();
    specs.extend(backoff_dirs.iter().map(|&d| backoff_spec(d)));
    let excluded: std::collections::HashSet<u32> = options.exclude_tokens.iter().copied().collect();
    let mut positions = Vec::new();
    let mut sequence_of = Vec::new();
    let mut labels: Vec<Vec<LabelKey>> = vec![Vec::new(); specs.len()];
    let mut empty_sequences = Vec::with_capacity(sequences.len());
    // Candidate back-off keys per direction and order (None where the n-gram does not exist).
    let mut candidates: Vec<[Vec<Option<LabelKey>>; MAX_ORDER]> =
        backoff_dirs.iter().map(|_| Default::default()).collect();
    for (index, seq) in sequences.iter().enumerate() {
        if seq.start > seq.end || seq.end > tokens.len() {
            return Err(LabelError::SequenceOutOfRange {
                index,
                start: seq.start,
                end: seq.end,
                total: tokens.len(),
            });
        }
        let ids = &tokens[seq.clone()];
        let len = ids.len();
        let before = positions.len();
        for i in first..len.saturating_sub(n) {
            if excluded.contains(&ids[i]) {
                continue;
            }
            positions.push(seq.start + i);
            sequence_of.push(index);
            for (spec, out) in specs[..n_gram_sets].iter().zip(labels.iter_mut()) {
                let k = spec.order;
                let gram = match spec.direction {
                    Some(Direction::Input) => &ids[i + 1 - k..=i],
                    _ => &ids[i + 1..=i + k],
                };
                out.push(pack(gram));
            }
            for (dir, cands) in backoff_dirs.iter().zip(candidates.iter_mut()) {
                for (j, c) in cands.iter_mut().enumerate() {
                    let k = j + 1;
                    let gram = match dir {
                        Direction::Input => (k <= i + 1).then(|| &ids[i + 1 - k..=i]),
                        Direction::Output => (i + k < len).then(|| &ids[i + 1..=i + k]),
                    };
                    if let Some(g) = gram {
                        if let Some(&big) = g.iter().find(|&&t| t > MAX_BACKOFF_TOKEN) {
                            return Err(LabelError::BackoffToken(big));
                        }
                    }
                    c.push(gram.map(pack_backoff));
                }
            }
        }
        empty_sequences.push(positions.len() == before);
    }
    let threshold = options.backoff.unwrap_or(1);
    let mut backoff_orders = Vec::with_capacity(backoff_dirs.len());
    for (b, cands) in candidates.iter().enumerate() {
        let counts: Vec<foldhash::HashMap<LabelKey, usize>> = cands
            .iter()
            .map(|c| {
                let mut m = foldhash::HashMap::default();
                for k in c.iter().flatten() {
                    *m.entry(*k).or_insert(0) += 1;
                }
                m
            })
            .collect();
        let mut chosen_orders = Vec::with_capacity(positions.len());
        let out = &mut labels[n_gram_sets + b];
        for (p, unigram) in cands[0].iter().enumerate() {
            // The highest order seen often enough; the unigram (always present) otherwise.
            let often = |j: usize| cands[j][p].is_some_and(|k| counts[j][&k] >= threshold);
            match (1..MAX_ORDER).rev().find(|&j| often(j)) {
                Some(j) => {
                    out.push(cands[j][p].expect("checked by often()"));
                    chosen_orders.push(j as u8 + 1);
                }
                None => {
                    out.push(unigram.expect("the unigram of a position exists"));
                    chosen_orders.push(1);
                }
            }
        }
        backoff_orders.push(chosen_orders);
    }
    Ok(Universe {
        orders,
        specs,
        positions,
        sequence_of,
        labels,
        backoff_orders,
        empty_sequences,
    })
}

/// FNV-1a, 64 bits: a stable fingerprint (std's hasher may change between Rust releases, and
/// saved states compare fingerprints across builds).
#[derive(Clone, Copy)]
pub struct Fingerprint(u64);
impl Fingerprint {
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }
    pub fn finish(self) -> u64 {
        self.0
    }
}
impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks label values seen once as [`UNIQUE`] and values seen fewer than `min_count` times as
/// [`DROPPED`] (counts over the whole column); a real value equal to a marker is first renamed to a
/// value the column does not use, since only the partition matters.
fn mark(column: &mut [LabelKey], min_count: usize) {
    // foldhash, as the accumulator's label index: with std's SipHash, marking 6 columns of
    // 20 000 positions took 39 ms of a worker's planning in Chromium's profile; now 24.
    let mut counts: foldhash::HashMap<LabelKey, usize> =
        foldhash::HashMapExt::with_capacity(column.len());
    for &k in column.iter() {
        *counts.entry(k).or_insert(0) += 1;
    }
    for marker in [UNIQUE, DROPPED] {
        if let Some(c) = counts.remove(&marker) {
            let free = (0..=LabelKey::MAX)
                .rev()
                .skip(2)
                .find(|k| !counts.contains_key(k))
                .expect("a column cannot use 2^128 values");
            column
                .iter_mut()
                .filter(|k| **k == marker)
                .for_each(|k| *k = free);
            counts.insert(free, c);
        }
    }
    for k in column.iter_mut() {
        let c = counts[k];
        if c < min_count {
            *k = DROPPED;
        } else if c == 1 {
            *k = UNIQUE;
        }
    }
}

/// Turns raw label columns over the whole data's positions into the analysed positions' labels:
/// marks unique and rare values, draws `options.shuffles` shuffled copies of each column (the
/// labels permuted among the positions that kept theirs), then keeps the positions where
/// `chosen[p]` holds. `fingerprint_seed` identifies the data (tokens, sequences) the columns
/// came from.
pub fn finish(
    mut columns: Vec<Vec<LabelKey>>,
    chosen: &[bool],
    options: &LabelOptions,
    fingerprint_seed: Fingerprint,
) -> (Vec<Vec<LabelKey>>, Vec<Vec<LabelKey>>, u64) {
    let mut fp = fingerprint_seed
        .bytes(&(options.min_count as u64).to_le_bytes())
        .bytes(&(options.shuffles as u64).to_le_bytes())
        .bytes(&options.shuffle_seed.to_le_bytes());
    for c in &mut columns {
        mark(c, options.min_count);
    }
    let mut permuter = Permuter::new(options.shuffle_seed);
    let mut shuffled = Vec::with_capacity(columns.len() * options.shuffles);
    for column in &columns {
        let kept: Vec<usize> = (0..column.len())
            .filter(|&p| column[p] != DROPPED)
            .collect();
        for _ in 0..options.shuffles {
            let perm = permuter.permutation(kept.len());
            let mut copy = column.clone();
            for (i, &p) in kept.iter().enumerate() {
                copy[p] = column[kept[perm[i]]];
            }
            shuffled.push(copy);
        }
    }
    let keep = |c: Vec<LabelKey>| -> Vec<LabelKey> {
        if chosen.iter().all(|&c| c) {
            return c;
        }
        c.into_iter()
            .zip(chosen)
            .filter_map(|(k, &c)| c.then_some(k))
            .collect()
    };
    for c in &columns {
        for k in c {
            fp = fp.bytes(&k.to_le_bytes());
        }
    }
    let labels = columns.into_iter().map(keep).collect();
    let shuffled = shuffled.into_iter().map(keep).collect();
    (labels, shuffled, fp.finish())
}

/// A label set read from the data, one key per token of the flat stream (or per row).
pub struct NamedColumn {
    pub name: String,
    pub keys: Vec<LabelKey>,
}

/// Builds positions and labels for `tokens` split into `sequences` (ranges into `tokens`;
/// sequences never mix), analysing the sequences `chosen` (indices into `sequences`, all when
/// `None`) while counting and shuffling labels over all of them. `named` label sets follow the
/// n-gram (and back-off) sets.
pub fn plan(
    tokens: &[u32],
    sequences: &[Range<usize>],
    chosen: Option<Range<usize>>,
    orders: &[usize],
    named: Vec<NamedColumn>,
    options: &LabelOptions,
) -> Result<LabelPlan, LabelError> {
    let chosen = chosen.unwrap_or(0..sequences.len());
    if chosen.start > chosen.end || chosen.end > sequences.len() {
        return Err(LabelError::ChosenOutOfRange {
            start: chosen.start,
            end: chosen.end,
            total: sequences.len(),
        });
    }
    let mut u = universe(tokens, sequences, orders, options)?;
    let picked: Vec<bool> = u.sequence_of.iter().map(|s| chosen.contains(s)).collect();
    let mut fp = Fingerprint::new();
    for t in tokens {
        fp = fp.bytes(&t.to_le_bytes());
    }
    for s in sequences {
        fp = fp
            .bytes(&(s.start as u64).to_le_bytes())
            .bytes(&(s.end as u64).to_le_bytes());
    }
    for column in named {
        u.labels
            .push(u.positions.iter().map(|&p| column.keys[p]).collect());
        u.specs.push(LabelSetSpec::named(&column.name));
    }
    let positions: Vec<usize> = u
        .positions
        .iter()
        .zip(&picked)
        .filter_map(|(&p, &c)| c.then_some(p))
        .collect();
    let backoff_sets: Vec<&LabelSetSpec> = u.specs.iter().filter(|s| s.is_backoff()).collect();
    let backoff_counts = backoff_sets
        .iter()
        .zip(&u.backoff_orders)
        .map(|(spec, orders)| {
            let mut positions = [0u64; MAX_ORDER];
            for (&o, _) in orders.iter().zip(&picked).filter(|(_, &c)| c) {
                positions[usize::from(o) - 1] += 1;
            }
            BackoffCounts {
                name: spec.name.clone(),
                positions,
            }
        })
        .collect();
    let sequences_without_positions = u.empty_sequences[chosen.clone()]
        .iter()
        .filter(|&&e| e)
        .count();
    let (labels, shuffled, fingerprint) = finish(u.labels, &picked, options, fp);
    Ok(LabelPlan {
        orders: u.orders,
        specs: u.specs,
        positions,
        universe_positions: u.positions,
        labels,
        shuffled,
        backoff_counts,
        sequences_without_positions,
        fingerprint,
    })
}

/// The plan for rows without token ids: every row is a position, labelled by the `named` sets.
pub fn plan_rows(rows: usize, named: Vec<NamedColumn>, options: &LabelOptions) -> LabelPlan {
    let mut fp = Fingerprint::new().bytes(&(rows as u64).to_le_bytes());
    let mut specs = Vec::new();
    let mut columns = Vec::new();
    for column in named {
        fp = fp.bytes(column.name.as_bytes());
        specs.push(LabelSetSpec::named(&column.name));
        columns.push(column.keys);
    }
    let (labels, shuffled, fingerprint) = finish(columns, &vec![true; rows], options, fp);
    LabelPlan {
        orders: Vec::new(),
        specs,
        positions: (0..rows).collect(),
        universe_positions: (0..rows).collect(),
        labels,
        shuffled,
        backoff_counts: Vec::new(),
        sequences_without_positions: 0,
        fingerprint,
    }
}

#[cfg(test)]
// One-sequence inputs are written `&[0..n]` on purpose: a list holding one range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn raw(tokens: &[u32], seqs: &[Range<usize>], orders: &[usize], first: usize) -> Universe {
        let options = LabelOptions {
            exclude_first: first,
            ..LabelOptions::default()
        };
        universe(tokens, seqs, orders, &options).unwrap()
    }

    #[test]
    fn positions_and_labels_follow_the_reference_layout() {
        // One sequence of 7 tokens, orders 1 and 2: n = 2, positions 1..5.
        let tokens = [10, 11, 12, 13, 14, 15, 16];
        let p = raw(&tokens, &[0..7], &[2, 1], 0);
        assert_eq!(p.orders, vec![1, 2]);
        let names: Vec<_> = p.specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "input_unigram",
                "output_unigram",
                "input_bigram",
                "output_bigram"
            ]
        );
        assert_eq!(p.positions, vec![1, 2, 3, 4]);
        assert_eq!(p.labels[0], vec![11, 12, 13, 14]);
        assert_eq!(p.labels[1], vec![12, 13, 14, 15]);
        assert_eq!(p.labels[2][0], (10u128 << 32) | 11);
        assert_eq!(p.labels[3][3], (15u128 << 32) | 16);
    }

    #[test]
    fn sequences_never_mix_and_short_ones_are_counted() {
        let tokens = [1, 2, 3, 4, 5, 6, 7];
        let p = raw(&tokens, &[0..3, 3..4, 4..7], &[1], 0);
        // n = 1: positions [0, L-1) of each sequence.
        assert_eq!(p.positions, vec![0, 1, 4, 5]);
        assert_eq!(p.labels[1], vec![2, 3, 6, 7]);
        assert_eq!(p.empty_sequences, vec![false, true, false]);
    }

    #[test]
    fn excluding_first_positions_keeps_their_tokens_as_context() {
        let tokens = [1, 2, 3, 4, 5, 6, 7];
        let p = raw(&tokens, &[0..3, 3..4, 4..7], &[1], 1);
        // n = 1: positions [1, L-1) of each sequence; token 0 is still the context of nothing.
        assert_eq!(p.positions, vec![1, 5]);
        assert_eq!(p.labels[0], vec![2, 6]);
        assert_eq!(p.labels[1], vec![3, 7]);
        // A sequence of 2 tokens keeps position 0 only, so excluding it leaves nothing.
        assert!(raw(&[1, 2], &[0..2], &[1], 1).positions.is_empty());
        // n = 2 already starts at position 1, and bigram inputs still read token 0.
        let with = raw(&tokens, &[0..7], &[1, 2], 1);
        assert_eq!(with, raw(&tokens, &[0..7], &[1, 2], 0));
        assert_eq!(with.labels[2][0], (1u128 << 32) | 2);
        // Two leading positions out.
        assert_eq!(raw(&tokens, &[0..7], &[1, 2], 2).positions, vec![2, 3, 4]);
    }

    #[test]
    fn special_tokens_lose_their_positions_but_stay_context() {
        let tokens = [0, 5, 6, 0, 7, 8, 9];
        let options = LabelOptions {
            exclude_tokens: vec![0],
            ..LabelOptions::default()
        };
        let u = universe(&tokens, &[0..7], &[2], &options).unwrap();
        assert_eq!(u.positions, vec![1, 2, 4]);
        // The bigram "0 7" ending at position 4 keeps the special token as context.
        assert_eq!(u.labels[0][2], 7);
    }

    #[test]
    fn quadgrams_of_large_vocabularies_stay_distinct() {
        let big = u32::MAX;
        let tokens = [big, big - 1, 3, 4, 5, big, 7, 8, 9];
        let p = raw(&tokens, &[0..9], &[4], 0);
        assert_eq!(p.positions, vec![3, 4]);
        assert_ne!(p.labels[0][0], p.labels[0][1]);
        let expected = (u128::from(big) << 96) | (u128::from(big - 1) << 64) | (3 << 32) | 4;
        assert_eq!(p.labels[0][0], expected);
    }

    #[test]
    fn unique_and_rare_values_are_marked_over_the_whole_column() {
        let mut c = vec![7, 8, 7, 9, 7, 8];
        mark(&mut c, 0);
        assert_eq!(c, vec![7, 8, 7, UNIQUE, 7, 8]);
        let mut c = vec![7, 8, 7, 9, 7, 8];
        mark(&mut c, 3);
        assert_eq!(c, vec![7, DROPPED, 7, DROPPED, 7, DROPPED]);
        // A real value equal to a marker is renamed, keeping the partition.
        let mut c = vec![UNIQUE, UNIQUE, DROPPED, 5];
        mark(&mut c, 0);
        assert_eq!(c[0], c[1]);
        assert!(c[0] != UNIQUE && c[0] != DROPPED && c[0] != 5);
        assert_eq!(&c[2..], &[UNIQUE, UNIQUE]);
    }

    #[test]
    fn shuffles_permute_the_kept_labels_and_shards_see_the_whole() {
        let options = LabelOptions {
            shuffles: 3,
            min_count: 2,
            ..LabelOptions::default()
        };
        let column = vec![1, 1, 2, 2, 2, 3, 4, 4, 1, 5];
        let all = vec![true; column.len()];
        let (labels, shuffled, fp) =
            finish(vec![column.clone()], &all, &options, Fingerprint::new());
        assert_eq!(shuffled.len(), 3);
        let sorted = |c: &[LabelKey]| {
            let mut c = c.to_vec();
            c.sort_unstable();
            c
        };
        for s in &shuffled {
            // Same multiset, dropped positions untouched.
            assert_eq!(sorted(s), sorted(&labels[0]));
            assert_eq!(s[5], DROPPED);
            assert_eq!(s[9], DROPPED);
        }
        assert_ne!(shuffled[0], labels[0]);
        // A shard keeps exactly its positions of the whole data's columns.
        let half: Vec<bool> = (0..column.len()).map(|i| i < 4).collect();
        let (l2, s2, fp2) = finish(vec![column], &half, &options, Fingerprint::new());
        assert_eq!(l2[0], labels[0][..4]);
        assert_eq!(s2[1], shuffled[1][..4]);
        assert_eq!(fp, fp2);
    }

    #[test]
    fn backoff_takes_the_highest_order_seen_often_enough() {
        // "1 2 3" three times, then "9 2 3": the trigram ending at 3 is frequent, except after 9.
        let tokens = [1, 2, 3, 1, 2, 3, 1, 2, 3, 9, 2, 3, 1];
        let options = LabelOptions {
            backoff: Some(2),
            shuffles: 0,
            ..LabelOptions::default()
        };
        let u = universe(&tokens, &[0..13], &[1], &options).unwrap();
        // Positions 0..12; back-off input set is the third spec.
        assert_eq!(u.specs[2].name, "input_backoff");
        let at = |i: usize| u.backoff_orders[0][u.positions.iter().position(|&p| p == i).unwrap()];
        assert_eq!(at(0), 1); // "1" alone exists
        assert_eq!(at(2), 3); // "1 2 3" seen 3 times (quadgram "3 1 2 3" twice, but not at 2)
        assert_eq!(at(5), 4); // "3 1 2 3" seen twice
        assert_eq!(at(11), 2); // "9 2 3" once, "2 3" four times
        assert_eq!(u.labels[2][11], (2u128 << 124) | (2 << 32) | 3);
        let p = plan(&tokens, &[0..13], None, &[1], Vec::new(), &options).unwrap();
        assert_eq!(p.backoff_counts[0].positions.iter().sum::<u64>(), 12);
        let too_big = LabelOptions {
            backoff: Some(2),
            ..LabelOptions::default()
        };
        assert_eq!(
            universe(&[1, 1 << 29, 3], &[0..3], &[1], &too_big),
            Err(LabelError::BackoffToken(1 << 29))
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let o = LabelOptions::default();
        assert_eq!(
            plan(&[1], &[0..1], None, &[5], Vec::new(), &o),
            Err(LabelError::Order(5))
        );
        assert_eq!(
            plan(&[1], &[0..1], None, &[], Vec::new(), &o),
            Err(LabelError::NoOrders)
        );
        assert!(plan(&[1], &[0..2], None, &[1], Vec::new(), &o).is_err());
        assert!(plan(&[1, 2, 3], &[0..3], Some(0..2), &[1], Vec::new(), &o).is_err());
    }
}
