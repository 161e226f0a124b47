//! One `.npy` stream, read defensively: the header is size-checked before it is parsed (npyz parses
//! the dict and dtype), the shape is checked against the bytes actually present, and data is decoded
//! in bounded chunks straight from the stream, so a lying header cannot cause a huge allocation.

use std::io::{self, Cursor, Read};

use npyz::{DType, Endianness, NpyHeader, Order, TypeChar};

use super::FormatError;

/// numpy refuses headers above 10 000 bytes by default; allow more, but never an allocation sized by
/// an untrusted length field.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Element types the readers decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    Float {
        bytes: usize,
        big_endian: bool,
    },
    Int {
        bytes: usize,
        signed: bool,
        big_endian: bool,
    },
    Bool,
}

impl Element {
    pub fn size(self) -> usize {
        match self {
            Element::Float { bytes, .. } | Element::Int { bytes, .. } => bytes,
            Element::Bool => 1,
        }
    }
    /// numpy's name for the type, for messages and reports.
    pub fn name(self) -> String {
        match self {
            Element::Float { bytes, .. } => format!("float{}", bytes * 8),
            Element::Int { bytes, signed, .. } => {
                format!("{}int{}", if signed { "" } else { "u" }, bytes * 8)
            }
            Element::Bool => "bool".into(),
        }
    }
}

/// A parsed header with the stream positioned at the first data byte.
pub struct NpyStream<R> {
    pub shape: Vec<usize>,
    pub element: Element,
    pub len: usize,
    reader: R,
    file: String,
    tensor: String,
}

/// Reads and checks the header of a `.npy` stream. `available` is the number of bytes the stream
/// holds in all (the member's size), used to refuse shapes larger than the data.
pub fn open<R: Read>(
    file: &str,
    tensor: &str,
    mut reader: R,
    available: u64,
) -> Result<NpyStream<R>, FormatError> {
    let err = |m: String| FormatError::new(file, Some(tensor), m);
    let mut preamble = [0u8; 8];
    read_exact(&mut reader, &mut preamble)
        .map_err(|_| err("not a .npy array (too short for the header)".into()))?;
    if &preamble[..6] != b"\x93NUMPY" {
        return Err(err("not a .npy array (bad magic bytes)".into()));
    }
    let (len_bytes, header_len) = match preamble[6] {
        1 => {
            let mut b = [0u8; 2];
            read_exact(&mut reader, &mut b).map_err(|_| err("truncated .npy header".into()))?;
            (b.to_vec(), u16::from_le_bytes(b) as usize)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            read_exact(&mut reader, &mut b).map_err(|_| err("truncated .npy header".into()))?;
            (b.to_vec(), u32::from_le_bytes(b) as usize)
        }
        v => return Err(err(format!("unsupported .npy format version {v}"))),
    };
    let prefix = 8 + len_bytes.len();
    if header_len > MAX_HEADER_BYTES || (prefix + header_len) as u64 > available {
        return Err(err(format!(
            "header claims {header_len} bytes, more than the file holds"
        )));
    }
    let mut head = Vec::with_capacity(prefix + header_len);
    head.extend_from_slice(&preamble);
    head.extend_from_slice(&len_bytes);
    head.resize(prefix + header_len, 0);
    read_exact(&mut reader, &mut head[prefix..])
        .map_err(|_| err("truncated .npy header".into()))?;
    let text = String::from_utf8_lossy(&head[prefix..]).into_owned();
    let shape = parse_shape(&text).map_err(err)?;
    let len = shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| err(format!("shape {shape:?} overflows")))?;

    let header = NpyHeader::from_reader(Cursor::new(&head))
        .map_err(|e| err(format!("unreadable .npy header ({e})")))?;
    if header.order() == Order::Fortran && shape.len() > 1 {
        return Err(err(
            "is stored in Fortran order; save it with np.ascontiguousarray".into(),
        ));
    }
    let element = match header.dtype() {
        DType::Plain(ts) => {
            let big_endian = ts.endianness() == Endianness::Big;
            let bytes = ts.size_field() as usize;
            match (ts.type_char(), bytes) {
                (TypeChar::Float, 2 | 4 | 8) => Element::Float { bytes, big_endian },
                (TypeChar::Int, 1 | 2 | 4 | 8) => Element::Int {
                    bytes,
                    signed: true,
                    big_endian,
                },
                (TypeChar::Uint, 1 | 2 | 4 | 8) => Element::Int {
                    bytes,
                    signed: false,
                    big_endian,
                },
                (TypeChar::Bool, 1) => Element::Bool,
                (TypeChar::Object, _) => {
                    return Err(err(format!(
                        "holds Python objects (dtype '{ts}'), which only unpickling could read; pickles are never executed"
                    )))
                }
                _ => return Err(err(format!("unsupported dtype '{ts}'"))),
            }
        }
        other => {
            return Err(err(format!(
                "unsupported dtype {} (object arrays and records are not read; pickles are never executed)",
                other.descr()
            )))
        }
    };
    let data_bytes = (len as u64).saturating_mul(element.size() as u64);
    if data_bytes > available - (prefix + header_len) as u64 {
        return Err(err(format!(
            "shape {shape:?} needs {data_bytes} bytes of data but the file holds {}",
            available - (prefix + header_len) as u64
        )));
    }
    Ok(NpyStream {
        shape,
        element,
        len,
        reader,
        file: file.to_owned(),
        tensor: tensor.to_owned(),
    })
}

