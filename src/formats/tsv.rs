//! TensorFlow Embedding Projector files: `vectors.tsv` (one point per line, tab-separated numbers,
//! no header) and `metadata.tsv` (one label column without a header, or several columns under a
//! header row). Blank lines are skipped in both, as the Projector skips them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::ops::Range;

use super::raw::some_names;
use super::tensor::{DType, FloatSink, Floats, StreamError, TensorFile, TensorInfo};
use super::FormatError;

/// The one tensor a `vectors.tsv` holds.
pub const VECTORS: &str = "vectors";

/// The name of the column of a one-column `metadata.tsv` (the Projector's name for it).
pub const LABEL: &str = "label";

/// Longest line accepted (a row of some 700 000 values), so one endless line cannot exhaust
/// memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Largest `metadata.tsv` accepted: its labels are kept in memory, unlike the vectors, which are
/// re-read from the file on demand.
pub const MAX_METADATA_BYTES: u64 = 256 << 20;

/// Longest cell text quoted in an error message.
const SHOWN_CHARS: usize = 40;

/// Where a row starts: byte offset and 1-based line number, for seeking and for messages.
#[derive(Clone, Copy)]
struct RowStart {
    offset: u64,
    line: u64,
}

/// A `vectors.tsv`: one tensor [`VECTORS`], float64 (each cell parsed by Rust's `f64` parser),
/// shape `[N, d]`.
///
/// Opening reads the file once to validate every cell and count the rows, keeping only where each
/// row starts (16 bytes per row); [`TensorFile::read_f64`] seeks there and parses again, so memory
/// does not grow with N × d. The type parameter defaults to in-memory bytes.
pub struct TsvVectors<R: Read + Seek = Cursor<Vec<u8>>> {
    file: String,
    reader: R,
    tensors: Vec<TensorInfo>,
    rows: Vec<RowStart>,
}

impl<R: Read + Seek> TsvVectors<R> {
    /// Validates the whole file: every non-blank line must hold the same number of numbers.
    pub fn open(file: &str, mut reader: R) -> Result<Self, FormatError> {
        let err = |m: String| FormatError::new(file, None, m);
        reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| err(format!("cannot be read ({e})")))?;
        let mut lines = Lines::new(file, BufReader::new(&mut reader), 0, 0);
        let mut rows = Vec::new();
        let mut width: Option<(usize, u64)> = None;
        while let Some((line_no, offset)) = lines.next_line()? {
            let Some(text) = non_blank(&lines.buf) else {
                continue;
            };
            let mut count = 0;
            for cell in text.split(|&b| b == b'\t') {
                count += 1;
                parse_cell(file, line_no, count, cell)?;
            }
            match width {
                None => width = Some((count, line_no)),
                Some((d, first)) if d != count => {
                    return Err(err(format!(
                        "line {line_no} has {count} values, line {first} has {d}"
                    )))
                }
                Some(_) => {}
            }
            rows.push(RowStart {
                offset,
                line: line_no,
            });
        }
        let Some((d, _)) = width else {
            return Err(err(if lines.line == 0 {
                "holds no vectors (the file is empty)".into()
            } else {
                "holds no vectors (only blank lines)".into()
            }));
        };
        if rows.len().checked_mul(d).is_none() {
            return Err(err(format!(
                "{} rows of {d} values are too many to address",
                rows.len()
            )));
        }
        Ok(Self {
            file: file.to_owned(),
            reader,
            tensors: vec![TensorInfo {
                name: VECTORS.into(),
                dtype: DType::F64,
                shape: vec![rows.len(), d],
            }],
            rows,
        })
    }

    /// Number of points N.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Values per point d.
    pub fn dim(&self) -> usize {
        self.tensors[0].shape[1]
    }
}

