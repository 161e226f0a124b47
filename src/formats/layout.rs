//! Finding the parts of a dataset among the tensors of one or more files: the hidden states
//! (stacked `[layers, T, d]` / `[layers, S, L, d]`, one tensor per layer, or plain `[N, d]` rows),
//! the token ids with sequence bounds, and extra label sets. Detection is by name and shape, and
//! every choice can be overridden.

use std::ops::Range;

use super::tensor::{DType, TensorFile, TensorInfo};
use super::FormatError;
use crate::estimator::LabelKey;

/// A tensor in one of the dataset's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorRef {
    pub file: usize,
    pub name: String,
}

/// Where one layer's rows are: `rows_per_layer × d` elements from `first_element` of `tensor`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSource {
    /// Layer number as reported (0 = embedding output).
    pub layer: usize,
    pub tensor: TensorRef,
    pub first_element: usize,
}

/// How the hidden states are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    /// One tensor `[layers, T, d]` (or `[layers, S, L, d]`).
    Stacked,
    /// One tensor per layer, `[T, d]` (or `[S, L, d]`).
    PerLayer,
    /// Plain rows `[N, d]` without token ids: one "layer", labels only.
    Rows,
}

impl LayoutKind {
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::Stacked => "stacked",
            LayoutKind::PerLayer => "per-layer",
            LayoutKind::Rows => "rows",
        }
    }
}

/// The token side of a language dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub ids: TensorRef,
    /// The real tokens, sequence after sequence.
    pub tokens: Vec<u32>,
    /// Each sequence as a range into `tokens`.
    pub sequences: Vec<Range<usize>>,
    /// `token_rows[t]`: the row (within a layer) holding token `t`.
    pub token_rows: Vec<usize>,
}

/// A label set beside the n-grams (preference, part of speech, class...), one key per row.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtraLabels {
    pub name: String,
    pub tensor: TensorRef,
    pub keys: Vec<LabelKey>,
}

/// What was detected: enough to stream every layer's rows and label them.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub kind: LayoutKind,
    /// One line saying what was found, for `inspect` and the page.
    pub description: String,
    pub layers: Vec<LayerSource>,
    pub d: usize,
    pub rows_per_layer: usize,
    pub dtype: DType,
    /// Token ids and sequence bounds; `None` for plain rows.
    pub text: Option<Text>,
    pub extra_labels: Vec<ExtraLabels>,
}

/// Choices that replace detection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayoutOverrides {
    /// Name of the stacked hidden-state tensor, or prefix of per-layer tensors.
    pub hidden: Option<String>,
    /// Name of the token-id tensor; `Some("")` means: no ids, plain rows.
    pub ids: Option<String>,
    /// Names of tensors to use as extra label sets (in addition to those found by name).
    pub labels: Vec<String>,
}

/// Per-layer naming patterns: (prefix, suffix, layer offset).
const PER_LAYER: &[(&str, &str, isize)] = &[
    ("hidden_states.", "", 0),
    ("hidden_states/", "", 0),
    ("hidden_states_", "", 0),
    ("layer_", "", 0),
    ("layer.", "", 0),
    ("layers.", "", 0),
    ("layers/", "", 0),
    ("", "", 0),
    // TransformerLens: the residual stream before block N is layer N, after it layer N + 1.
    ("blocks.", ".hook_resid_pre", 0),
    ("blocks.", ".hook_resid_post", 1),
];
const IDS: &[&str] = &["input_ids", "tokens", "ids", "token_ids"];
const SEQ_LENS: &[&str] = &["seq_lens", "seq_len", "lengths"];
const MASK: &[&str] = &["attention_mask", "mask"];

fn layer_number(name: &str, prefix_hint: Option<&str>) -> Option<(usize, usize)> {
    for (i, &(prefix, suffix, offset)) in PER_LAYER.iter().enumerate() {
        let prefix = match prefix_hint {
            Some(h) if prefix.is_empty() && suffix.is_empty() => h,
            _ => prefix,
        };
        let Some(rest) = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
        else {
            continue;
        };
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 6 {
            continue;
        }
        let n: usize = rest.parse().ok()?;
        return Some((i, (n as isize + offset) as usize));
    }
    None
}

fn label_name(name: &str) -> Option<String> {
    if name == "labels" || name == "y" {
        return Some(name.to_owned());
    }
    name.strip_prefix("labels.")
        .or_else(|| name.strip_prefix("labels/"))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

struct Found<'a> {
    file: usize,
    info: &'a TensorInfo,
}

