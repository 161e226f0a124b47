//! Writes `.npz` files (stored members, zip64 when large) as `numpy.savez` does, for
//! `infoplane hidden-states`: the canonical dump, readable by numpy and by infoplane itself.

use std::io::{self, Seek, Write};

use npyz::WriterBuilder;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// An `.npz` being written, one member at a time.
pub struct NpzWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
}

impl<W: Write + Seek> NpzWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            zip: ZipWriter::new(out),
        }
    }

    fn start(&mut self, name: &str, bytes: usize) -> io::Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(bytes >= u32::MAX as usize / 2);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(io::Error::other)
    }

    /// Adds `name` as a C-order array of `shape` holding `data`.
    pub fn add<T: npyz::AutoSerialize + Copy>(
        &mut self,
        name: &str,
        shape: &[usize],
        data: &[T],
    ) -> io::Result<()> {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "{name}: shape and data disagree"
        );
        self.start(name, std::mem::size_of_val(data))?;
        let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut self.zip)
            .begin_nd()?;
        w.extend(data.iter().copied())?;
        w.finish()
    }

    pub fn finish(self) -> io::Result<W> {
        self.zip.finish().map_err(io::Error::other)
    }
}