impl<R: Read + Seek> std::fmt::Debug for TsvVectors<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("TsvVectors")
            .field("file", &self.file)
            .field("tensors", &self.tensors)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> TensorFile for TsvVectors<R> {
    fn file_name(&self) -> &str {
        &self.file
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    fn read_floats(
        &mut self,
        tensor: &str,
        range: Range<usize>,
        chunk: usize,
        sink: &mut FloatSink<'_>,
    ) -> Result<(), StreamError> {
        let err = |m: String| FormatError::new(&self.file, Some(tensor), m);
        if tensor != VECTORS {
            return Err(err(format!(
                "no such tensor (a vectors.tsv holds only '{VECTORS}')"
            ))
            .into());
        }
        let (n, d) = (self.rows.len(), self.dim());
        if range.start > range.end || range.end > n * d {
            return Err(err(format!(
                "elements {}..{} were asked for, but it holds {}",
                range.start,
                range.end,
                n * d
            ))
            .into());
        }
        if range.is_empty() {
            return Ok(());
        }
        let first = range.start / d;
        let start = self.rows[first];
        self.reader
            .seek(SeekFrom::Start(start.offset))
            .map_err(|e| err(format!("cannot seek to line {} ({e})", start.line)))?;
        let mut lines = Lines::new(
            &self.file,
            BufReader::new(&mut self.reader),
            start.line - 1,
            start.offset,
        );
        let per = chunk.max(1).min(range.len());
        let mut out = Vec::new();
        out.try_reserve_exact(per)
            .map_err(|_| err(format!("chunks of {per} elements do not fit in memory")))?;
        let mut at = first * d;
        'rows: for row in &self.rows[first..] {
            // Blank lines between rows were seen at open; skip them again.
            let text = loop {
                let Some((line_no, _)) = lines.next_line()? else {
                    return Err(err(format!(
                        "the file changed since it was opened: line {} is gone",
                        row.line
                    ))
                    .into());
                };
                if let Some(t) = non_blank(&lines.buf) {
                    if line_no != row.line {
                        return Err(err(format!(
                            "the file changed since it was opened (line {line_no})"
                        ))
                        .into());
                    }
                    break t;
                }
            };
            let mut cells = 0;
            for cell in text.split(|&b| b == b'\t') {
                cells += 1;
                if cells > d {
                    break;
                }
                if at >= range.start {
                    out.push(parse_cell(&self.file, row.line, cells, cell)?);
                    if out.len() == per || at + 1 == range.end {
                        sink(Floats::F64(&out)).map_err(StreamError::Sink)?;
                        out.clear();
                    }
                }
                at += 1;
                if at == range.end {
                    break 'rows;
                }
            }
            if cells != d {
                return Err(err(format!(
                    "the file changed since it was opened (line {} now has {cells} values)",
                    row.line
                ))
                .into());
            }
        }
        Ok(())
    }

    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        Err(FormatError::new(
            &self.file,
            Some(tensor),
            "holds floating-point vectors, expected integers",
        ))
    }
}

/// A `metadata.tsv`: one column per tensor, each `rows()` long, its text read by
/// [`TensorFile::read_strings`].
///
/// As in the Projector, a header row exists exactly when the first non-blank line has a tab: then
/// it names the columns and every later row must have as many cells. Otherwise the file is one
/// column named [`LABEL`] and its first line is a label. Blank lines are skipped, so an empty label
/// in a one-column file drops a row (the Projector does the same); the row count then no longer
/// matches the vectors, which the layout reports. Empty cells in a multi-column file are kept as
/// empty labels.
///
/// Columns are listed as I64 tensors: [`TensorFile::read_i64`] maps each distinct text of the
/// column to a dense id, 0, 1, 2... in order of first appearance, for use as class labels. The
/// whole file (at most [`MAX_METADATA_BYTES`]) is held in memory, as its text plus 4 bytes a cell.
#[derive(Debug)]
pub struct TsvMetadata {
    file: String,
    has_header: bool,
    tensors: Vec<TensorInfo>,
    /// Every cell's text, row after row, one after another.
    text: String,
    /// Where each cell ends in `text`, row-major (`tensors.len()` cells a row); u32 suffices as
    /// the file is at most [`MAX_METADATA_BYTES`].
    ends: Vec<u32>,
    rows: usize,
}

