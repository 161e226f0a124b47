//! The canonical `.npz` dump: `hidden_states` `[layers, T, d]` with `input_ids` `[T]` and
//! `seq_lens` `[S]` (sum T), or `hidden_states` `[layers, S, L, d]` with `input_ids` `[S, L]` and an
//! optional `attention_mask` `[S, L]` (left or right padding). Layer 0 is the embedding output.

use std::io::{Read, Seek};
use std::ops::Range;

use zip::ZipArchive;

use super::npy::{self, NpyStream};
use super::{DumpLayout, FormatError};

/// An opened dump: its layout is read, its hidden states are streamed on demand.
pub struct NpzDump<R: Read + Seek> {
    file: String,
    archive: ZipArchive<R>,
    pub layout: DumpLayout,
}

const HIDDEN: &str = "hidden_states";

impl<R: Read + Seek> NpzDump<R> {
    /// Opens the archive and reads everything but the hidden states themselves.
    pub fn open(file: &str, reader: R) -> Result<Self, FormatError> {
        let mut archive = ZipArchive::new(reader).map_err(|e| {
            FormatError::new(
                file,
                None,
                format!("not a readable .npz (zip) archive ({e})"),
            )
        })?;
        let names: Vec<String> = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        let has = |t: &str| names.iter().any(|n| n == &format!("{t}.npy"));
        if !has(HIDDEN) {
            return Err(FormatError::new(
                file,
                None,
                format!(
                    "no 'hidden_states' array (found: {})",
                    names.join(", ").replace(".npy", "")
                ),
            ));
        }
        let hs_shape = member(file, &mut archive, HIDDEN)?.shape;
        let hs_err = |m: String| FormatError::new(file, Some(HIDDEN), m);
        let ids = read_ints(file, &mut archive, "input_ids", true)?.expect("required");
        let (layers, d, rows_per_layer, tokens, sequences, token_rows) = match hs_shape.len() {
            3 => {
                let (layers, t, d) = (hs_shape[0], hs_shape[1], hs_shape[2]);
                let (ids_shape, ids) = ids;
                if ids_shape != [t] {
                    return Err(FormatError::new(
                        file,
                        Some("input_ids"),
                        format!("has shape {ids_shape:?}, expected [{t}] to match hidden_states {hs_shape:?}"),
                    ));
                }
                let sequences = match read_ints(file, &mut archive, "seq_lens", false)? {
                    None => {
                        let whole: Range<usize> = 0..t;
                        vec![whole]
                    }
                    Some((_, lens)) => flat_sequences(file, &lens, t)?,
                };
                let tokens = to_tokens(file, &ids)?;
                (layers, d, t, tokens, sequences, (0..t).collect())
            }
            4 => {
                let (layers, s, l, d) = (hs_shape[0], hs_shape[1], hs_shape[2], hs_shape[3]);
                let (ids_shape, ids) = ids;
                if ids_shape != [s, l] {
                    return Err(FormatError::new(
                        file,
                        Some("input_ids"),
                        format!("has shape {ids_shape:?}, expected [{s}, {l}] to match hidden_states {hs_shape:?}"),
                    ));
                }
                let mask = match read_ints(file, &mut archive, "attention_mask", false)? {
                    None => vec![1; s * l],
                    Some((shape, m)) if shape == [s, l] => m,
                    Some((shape, _)) => {
                        return Err(FormatError::new(
                            file,
                            Some("attention_mask"),
                            format!("has shape {shape:?}, expected [{s}, {l}]"),
                        ))
                    }
                };
                let all = to_tokens(file, &ids)?;
                let mut tokens = Vec::new();
                let mut sequences = Vec::with_capacity(s);
                let mut token_rows = Vec::new();
                for seq in 0..s {
                    let row = &mask[seq * l..(seq + 1) * l];
                    let real = real_run(row).ok_or_else(|| {
                        FormatError::new(
                            file,
                            Some("attention_mask"),
                            format!("row {seq} is not one contiguous run of ones (only left or right padding is understood)"),
                        )
                    })?;
                    let start = tokens.len();
                    for p in real {
                        tokens.push(all[seq * l + p]);
                        token_rows.push(seq * l + p);
                    }
                    sequences.push(start..tokens.len());
                }
                (layers, d, s * l, tokens, sequences, token_rows)
            }
            n => {
                return Err(hs_err(format!(
                    "has {n} dimensions {hs_shape:?}, expected [layers, T, d] or [layers, S, L, d]"
                )))
            }
        };
        if layers == 0 || d == 0 {
            return Err(hs_err(format!("is empty (shape {hs_shape:?})")));
        }
        let dtype = member(file, &mut archive, HIDDEN)?.element.name();
        Ok(Self {
            file: file.to_owned(),
            archive,
            layout: DumpLayout {
                layers,
                d,
                rows_per_layer,
                tokens,
                sequences,
                token_rows,
                dtype,
            },
        })
    }

