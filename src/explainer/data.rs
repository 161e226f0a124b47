//! A labelled data set for the explainer's real-data view (`www/explainer/digits.npz`): one
//! float tensor of rows, `hidden_states` shaped `(n, d)` or `(1, n, d)` as infoplane's dumps have
//! it, and one integer tensor `labels` of n class labels. Read through the analyser's own file
//! readers, so a bad file gets the same one-line messages as on the main page.

use crate::formats::tensor::{StreamError, TensorFile};
use crate::formats::FormatError;

/// The most rows and the widest rows the explainer takes: it keeps every row in memory as f64
/// and draws each one, and the projection's eigensolver is cubic in d.
pub const MAX_ROWS: usize = 50_000;
pub const MAX_DIM: usize = 256;

/// Rows and their class labels.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledRows {
    /// `n × d` values, row-major.
    pub rows: Vec<f64>,
    pub d: usize,
    pub labels: Vec<u32>,
}

impl LabelledRows {
    /// Reads `hidden_states` and `labels` from `file`. Refuses other shapes, sizes beyond
    /// [`MAX_ROWS`] × [`MAX_DIM`], non-finite values, and labels that are negative or above
    /// u32::MAX, each with a message naming the file and the tensor.
    pub fn read(file: &mut dyn TensorFile) -> Result<Self, FormatError> {
        let name = file.file_name().to_owned();
        let fail = |tensor: &str, message: String| FormatError::new(&name, Some(tensor), message);
        let Some(info) = file.tensor("hidden_states").cloned() else {
            return Err(FormatError::new(
                &name,
                None,
                "has no hidden_states tensor (the explainer reads hidden_states and labels)",
            ));
        };
        let (n, d) = match info.shape[..] {
            [n, d] | [1, n, d] => (n, d),
            _ => {
                return Err(fail(
                    "hidden_states",
                    format!(
                        "has shape {:?}; the explainer reads (n, d) or (1, n, d)",
                        info.shape
                    ),
                ))
            }
        };
        if !info.dtype.is_float() {
            return Err(fail(
                "hidden_states",
                format!("holds {}, not floats", info.dtype.name()),
            ));
        }
        if n == 0 || d == 0 || n > MAX_ROWS || d > MAX_DIM {
            return Err(fail(
                "hidden_states",
                format!(
                    "has {n} rows of {d} values; the explainer takes 1 to {MAX_ROWS} rows of 1 to {MAX_DIM}"
                ),
            ));
        }
        if file.tensor("labels").is_none() {
            return Err(FormatError::new(&name, None, "has no labels tensor"));
        }
        let raw = file.read_i64("labels")?;
        if raw.len() != n {
            return Err(fail(
                "labels",
                format!("holds {} labels for {n} rows", raw.len()),
            ));
        }
        let labels = raw
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                u32::try_from(l)
                    .map_err(|_| fail("labels", format!("label {i} is {l}, not 0 to {}", u32::MAX)))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let mut rows = Vec::with_capacity(n * d);
        file.read_f64(
            "hidden_states",
            0..n * d,
            1 << 16,
            &mut |chunk: &[f64]| {
                rows.extend_from_slice(chunk);
                Ok(())
            },
        )
        .map_err(|e| match e {
            StreamError::Format(e) => e,
            StreamError::Sink(e) => fail("hidden_states", e.to_string()),
        })?;
        if let Some(i) = rows.iter().position(|v| !v.is_finite()) {
            return Err(fail(
                "hidden_states",
                format!("row {} holds a value that is not finite", i / d),
            ));
        }
        Ok(Self { rows, d, labels })
    }

    /// The rows whose label is one of the `classes` smallest distinct labels, in their order
    /// (the reference notebook's "classes added" view: digits below c).
    pub fn first_classes(&self, classes: usize) -> Self {
        let mut distinct: Vec<u32> = self.labels.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let Some(&last) = distinct.get(classes.max(1) - 1) else {
            return self.clone();
        };
        let keep: Vec<usize> = (0..self.labels.len())
            .filter(|&i| self.labels[i] <= last)
            .collect();
        Self {
            rows: keep
                .iter()
                .flat_map(|&i| self.rows[i * self.d..(i + 1) * self.d].iter().copied())
                .collect(),
            d: self.d,
            labels: keep.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::npz::NpzFile;
    use crate::formats::npz_write::NpzWriter;
    use std::io::Cursor;

    fn npz(rows: &[f32], shape: &[usize], labels: &[i64]) -> Result<LabelledRows, String> {
        let mut w = NpzWriter::new(Cursor::new(Vec::new()));
        w.add("hidden_states", shape, rows).unwrap();
        w.add("labels", &[labels.len()], labels).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let mut file = NpzFile::open("set.npz", Cursor::new(bytes)).map_err(|e| e.to_string())?;
        LabelledRows::read(&mut file).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_both_shapes_and_picks_the_first_classes() {
        let rows = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let a = npz(&rows, &[3, 2], &[2, 0, 1]).unwrap();
        let b = npz(&rows, &[1, 3, 2], &[2, 0, 1]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.d, 2);
        assert_eq!(a.rows, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let two = a.first_classes(2);
        assert_eq!(two.labels, vec![0, 1]);
        assert_eq!(two.rows, vec![3.0, 4.0, 5.0, 6.0]);
        assert_eq!(a.first_classes(9), a);
    }

    #[test]
    fn bad_sets_are_refused_by_name() {
        let rows = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        for (rows, shape, labels, expect) in [
            (
                &rows[..],
                &[2usize, 1, 3][..],
                &[0i64, 1][..],
                "'hidden_states': has shape [2, 1, 3]",
            ),
            (
                &rows[..],
                &[3, 2],
                &[0, 1],
                "'labels': holds 2 labels for 3 rows",
            ),
            (&rows[..], &[3, 2], &[0, -1, 1], "'labels': label 1 is -1"),
            (
                &[1.0, f32::NAN, 3.0, 4.0][..],
                &[2, 2],
                &[0, 1],
                "'hidden_states': row 0 holds a value that is not finite",
            ),
        ] {
            let e = npz(rows, shape, labels).unwrap_err();
            assert!(e.contains("set.npz") && e.contains(expect), "{e}");
        }
    }
}