impl TsvMetadata {
    /// Reads and checks the whole file.
    pub fn open<R: Read>(file: &str, reader: R) -> Result<Self, FormatError> {
        let err = |m: String| FormatError::new(file, None, m);
        let mut lines = Lines::new(
            file,
            BufReader::new(reader.take(MAX_METADATA_BYTES + 1)),
            0,
            0,
        );
        let mut names: Option<(Vec<String>, u64)> = None;
        let mut has_header = false;
        let mut all = String::new();
        let mut ends = Vec::new();
        let mut push = |cell: &str| {
            all.push_str(cell);
            // all.len() <= MAX_METADATA_BYTES + MAX_LINE_BYTES < u32::MAX.
            ends.push(all.len() as u32);
        };
        while let Some((line_no, _)) = lines.next_line()? {
            if lines.offset > MAX_METADATA_BYTES {
                return Err(err(format!(
                    "is larger than {} MiB; metadata files are held in memory",
                    MAX_METADATA_BYTES >> 20
                )));
            }
            if non_blank(&lines.buf).is_none() {
                continue;
            }
            let text = std::str::from_utf8(&lines.buf)
                .map_err(|_| err(format!("line {line_no} is not UTF-8 text")))?;
            let cells: Vec<&str> = text.split('\t').collect();
            let Some((header, header_line)) = &names else {
                has_header = cells.len() > 1;
                if has_header {
                    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(cells.len());
                    for (i, c) in cells.iter().enumerate() {
                        if let Some(j) = seen.insert(c, i) {
                            return Err(err(format!(
                                "line {line_no}: the header names column '{}' twice (columns {} and {})",
                                shown(c.as_bytes()),
                                j + 1,
                                i + 1
                            )));
                        }
                    }
                    names = Some((cells.iter().map(|c| c.to_string()).collect(), line_no));
                } else {
                    names = Some((vec![LABEL.to_string()], line_no));
                    push(text);
                }
                continue;
            };
            if cells.len() != header.len() {
                return Err(err(if has_header {
                    format!(
                        "line {line_no} has {} columns, the header (line {header_line}) has {}",
                        cells.len(),
                        header.len()
                    )
                } else {
                    format!(
                        "line {line_no} has {} columns, but line {header_line} has one (so there is no header row)",
                        cells.len()
                    )
                }));
            }
            cells.into_iter().for_each(&mut push);
        }
        let Some((names, header_line)) = names else {
            return Err(err(if lines.line == 0 {
                "holds no labels (the file is empty)".into()
            } else {
                "holds no labels (only blank lines)".into()
            }));
        };
        let rows = ends.len() / names.len();
        if rows == 0 {
            return Err(err(format!(
                "has a header row (line {header_line}) but no labels under it"
            )));
        }
        Ok(Self {
            file: file.to_owned(),
            has_header,
            tensors: names
                .into_iter()
                .map(|name| TensorInfo {
                    name,
                    dtype: DType::I64,
                    shape: vec![rows],
                })
                .collect(),
            text: all,
            ends,
            rows,
        })
    }

    /// Number of labelled points; must equal the vectors' N.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the first line was a header naming the columns.
    pub fn has_header(&self) -> bool {
        self.has_header
    }

    /// The cells of column `name`, top to bottom.
    fn column(&self, name: &str) -> Result<impl Iterator<Item = &str>, FormatError> {
        let (c, cols) = (self.index(name)?, self.tensors.len());
        Ok((0..self.rows).map(move |r| {
            let i = r * cols + c;
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            &self.text[start..self.ends[i] as usize]
        }))
    }

    fn index(&self, name: &str) -> Result<usize, FormatError> {
        match self.tensors.iter().position(|t| t.name == name) {
            Some(c) => Ok(c),
            None => {
                let names = some_names(self.tensors.iter().map(|t| t.name.as_str()));
                Err(FormatError::new(
                    &self.file,
                    Some(name),
                    format!("no such column (columns: {names})"),
                ))
            }
        }
    }
}

impl TensorFile for TsvMetadata {
    fn file_name(&self) -> &str {
        &self.file
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    fn read_floats(
        &mut self,
        tensor: &str,
        _range: Range<usize>,
        _chunk: usize,
        _sink: &mut FloatSink<'_>,
    ) -> Result<(), StreamError> {
        self.index(tensor)?;
        Err(FormatError::new(&self.file, Some(tensor), "holds text labels, not vectors").into())
    }

    /// Dense ids of the column's texts, numbered in order of first appearance.
    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        let mut ids: HashMap<&str, i64> = HashMap::new();
        Ok(self
            .column(tensor)?
            .map(|s| {
                let next = ids.len() as i64;
                *ids.entry(s).or_insert(next)
            })
            .collect())
    }

