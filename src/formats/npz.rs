//! `.npz` archives (`numpy.savez` and `savez_compressed`) as a [`TensorFile`]: one tensor per
//! `.npy` member, named after the member without `.npy` (`hidden_states`, `labels/pos`). Stored
//! members are read with seeks; deflated members are inflated on the fly while streaming.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use zip::{CompressionMethod, ZipArchive};

use super::npy::{self, check_range, Header};
use super::tensor::{FloatSink, StoredSpan, StreamError, TensorFile, TensorInfo};
use super::FormatError;

/// An opened `.npz`: every member's header is read and checked up front; data is read on demand.
pub struct NpzFile<R: Read + Seek> {
    file: String,
    archive: ZipArchive<R>,
    tensors: Vec<TensorInfo>,
    members: Vec<Member>,
}

struct Member {
    name: String,
    stored: bool,
    header: Header,
    /// Where the member's bytes start in the archive, when they are stored as they are (not
    /// compressed, not encrypted): its elements can then be fetched by byte range.
    plain_start: Option<u64>,
}

impl<R: Read + Seek> NpzFile<R> {
    pub fn open(file: &str, reader: R) -> Result<Self, FormatError> {
        let mut archive = ZipArchive::new(reader).map_err(|e| {
            FormatError::new(
                file,
                None,
                format!("not a readable .npz (zip) archive ({e})"),
            )
        })?;
        let mut tensors = Vec::new();
        let mut members = Vec::new();
        for i in 0..archive.len() {
            let entry = archive.by_index(i).map_err(|e| {
                FormatError::new(
                    file,
                    None,
                    format!("archive member {i} is unreadable ({e})"),
                )
            })?;
            let Some(name) = entry
                .name()
                .ok()
                .and_then(|n| n.strip_suffix(".npy").map(str::to_owned))
            else {
                continue;
            };
            let stored = entry.compression() == CompressionMethod::Stored;
            let plain_start = entry.data_start().filter(|_| {
                stored && !entry.encrypted() && entry.compressed_size() == entry.size()
            });
            let size = entry.size();
            let mut entry = entry;
            let header = npy::read_header(file, &name, &mut entry, size)?;
            tensors.push(TensorInfo {
                name: name.clone(),
                dtype: header.dtype,
                shape: header.shape.clone(),
            });
            members.push(Member {
                name: format!("{name}.npy"),
                stored,
                header,
                plain_start,
            });
        }
        if tensors.is_empty() {
            return Err(FormatError::new(file, None, "holds no .npy arrays"));
        }
        Ok(Self {
            file: file.to_owned(),
            archive,
            tensors,
            members,
        })
    }

    fn member(&self, tensor: &str) -> Result<usize, FormatError> {
        self.tensors
            .iter()
            .position(|t| t.name == tensor)
            .ok_or_else(|| FormatError::new(&self.file, Some(tensor), "no such tensor"))
    }
}

impl<R: Read + Seek> TensorFile for NpzFile<R> {
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
        let i = self.member(tensor)?;
        check_range(&self.file, tensor, &range, self.tensors[i].len())?;
        let (file, name) = (self.file.clone(), tensor.to_owned());
        let err = move |m: String| FormatError::new(&file, Some(&name), m);
        let Member {
            name: member,
            stored,
            header,
            ..
        } = &self.members[i];
        let header = header.clone();
        let open_err =
            |e: zip::result::ZipError| err(format!("cannot be read from the archive ({e})"));
        if header.fortran {
            let mut entry = self.archive.by_name(member).map_err(open_err)?;
            skip(&mut entry, header.data_offset, &err)?;
            let values = npy::read_fortran_f64(&mut entry, &header, &err)?;
            return npy::serve_f64(&values, range, chunk, sink);
        }
        let offset = header.data_offset + (range.start * header.dtype.size()) as u64;
        if *stored {
            let mut entry = self.archive.by_name_seek(member).map_err(open_err)?;
            entry
                .seek(SeekFrom::Start(offset))
                .map_err(|e| err(format!("cannot seek ({e})")))?;
            npy::stream_floats(&mut entry, &header, range.len(), chunk, sink, &err)
        } else {
            let mut entry = self.archive.by_name(member).map_err(open_err)?;
            skip(&mut entry, offset, &err)?;
            npy::stream_floats(&mut entry, &header, range.len(), chunk, sink, &err)
        }
    }
    fn stored_span(&self, tensor: &str, range: Range<usize>) -> Option<StoredSpan> {
        let member = &self.members[self.member(tensor).ok()?];
        npy::stored_span(&member.header, member.plain_start?, &range)
    }
    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        let i = self.member(tensor)?;
        let (file, name) = (self.file.clone(), tensor.to_owned());
        let err = move |m: String| FormatError::new(&file, Some(&name), m);
        let header = self.members[i].header.clone();
        let mut entry = self
            .archive
            .by_name(&self.members[i].name)
            .map_err(|e| err(format!("cannot be read from the archive ({e})")))?;
        skip(&mut entry, header.data_offset, &err)?;
        npy::read_all_i64(&mut entry, &header, &err)
    }
    fn read_strings(&mut self, tensor: &str) -> Result<Vec<String>, FormatError> {
        let i = self.member(tensor)?;
        let (file, name) = (self.file.clone(), tensor.to_owned());
        let err = move |m: String| FormatError::new(&file, Some(&name), m);
        let header = self.members[i].header.clone();
        let mut entry = self
            .archive
            .by_name(&self.members[i].name)
            .map_err(|e| err(format!("cannot be read from the archive ({e})")))?;
        skip(&mut entry, header.data_offset, &err)?;
        npy::read_all_strings(&mut entry, &header, &err)
    }
}

/// Reads and discards `n` bytes (a deflated stream cannot seek).
fn skip<R: Read>(
    r: &mut R,
    n: u64,
    err: &dyn Fn(String) -> FormatError,
) -> Result<(), FormatError> {
    let got = std::io::copy(&mut r.take(n), &mut std::io::sink())
        .map_err(|e| err(format!("data is unreadable ({e})")))?;
    if got != n {
        return Err(err("data is truncated".into()));
    }
    Ok(())
}
