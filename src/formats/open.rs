//! Opening a file as a [`TensorFile`] by its first bytes and its name: `.npz`, `.npy`,
//! `.safetensors`, PyTorch `torch.save` zips, Embedding Projector TSV and raw float32. Used by every
//! shell, so the CLI and the page accept the same files.

use std::io::{Read, Seek, SeekFrom};

use zip::ZipArchive;

use super::npy::NpyFile;
use super::npz::NpzFile;
use super::raw::RawF32;
use super::safetensors::SafetensorsFile;
use super::tensor::TensorFile;
use super::torch::TorchFile;
use super::tsv::{TsvMetadata, TsvVectors};
use super::FormatError;

/// The formats infoplane reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Npz,
    Npy,
    Safetensors,
    Torch,
    TsvVectors,
    TsvMetadata,
    RawF32,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Npz => "npz",
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
            Format::Torch => "torch.save",
            Format::TsvVectors => "tsv vectors",
            Format::TsvMetadata => "tsv metadata",
            Format::RawF32 => "raw float32",
        }
    }
}

/// An opened file and what it is.
pub struct Opened {
    pub format: Format,
    pub file: Box<dyn TensorFile>,
    /// Every column of this file is a label set (TSV metadata).
    pub labels_only: bool,
}

/// The file's stem: `dir/layer_3.npy` → `layer_3`.
pub fn stem(name: &str) -> &str {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.').map_or(base, |(s, _)| s)
}

fn extension(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Opens `reader` (`len` bytes, called `name` in messages). The format comes from the first bytes
/// where they tell, else from the extension; `raw_shape` makes it raw little-endian float32 data of
/// that shape.
pub fn open<R: Read + Seek + 'static>(
    name: &str,
    mut reader: R,
    len: u64,
    raw_shape: Option<&[usize]>,
) -> Result<Opened, FormatError> {
    let io = |e: std::io::Error| FormatError::new(name, None, format!("cannot be read ({e})"));
    let opened = |format, file: Box<dyn TensorFile>| Opened {
        format,
        file,
        labels_only: format == Format::TsvMetadata,
    };
    if let Some(shape) = raw_shape {
        return Ok(opened(
            Format::RawF32,
            Box::new(RawF32::open(name, reader, len, shape)?),
        ));
    }
    let mut head = [0u8; 9];
    let n = read_up_to(&mut reader, &mut head).map_err(io)?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let head = &head[..n];
    if head.starts_with(b"\x93NUMPY") {
        let file = NpyFile::open(name, stem(name), reader, len)?;
        return Ok(opened(Format::Npy, Box::new(file)));
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        // Both npz and torch.save are zips: torch's holds `<archive>/data.pkl`.
        let is_torch = ZipArchive::new(&mut reader)
            .map(|z| {
                z.file_names()
                    .any(|n| n.is_ok_and(|n| n.ends_with("data.pkl")))
            })
            .unwrap_or(false);
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        return Ok(if is_torch {
            opened(Format::Torch, Box::new(TorchFile::open(name, reader)?))
        } else {
            opened(Format::Npz, Box::new(NpzFile::open(name, reader)?))
        });
    }
    // safetensors: an 8-byte little-endian header length, then a JSON object.
    if n == 9 && head[8] == b'{' && u64::from_le_bytes(head[..8].try_into().expect("8 bytes")) < len
    {
        let file = SafetensorsFile::open(name, reader, len)?;
        return Ok(opened(Format::Safetensors, Box::new(file)));
    }
    match extension(name).as_str() {
        "safetensors" => Ok(opened(
            Format::Safetensors,
            Box::new(SafetensorsFile::open(name, reader, len)?),
        )),
        "tsv" | "txt" if stem(name).to_ascii_lowercase().contains("metadata") => Ok(opened(
            Format::TsvMetadata,
            Box::new(TsvMetadata::open(name, reader)?),
        )),
        "tsv" | "txt" => Ok(opened(
            Format::TsvVectors,
            Box::new(TsvVectors::open(name, reader)?),
        )),
        _ => Err(FormatError::new(
            name,
            None,
            "is not a file infoplane reads (npz, npy, safetensors, torch.save zip, tsv; raw float32 needs --raw-shape)",
        )),
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