    fn read_strings(&mut self, tensor: &str) -> Result<Vec<String>, FormatError> {
        Ok(self.column(tensor)?.map(str::to_owned).collect())
    }
}

/// Reads lines one by one, each capped at [`MAX_LINE_BYTES`], tracking line numbers and offsets.
struct Lines<'f, B> {
    file: &'f str,
    reader: B,
    /// The current line without its `\n` / `\r\n` (and without a UTF-8 byte-order mark on line 1).
    buf: Vec<u8>,
    /// 1-based number of the current line (0 before the first).
    line: u64,
    /// Byte offset of the next line in the file.
    offset: u64,
}

impl<'f, B: BufRead> Lines<'f, B> {
    /// `line` is the number of lines before the reader's position, `offset` that position.
    fn new(file: &'f str, reader: B, line: u64, offset: u64) -> Self {
        Self {
            file,
            reader,
            buf: Vec::new(),
            line,
            offset,
        }
    }

    /// Advances to the next line; returns its number and its byte offset in the file, or `None`
    /// at the end of the file.
    fn next_line(&mut self) -> Result<Option<(u64, u64)>, FormatError> {
        self.buf.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 2)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| FormatError::new(self.file, None, format!("cannot be read ({e})")))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let start = self.offset;
        self.offset += read as u64;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(FormatError::new(
                self.file,
                None,
                format!(
                    "line {} is longer than {} MiB",
                    self.line,
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        if start == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.buf.drain(..3);
        }
        Ok(Some((self.line, start)))
    }
}

/// The line without surrounding whitespace, or `None` if nothing is left.
fn non_blank(line: &[u8]) -> Option<&[u8]> {
    let t = line.trim_ascii();
    (!t.is_empty()).then_some(t)
}

fn parse_cell(file: &str, line: u64, column: usize, cell: &[u8]) -> Result<f64, FormatError> {
    std::str::from_utf8(cell.trim_ascii())
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| {
            FormatError::new(
                file,
                None,
                format!(
                    "line {line}, column {column}: '{}' is not a number",
                    shown(cell)
                ),
            )
        })
}