/// Extracts the `'shape': (...)` tuple from the header dict text, without trusting it.
fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let start = text
        .find("'shape'")
        .ok_or_else(|| "header has no 'shape'".to_string())?;
    let rest = &text[start + 7..];
    let open = rest
        .find('(')
        .ok_or_else(|| "header 'shape' is not a tuple".to_string())?;
    let close = rest[open..]
        .find(')')
        .ok_or_else(|| "header 'shape' is not a tuple".to_string())?;
    rest[open + 1..open + close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("header 'shape' has a bad dimension '{s}'"))
        })
        .collect()
}

fn read_exact<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<()> {
    r.read_exact(buf)
}

impl<R: Read> NpyStream<R> {
    fn error(&self, m: impl Into<String>) -> FormatError {
        FormatError::new(&self.file, Some(&self.tensor), m)
    }

    /// Reads the next `out.len()` elements as f64. Only float arrays are accepted.
    pub fn read_f64(&mut self, out: &mut [f64], scratch: &mut Vec<u8>) -> Result<(), FormatError> {
        let Element::Float { bytes, big_endian } = self.element else {
            return Err(self.error(format!(
                "holds {}, expected floating-point values",
                self.element.name()
            )));
        };
        scratch.resize(out.len() * bytes, 0);
        self.reader
            .read_exact(scratch)
            .map_err(|e| self.error(format!("data is truncated or unreadable ({e})")))?;
        for (o, c) in out.iter_mut().zip(scratch.chunks_exact(bytes)) {
            *o = decode_float(c, big_endian);
        }
        Ok(())
    }

    /// Skips `n` elements.
    pub fn skip(&mut self, n: usize) -> Result<(), FormatError> {
        let want = (n * self.element.size()) as u64;
        let got = io::copy(&mut (&mut self.reader).take(want), &mut io::sink())
            .map_err(|e| self.error(format!("data is unreadable ({e})")))?;
        if got != want {
            return Err(self.error("data is truncated"));
        }
        Ok(())
    }

    /// Reads the whole array as integers (any integer or bool dtype).
    pub fn read_all_i64(mut self) -> Result<Vec<i64>, FormatError> {
        let size = self.element.size();
        let element = self.element;
        if matches!(element, Element::Float { .. }) {
            return Err(self.error(format!("holds {}, expected integers", element.name())));
        }
        // The length was checked against the bytes present, so this allocation is bounded by the file.
        let mut raw = vec![0u8; self.len * size];
        self.reader
            .read_exact(&mut raw)
            .map_err(|e| self.error(format!("data is truncated or unreadable ({e})")))?;
        raw.chunks_exact(size)
            .map(|c| {
                decode_int(c, element)
                    .ok_or_else(|| self.error("holds an integer beyond the int64 range"))
            })
            .collect()
    }
}

fn decode_float(c: &[u8], big_endian: bool) -> f64 {
    macro_rules! from {
        ($t:ty, $n:expr) => {{
            let mut b = [0u8; $n];
            b.copy_from_slice(c);
            if big_endian {
                <$t>::from_be_bytes(b)
            } else {
                <$t>::from_le_bytes(b)
            }
        }};
    }
    match c.len() {
        2 => half::f16::from_bits(from!(u16, 2)).to_f64(),
        4 => f64::from(from!(f32, 4)),
        _ => from!(f64, 8),
    }
}

fn decode_int(c: &[u8], element: Element) -> Option<i64> {
    let Element::Int {
        signed, big_endian, ..
    } = element
    else {
        return Some(i64::from(c[0] != 0));
    };
    let mut b = [0u8; 8];
    let n = c.len();
    if big_endian {
        b[8 - n..].copy_from_slice(c);
        b.reverse();
    } else {
        b[..n].copy_from_slice(c);
    }
    let raw = u64::from_le_bytes(b);
    if signed {
        let shift = 64 - 8 * n as u32;
        Some(((raw << shift) as i64) >> shift)
    } else {
        i64::try_from(raw).ok()
    }
}