    /// Streams the hidden states in file order. For each wanted layer, `f(layer, first_row, rows)`
    /// receives consecutive chunks of at most `chunk_rows` rows (`rows` is `n × d`, row-major, f64).
    /// Unwanted layers are skipped without decoding.
    pub fn stream_layers<E: From<FormatError>>(
        &mut self,
        wanted: &[bool],
        chunk_rows: usize,
        mut f: impl FnMut(usize, usize, &[f64]) -> Result<(), E>,
    ) -> Result<(), E> {
        let DumpLayout {
            layers,
            d,
            rows_per_layer,
            ..
        } = self.layout;
        let mut stream = member(&self.file, &mut self.archive, HIDDEN)?;
        let chunk_rows = chunk_rows.max(1);
        let mut buf = vec![0.0; chunk_rows.min(rows_per_layer.max(1)) * d];
        let mut scratch = Vec::new();
        for layer in 0..layers {
            if !wanted.get(layer).copied().unwrap_or(false) {
                stream.skip(rows_per_layer * d)?;
                continue;
            }
            let mut row = 0;
            while row < rows_per_layer {
                let n = chunk_rows.min(rows_per_layer - row);
                stream.read_f64(&mut buf[..n * d], &mut scratch)?;
                f(layer, row, &buf[..n * d])?;
                row += n;
            }
        }
        Ok(())
    }
}

fn member<'a, R: Read + Seek>(
    file: &str,
    archive: &'a mut ZipArchive<R>,
    tensor: &str,
) -> Result<NpyStream<zip::read::ZipFile<'a, R>>, FormatError> {
    let entry = archive
        .by_name(&format!("{tensor}.npy"))
        .map_err(|e| FormatError::new(file, Some(tensor), format!("cannot be opened ({e})")))?;
    let size = entry.size();
    npy::open(file, tensor, entry, size)
}

type IntArray = (Vec<usize>, Vec<i64>);

fn read_ints<R: Read + Seek>(
    file: &str,
    archive: &mut ZipArchive<R>,
    tensor: &str,
    required: bool,
) -> Result<Option<IntArray>, FormatError> {
    if archive.index_for_name(&format!("{tensor}.npy")).is_none() {
        if required {
            return Err(FormatError::new(file, Some(tensor), "is missing"));
        }
        return Ok(None);
    }
    let stream = member(file, archive, tensor)?;
    let shape = stream.shape.clone();
    Ok(Some((shape, stream.read_all_i64()?)))
}

fn to_tokens(file: &str, ids: &[i64]) -> Result<Vec<u32>, FormatError> {
    ids.iter()
        .enumerate()
        .map(|(i, &t)| {
            u32::try_from(t).map_err(|_| {
                FormatError::new(
                    file,
                    Some("input_ids"),
                    format!("entry {i} is {t}, not a token id (0 to 4294967295)"),
                )
            })
        })
        .collect()
}

fn flat_sequences(
    file: &str,
    lens: &[i64],
    total: usize,
) -> Result<Vec<Range<usize>>, FormatError> {
    let mut start = 0usize;
    let mut out = Vec::with_capacity(lens.len());
    for (i, &l) in lens.iter().enumerate() {
        let l = usize::try_from(l).map_err(|_| {
            FormatError::new(
                file,
                Some("seq_lens"),
                format!("entry {i} is negative ({l})"),
            )
        })?;
        let end = start
            .checked_add(l)
            .filter(|&e| e <= total)
            .ok_or_else(|| {
                FormatError::new(
                    file,
                    Some("seq_lens"),
                    format!("lengths run past the {total} tokens of hidden_states (at entry {i})"),
                )
            })?;
        out.push(start..end);
        start = end;
    }
    if start != total {
        return Err(FormatError::new(
            file,
            Some("seq_lens"),
            format!("lengths sum to {start}, but hidden_states has {total} tokens"),
        ));
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
    fn mask_runs() {
        assert_eq!(real_run(&[1, 1, 0, 0]), Some(0..2));
        assert_eq!(real_run(&[0, 0, 1, 1]), Some(2..4));
        assert_eq!(real_run(&[0, 0]), Some(0..0));
        assert_eq!(real_run(&[1, 0, 1]), None);
    }

    #[test]
    fn sequence_lengths_must_cover_the_tokens() {
        assert_eq!(flat_sequences("f", &[2, 3], 5).unwrap(), vec![0..2, 2..5]);
        let e = flat_sequences("f.npz", &[2, 2], 5).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.npz: tensor 'seq_lens': lengths sum to 4, but hidden_states has 5 tokens"
        );
        assert!(flat_sequences("f", &[-1], 5).is_err());
        assert!(flat_sequences("f", &[9], 5).is_err());
    }
}