fn find<'a>(all: &'a [Found<'a>], names: &[&str]) -> Option<&'a Found<'a>> {
    names
        .iter()
        .find_map(|n| all.iter().find(|f| f.info.name == *n))
}

/// Detects the layout of `files` (several files form one dataset) and reads the small tensors:
/// ids, lengths, masks and labels. `label_files[i]` marks files whose every column is a label set
/// (TSV metadata).
pub fn detect(
    files: &mut [Box<dyn TensorFile>],
    label_files: &[bool],
    overrides: &LayoutOverrides,
) -> Result<Layout, FormatError> {
    let names = files
        .iter()
        .map(|f| f.file_name().to_owned())
        .collect::<Vec<_>>()
        .join(" + ");
    let infos: Vec<Vec<TensorInfo>> = files.iter().map(|f| f.tensors().to_vec()).collect();
    let all: Vec<Found> = infos
        .iter()
        .enumerate()
        .flat_map(|(file, ts)| ts.iter().map(move |info| Found { file, info }))
        .collect();
    let fail = |m: String| FormatError::new(&names, None, m);
    let files_names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
    let floats: Vec<&Found> = all.iter().filter(|f| f.info.dtype.is_float()).collect();

    // 1. Hidden states.
    let hidden_name = overrides.hidden.as_deref().unwrap_or("hidden_states");
    // The same part found in several files is ambiguous (e.g. two checkpoints dropped together):
    // refuse rather than silently use one of them.
    let ambiguous = |what: &str, hits: Vec<&Found>| -> Result<(), FormatError> {
        if hits.len() > 1 {
            let where_: Vec<&str> = hits.iter().map(|f| files_names[f.file].as_str()).collect();
            return Err(fail(format!(
                "{what} is in several files ({}); analyse them one at a time",
                where_.join(", ")
            )));
        }
        Ok(())
    };
    ambiguous(
        &format!("tensor '{hidden_name}'"),
        all.iter().filter(|f| f.info.name == hidden_name).collect(),
    )?;
    for name in IDS {
        ambiguous(
            &format!("tensor '{name}'"),
            all.iter().filter(|f| f.info.name == *name).collect(),
        )?;
    }
    let stacked = floats
        .iter()
        .find(|f| f.info.name == hidden_name && matches!(f.info.shape.len(), 3 | 4));
    let mut per_layer: Vec<(usize, usize, &Found)> = floats
        .iter()
        .filter_map(|f| {
            let hint = overrides.hidden.as_deref();
            layer_number(&f.info.name, hint).map(|(pattern, layer)| (pattern, layer, *f))
        })
        .filter(|(_, _, f)| matches!(f.info.shape.len(), 2 | 3))
        .collect();
    // Prefer the most specific pattern present; for TransformerLens keep resid_post plus the
    // embedding (resid_pre of block 0).
    let post = PER_LAYER.len() - 1;
    if per_layer.iter().any(|(p, _, _)| *p == post) {
        per_layer.retain(|(p, l, _)| *p == post || (*p == post - 1 && *l == 0));
    } else if let Some(best) = per_layer.iter().map(|(p, _, _)| *p).min() {
        per_layer.retain(|(p, _, _)| *p == best);
    }
    per_layer.sort_by_key(|(_, l, _)| *l);
    for pair in per_layer.windows(2) {
        if pair[0].1 == pair[1].1 {
            ambiguous(&format!("layer {}", pair[0].1), vec![pair[0].2, pair[1].2])?;
        }
    }

    let (kind, sources, shape, dtype, hidden_desc): (
        LayoutKind,
        Vec<LayerSource>,
        Vec<usize>,
        DType,
        String,
    ) = if let Some(s) = stacked {
        let shape = s.info.shape.clone();
        let per = shape[1..].iter().product::<usize>();
        let sources = (0..shape[0])
            .map(|l| LayerSource {
                layer: l,
                tensor: TensorRef {
                    file: s.file,
                    name: s.info.name.clone(),
                },
                first_element: l * per,
            })
            .collect();
        (
            LayoutKind::Stacked,
            sources,
            shape[1..].to_vec(),
            s.info.dtype,
            format!(
                "'{}' {:?} {}",
                s.info.name,
                s.info.shape,
                s.info.dtype.name()
            ),
        )
    } else if !per_layer.is_empty() {
        let first = per_layer[0].2;
        for (_, _, f) in &per_layer {
            if f.info.shape != first.info.shape {
                return Err(FormatError::new(
                    files[f.file].file_name(),
                    Some(&f.info.name),
                    format!(
                        "has shape {:?}, but '{}' has {:?}; per-layer tensors must agree",
                        f.info.shape, first.info.name, first.info.shape
                    ),
                ));
            }
        }
        let sources = per_layer
            .iter()
            .map(|(_, l, f)| LayerSource {
                layer: *l,
                tensor: TensorRef {
                    file: f.file,
                    name: f.info.name.clone(),
                },
                first_element: 0,
            })
            .collect();
        (
            LayoutKind::PerLayer,
            sources,
            first.info.shape.clone(),
            first.info.dtype,
            format!(
                "{} per-layer tensors '{}'..'{}' {:?} {}",
                per_layer.len(),
                first.info.name,
                per_layer.last().expect("not empty").2.info.name,
                first.info.shape,
                first.info.dtype.name()
            ),
        )
    } else {
        let candidates: Vec<&&Found> = floats
            .iter()
            .filter(|f| matches!(f.info.shape.len(), 2..=4))
            .collect();
        match candidates.as_slice() {
            [one] if one.info.shape.len() == 2 => (
                LayoutKind::Rows,
                vec![LayerSource {
                    layer: 0,
                    tensor: TensorRef {
                        file: one.file,
                        name: one.info.name.clone(),
                    },
                    first_element: 0,
                }],
                one.info.shape.clone(),
                one.info.dtype,
                format!(
                    "rows '{}' {:?} {}",
                    one.info.name,
                    one.info.shape,
                    one.info.dtype.name()
                ),
            ),
            [one] => {
                let shape = one.info.shape.clone();
                let per = shape[1..].iter().product::<usize>();
                (
                    LayoutKind::Stacked,
                    (0..shape[0])
                        .map(|l| LayerSource {
                            layer: l,
                            tensor: TensorRef {
                                file: one.file,
                                name: one.info.name.clone(),
                            },
                            first_element: l * per,
                        })
                        .collect(),
                    shape[1..].to_vec(),
                    one.info.dtype,
                    format!(
                        "'{}' {:?} {}",
                        one.info.name,
                        one.info.shape,
                        one.info.dtype.name()
                    ),
                )
            }
            [] => {
                let found: Vec<String> = all
                    .iter()
                    .map(|f| format!("{} {:?}", f.info.name, f.info.shape))
                    .collect();
                return Err(fail(format!(
                        "no hidden states found (expected 'hidden_states' [layers, T, d], per-layer tensors like 'hidden_states.3', or one float [N, d] tensor; found: {})",
                        if found.is_empty() { "nothing".into() } else { found.join(", ") }
                    )));
            }
            many => {
                let list: Vec<String> = many.iter().map(|f| format!("'{}'", f.info.name)).collect();
                return Err(fail(format!(
                    "several float tensors could be the hidden states ({}); name one with --hidden",
                    list.join(", ")
                )));
            }
        }
    };
    let d = *shape.last().expect("at least 2 dimensions");
    if d == 0 || sources.is_empty() {
        return Err(fail(format!("hidden states {hidden_desc} are empty")));
    }
    let rows_per_layer: usize = shape[..shape.len() - 1].iter().product();
    let padded = shape.len() == 3;

    // 2. Token ids.
    let ids = match overrides.ids.as_deref() {
        Some("") => None,
        Some(name) => Some(
            all.iter()
                .find(|f| f.info.name == name)
                .ok_or_else(|| fail(format!("no tensor named '{name}' for the token ids")))?,
        ),
        None if kind == LayoutKind::Rows && find(&all, IDS).is_none() => None,
        None => find(&all, IDS),
    };
    let text = match ids {
        None => None,
        Some(ids) => Some(read_text(files, &all, ids, &shape, padded)?),
    };
    let kind = if kind == LayoutKind::Rows && text.is_some() {
        LayoutKind::Stacked
    } else {
        kind
    };
    if text.is_none() && kind != LayoutKind::Rows && overrides.ids.as_deref() != Some("") {
        return Err(fail(format!(
            "hidden states {hidden_desc} found but no token ids (expected a tensor named {})",
            IDS.join(", ")
        )));
    }

    // 3. Extra label sets.
    let mut extra_labels = Vec::new();
    for f in &all {
        let from_label_file = label_files.get(f.file).copied().unwrap_or(false);
        let name = if overrides.labels.iter().any(|l| l == &f.info.name) || from_label_file {
            Some(label_name(&f.info.name).unwrap_or_else(|| f.info.name.clone()))
        } else {
            label_name(&f.info.name)
        };
        let Some(name) = name else { continue };
        if f.info.dtype.is_float() {
            return Err(FormatError::new(
                files[f.file].file_name(),
                Some(&f.info.name),
                format!(
                    "is {}; label sets must be integers or text",
                    f.info.dtype.name()
                ),
            ));
        }
        if f.info.len() != rows_per_layer {
            return Err(FormatError::new(
                files[f.file].file_name(),
                Some(&f.info.name),
                format!(
                    "has {} labels for {rows_per_layer} rows of hidden states",
                    f.info.len()
                ),
            ));
        }
        let values = files[f.file].read_i64(&f.info.name)?;
        extra_labels.push(ExtraLabels {
            name,
            tensor: TensorRef {
                file: f.file,
                name: f.info.name.clone(),
            },
            keys: values.iter().map(|&v| LabelKey::from(v as u64)).collect(),
        });
    }

    let description = match &text {
        Some(t) => format!(
            "{} layers of {hidden_desc}; ids '{}', {} sequences, {} tokens{}",
            sources.len(),
            t.ids.name,
            t.sequences.len(),
            t.tokens.len(),
            if extra_labels.is_empty() {
                String::new()
            } else {
                format!(
                    "; label sets {}",
                    extra_labels
                        .iter()
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        None => format!(
            "{hidden_desc} without token ids; label sets: {}",
            if extra_labels.is_empty() {
                "none (H(Z) only)".to_string()
            } else {
                extra_labels
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    };
    Ok(Layout {
        kind,
        description,
        layers: sources,
        d,
        rows_per_layer,
        dtype,
        text,
        extra_labels,
    })
}

/// Reads ids (and lengths or mask) for hidden states whose per-layer shape is `shape`
/// (`[T, d]` or `[S, L, d]`).
fn read_text(
    files: &mut [Box<dyn TensorFile>],
    all: &[Found],
    ids: &Found,
    shape: &[usize],
    padded: bool,
) -> Result<Text, FormatError> {
    let file_names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
    let file_of = |f: &Found| file_names[f.file].clone();
    let ids_ref = TensorRef {
        file: ids.file,
        name: ids.info.name.clone(),
    };
    let ids_err = |m: String| FormatError::new(&file_of(ids), Some(&ids.info.name), m);
    if ids.info.dtype.is_float() {
        return Err(ids_err(format!(
            "is {}, expected integer token ids",
            ids.info.dtype.name()
        )));
    }
    let rows = &shape[..shape.len() - 1];
    // Ids may carry a leading batch axis of 1 ([1, T]) where the states are flat.
    let ids_shape: Vec<usize> = if !padded && ids.info.shape.len() == 2 && ids.info.shape[0] == 1 {
        ids.info.shape[1..].to_vec()
    } else {
        ids.info.shape.clone()
    };
    if ids_shape != rows {
        return Err(ids_err(format!(
            "has shape {:?}, expected {rows:?} to match the hidden states",
            ids.info.shape
        )));
    }
    let values = files[ids.file].read_i64(&ids.info.name)?;
    let tokens_all: Vec<u32> = values
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            u32::try_from(t).map_err(|_| {
                ids_err(format!(
                    "entry {i} is {t}, not a token id (0 to 4294967295)"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if !padded {
        let t = rows[0];
        let sequences = match find(all, SEQ_LENS) {
            None => {
                let whole: Range<usize> = 0..t;
                vec![whole]
            }
            Some(l) => {
                let lens = files[l.file].read_i64(&l.info.name)?;
                flat_sequences(&file_of(l), &l.info.name, &lens, t)?
            }
        };
        return Ok(Text {
            ids: ids_ref,
            tokens: tokens_all,
            sequences,
            token_rows: (0..t).collect(),
        });
    }
    let (s, l) = (rows[0], rows[1]);
    let mask = match find(all, MASK) {
        None => vec![1; s * l],
        Some(m) if m.info.shape == [s, l] => files[m.file].read_i64(&m.info.name)?,
        Some(m) => {
            return Err(FormatError::new(
                &file_of(m),
                Some(&m.info.name),
                format!("has shape {:?}, expected [{s}, {l}]", m.info.shape),
            ))
        }
    };
    let mask_name = find(all, MASK).map(|m| (file_of(m), m.info.name.clone()));
    let mut tokens = Vec::new();
    let mut sequences = Vec::with_capacity(s);
    let mut token_rows = Vec::new();
    for seq in 0..s {
        let row = &mask[seq * l..(seq + 1) * l];
        let real = real_run(row).ok_or_else(|| {
            let (file, name) = mask_name.clone().unwrap_or_default();
            FormatError::new(
                &file,
                Some(&name),
                format!("row {seq} is not one contiguous run of ones (only left or right padding is understood)"),
            )
        })?;
        let start = tokens.len();
        for p in real {
            tokens.push(tokens_all[seq * l + p]);
            token_rows.push(seq * l + p);
        }
        sequences.push(start..tokens.len());
    }
    Ok(Text {
        ids: ids_ref,
        tokens,
        sequences,
        token_rows,
    })
}

fn flat_sequences(
    file: &str,
    tensor: &str,
    lens: &[i64],
    total: usize,
) -> Result<Vec<Range<usize>>, FormatError> {
    let err = |m: String| FormatError::new(file, Some(tensor), m);
    let mut start = 0usize;
    let mut out = Vec::with_capacity(lens.len());
    for (i, &l) in lens.iter().enumerate() {
        let l = usize::try_from(l).map_err(|_| err(format!("entry {i} is negative ({l})")))?;
        let end = start
            .checked_add(l)
            .filter(|&e| e <= total)
            .ok_or_else(|| {
                err(format!(
                    "lengths run past the {total} tokens of the hidden states (at entry {i})"
                ))
            })?;
        out.push(start..end);
        start = end;
    }
    if start != total {
        return Err(err(format!(
            "lengths sum to {start}, but the hidden states have {total} tokens"
        )));
    }
    Ok(out)
}

/// The positions of a mask row's ones, if they form one contiguous run (possibly empty).
fn real_run(mask: &[i64]) -> Option<Range<usize>> {
    let first = match mask.iter().position(|&v| v != 0) {
        None => return Some(0..0),
        Some(f) => f,
    };
    let len = mask[first..].iter().take_while(|&&v| v != 0).count();
    if mask[first + len..].iter().any(|&v| v != 0) {
        return None;
    }
    Some(first..first + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names() {
        assert_eq!(layer_number("hidden_states.3", None).map(|x| x.1), Some(3));
        assert_eq!(
            layer_number("hidden_states/12", None).map(|x| x.1),
            Some(12)
        );
        assert_eq!(layer_number("layer_0", None).map(|x| x.1), Some(0));
        assert_eq!(layer_number("7", None).map(|x| x.1), Some(7));
        assert_eq!(
            layer_number("blocks.3.hook_resid_post", None).map(|x| x.1),
            Some(4)
        );
        assert_eq!(
            layer_number("blocks.3.hook_resid_pre", None).map(|x| x.1),
            Some(3)
        );
        assert_eq!(layer_number("acts_5", Some("acts_")).map(|x| x.1), Some(5));
        assert_eq!(layer_number("hidden_states", None), None);
        assert_eq!(layer_number("layer_x", None), None);
    }

    #[test]
    fn label_names() {
        assert_eq!(label_name("labels.pos").as_deref(), Some("pos"));
        assert_eq!(
            label_name("labels/preference").as_deref(),
            Some("preference")
        );
        assert_eq!(label_name("y").as_deref(), Some("y"));
        assert_eq!(label_name("labelsx"), None);
        assert_eq!(label_name("labels."), None);
    }

    #[test]
    fn mask_runs() {
        assert_eq!(real_run(&[1, 1, 0, 0]), Some(0..2));
        assert_eq!(real_run(&[0, 0, 1, 1]), Some(2..4));
        assert_eq!(real_run(&[0, 0]), Some(0..0));
        assert_eq!(real_run(&[1, 0, 1]), None);
    }

    #[test]
    fn sequence_lengths_must_cover_the_tokens() {
        assert_eq!(
            flat_sequences("f", "seq_lens", &[2, 3], 5).unwrap(),
            vec![0..2, 2..5]
        );
        let e = flat_sequences("f.npz", "seq_lens", &[2, 2], 5).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.npz: tensor 'seq_lens': lengths sum to 4, but the hidden states have 5 tokens"
        );
        assert!(flat_sequences("f", "s", &[-1], 5).is_err());
        assert!(flat_sequences("f", "s", &[9], 5).is_err());
    }
}
