//! Input and output n-gram labels per position, built as the reference's `llm.py` builds them: for
//! order k at position i the input label is the k-gram ending at i and the output label is the next
//! k tokens; every order shares the positions [n−1, L−n) of each sequence, n the largest order.
//! Optionally the first position of each sequence (a BOS token or attention sink, whose
//! activations are often outsized) is left out; its token still counts as context.

use std::ops::Range;

use crate::estimator::LabelKey;

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

/// The positions to analyse and the labels of each, for a whole token stream.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelPlan {
    /// Orders requested, ascending and distinct.
    pub orders: Vec<usize>,
    /// Label sets in the reference's order: for each order, input then output.
    pub specs: Vec<LabelSetSpec>,
    /// Indices into the flat token stream (and so into the rows of each layer) that are analysed.
    pub positions: Vec<usize>,
    /// `labels[s][p]`: label of `positions[p]` in set `specs[s]`.
    pub labels: Vec<Vec<LabelKey>>,
    /// Sequences too short to give any position.
    pub sequences_without_positions: usize,
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

/// Packs a token tuple into one key. Tokens are 32-bit, so up to four fit in 128 bits without the
/// overflow the reference's `Σ t·V^j` int64 code suffers for quadgrams of large vocabularies.
fn pack(tokens: &[u32]) -> LabelKey {
    tokens
        .iter()
        .fold(0u128, |key, &t| (key << 32) | LabelKey::from(t))
}

/// Builds positions and labels for `tokens` split into `sequences` (ranges into `tokens`; sequences
/// never mix). Positions within a sequence of length L are [n−1, L−n), n the largest order; with
/// `exclude_first` they start at 1 at least, which only changes anything when n = 1.
pub fn plan(
    tokens: &[u32],
    sequences: &[Range<usize>],
    orders: &[usize],
    exclude_first: bool,
) -> Result<LabelPlan, LabelError> {
    let orders = normalise_orders(orders)?;
    let n = *orders.last().expect("orders is not empty");
    let first = if exclude_first { (n - 1).max(1) } else { n - 1 };
    let specs = label_set_specs(&orders);
    let mut positions = Vec::new();
    let mut labels: Vec<Vec<LabelKey>> = vec![Vec::new(); specs.len()];
    let mut sequences_without_positions = 0;
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
        if len < n + first + 1 {
            sequences_without_positions += 1;
            continue;
        }
        for i in first..(len - n) {
            positions.push(seq.start + i);
            for (spec, out) in specs.iter().zip(labels.iter_mut()) {
                let k = spec.order;
                let gram = match spec.direction {
                    Some(Direction::Input) => &ids[i + 1 - k..=i],
                    _ => &ids[i + 1..=i + k],
                };
                out.push(pack(gram));
            }
        }
    }
    Ok(LabelPlan {
        orders,
        specs,
        positions,
        labels,
        sequences_without_positions,
    })
}

#[cfg(test)]
// One-sequence inputs are written `&[0..n]` on purpose: a list holding one range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_labels_follow_the_reference_layout() {
        // One sequence of 7 tokens, orders 1 and 2: n = 2, positions 1..5.
        let tokens = [10, 11, 12, 13, 14, 15, 16];
        let p = plan(&tokens, &[0..7], &[2, 1], false).unwrap();
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
        let p = plan(&tokens, &[0..3, 3..4, 4..7], &[1], false).unwrap();
        // n = 1: positions [0, L-1) of each sequence.
        assert_eq!(p.positions, vec![0, 1, 4, 5]);
        assert_eq!(p.labels[1], vec![2, 3, 6, 7]);
        assert_eq!(p.sequences_without_positions, 1);
    }

    #[test]
    fn excluding_the_first_position_drops_it_for_unigrams_only() {
        let tokens = [1, 2, 3, 4, 5, 6, 7];
        let p = plan(&tokens, &[0..3, 3..4, 4..7], &[1], true).unwrap();
        // n = 1: positions [1, L-1) of each sequence; token 0 is still the context of nothing.
        assert_eq!(p.positions, vec![1, 5]);
        assert_eq!(p.labels[0], vec![2, 6]);
        assert_eq!(p.labels[1], vec![3, 7]);
        assert_eq!(p.sequences_without_positions, 1);
        // A sequence of 2 tokens keeps position 0 only, so excluding it leaves nothing.
        let p = plan(&[1, 2], &[0..2], &[1], true).unwrap();
        assert!(p.positions.is_empty());
        assert_eq!(p.sequences_without_positions, 1);
        // n = 2 already starts at position 1, and bigram inputs still read token 0.
        let with = plan(&tokens, &[0..7], &[1, 2], true).unwrap();
        assert_eq!(with, plan(&tokens, &[0..7], &[1, 2], false).unwrap());
        assert_eq!(with.labels[2][0], (1u128 << 32) | 2);
    }

    #[test]
    fn quadgrams_of_large_vocabularies_stay_distinct() {
        let big = u32::MAX;
        let tokens = [big, big - 1, 3, 4, 5, big, 7, 8, 9];
        let p = plan(&tokens, &[0..9], &[4], false).unwrap();
        assert_eq!(p.positions, vec![3, 4]);
        assert_ne!(p.labels[0][0], p.labels[0][1]);
        let expected = (u128::from(big) << 96) | (u128::from(big - 1) << 64) | (3 << 32) | 4;
        assert_eq!(p.labels[0][0], expected);
    }

    #[test]
    fn bad_requests_are_refused() {
        assert_eq!(plan(&[1], &[0..1], &[5], false), Err(LabelError::Order(5)));
        assert_eq!(plan(&[1], &[0..1], &[], false), Err(LabelError::NoOrders));
        assert!(plan(&[1], &[0..2], &[1], false).is_err());
    }
}