/// A cell's text for a message, shortened.
fn shown(cell: &[u8]) -> String {
    let text = String::from_utf8_lossy(cell);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SHOWN_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(text: &str) -> Result<TsvVectors, FormatError> {
        TsvVectors::open("vectors.tsv", Cursor::new(text.as_bytes().to_vec()))
    }

    fn metadata(text: &str) -> Result<TsvMetadata, FormatError> {
        TsvMetadata::open("metadata.tsv", text.as_bytes())
    }

    fn read(v: &mut TsvVectors, range: Range<usize>, chunk: usize) -> Vec<Vec<f64>> {
        let mut got = Vec::new();
        v.read_f64(VECTORS, range, chunk, &mut |c: &[f64]| {
            got.push(c.to_vec());
            Ok(())
        })
        .unwrap();
        got
    }

    #[test]
    fn vectors_stream_any_range() {
        let text = "\u{feff}1\t2\t3\r\n\n  \n4\t-5e-1\t inf\n7\t8\t9";
        let mut v = vectors(text).unwrap();
        assert_eq!(v.tensors()[0].shape, vec![3, 3]);
        assert_eq!(v.tensors()[0].dtype, DType::F64);
        let all: Vec<f64> = read(&mut v, 0..9, 100).concat();
        assert_eq!(
            all,
            [1.0, 2.0, 3.0, 4.0, -0.5, f64::INFINITY, 7.0, 8.0, 9.0]
        );
        assert_eq!(
            read(&mut v, 2..8, 4),
            vec![vec![3.0, 4.0, -0.5, f64::INFINITY], vec![7.0, 8.0]]
        );
        assert_eq!(read(&mut v, 4..5, 0), vec![vec![-0.5]]);
        assert!(read(&mut v, 9..9, 1).is_empty());
        assert!(v
            .read_f64(VECTORS, 8..10, 1, &mut |_: &[f64]| Ok(()))
            .is_err());
        assert!(v.read_i64(VECTORS).is_err());
    }

    #[test]
    fn bad_vectors_name_the_line() {
        let msg = |t: &str| vectors(t).err().unwrap().to_string();
        assert_eq!(
            msg("1\t2\n\n1\t2\t3\n"),
            "vectors.tsv: line 3 has 3 values, line 1 has 2"
        );
        assert_eq!(
            msg("1\t2\n3\tabc\n"),
            "vectors.tsv: line 2, column 2: 'abc' is not a number"
        );
        assert!(msg("1\t\t2\n").contains("column 2: '' is not a number"));
        assert!(msg("").contains("empty"));
        assert!(msg("\n \n").contains("only blank lines"));
        assert!(msg("1\t\u{fffd}\n").contains("column 2"));
        let long = format!("1\t{}\n", "9".repeat(100));
        assert!(vectors(&long).is_ok());
        assert!(msg(&format!("{}x\n", "9".repeat(100))).contains("..."));
    }

    #[test]
    fn a_file_changed_after_opening_is_an_error() {
        let mut v = vectors("1\t2\n3\t4\n").unwrap();
        v.reader = Cursor::new(b"1\t2\n3\n".to_vec());
        let e = v.read_f64(VECTORS, 0..4, 4, &mut |_: &[f64]| Ok(()));
        assert!(e.unwrap_err().to_string().contains("changed"));
        v.reader = Cursor::new(b"1\t2\n".to_vec());
        let e = v.read_f64(VECTORS, 0..4, 4, &mut |_: &[f64]| Ok(()));
        assert!(e.unwrap_err().to_string().contains("changed"));
    }

    #[test]
    fn metadata_header_rule() {
        let mut one = metadata("cat\ndog\n\ncat\r\nlabel\n").unwrap();
        assert!(!one.has_header());
        assert_eq!(one.rows(), 4);
        assert_eq!(one.tensors()[0].name, LABEL);
        assert_eq!(
            one.read_strings(LABEL).unwrap(),
            ["cat", "dog", "cat", "label"]
        );
        assert_eq!(one.read_i64(LABEL).unwrap(), [0, 1, 0, 2]);

        let mut two = metadata("word\tcolour\nthe\tred\na\t\nthe\tblue\n").unwrap();
        assert!(two.has_header());
        assert_eq!(two.rows(), 3);
        let names: Vec<&str> = two.tensors().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["word", "colour"]);
        assert_eq!(two.tensors()[1].shape, vec![3]);
        assert_eq!(two.read_strings("colour").unwrap(), ["red", "", "blue"]);
        assert_eq!(two.read_i64("word").unwrap(), [0, 1, 0]);
        assert!(two.read_strings("label").is_err());
        assert!(two
            .read_f64("word", 0..1, 1, &mut |_: &[f64]| Ok(()))
            .is_err());
    }

    #[test]
    fn bad_metadata_names_the_line() {
        let msg = |t: &str| metadata(t).err().unwrap().to_string();
        assert_eq!(
            msg("a\tb\n1\t2\n1\t2\t3\n"),
            "metadata.tsv: line 3 has 3 columns, the header (line 1) has 2"
        );
        assert!(msg("a\n1\t2\n").contains("line 2 has 2 columns"));
        assert!(msg("a\tb\n").contains("no labels under it"));
        assert!(msg("").contains("empty"));
        assert!(msg("a\ta\n1\t2\n").contains("'a' twice"));
        let bad = TsvMetadata::open("m.tsv", &b"x\n\xff\n"[..]).err().unwrap();
        assert_eq!(bad.to_string(), "m.tsv: line 2 is not UTF-8 text");
    }

    #[test]
    fn an_endless_line_is_refused_without_reading_it_all() {
        struct Endless;
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                buf.fill(b'1');
                Ok(buf.len())
            }
        }
        let e = TsvMetadata::open("m.tsv", Endless).err().unwrap();
        assert!(e.to_string().contains("longer than 16 MiB"), "{e}");
    }
}
