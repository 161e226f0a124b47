//! PyTorch `torch.save` checkpoints (the zip format of PyTorch 1.6 and later): `data.pkl` is
//! decoded by the closed reader in [`super::pickle`] (nothing is executed), containers are flattened
//! into tensor names, and every view is checked against its storage before any data is read.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use zip::ZipArchive;

use super::pickle::{self, Global, Value};
use super::tensor::{
    checked_len, decode_i64, ByteOrder, DType, FloatDecoder, FloatSink, StreamError, TensorFile,
    TensorInfo,
};
use super::FormatError;

/// Largest `data.pkl` read into memory. Pickles of models with hundreds of thousands of tensors
/// are a few tens of MiB; the tensor data itself is never in the pickle.
pub const MAX_PICKLE_BYTES: u64 = 64 << 20;
/// A non-contiguous view whose addressed elements span at most this many bytes is read with one
/// read of that span; larger ones are read run by run with seeks, so memory stays bounded.
pub const MAX_SPAN_BYTES: usize = 256 << 20;
/// Bytes of all tensor names together: names repeat their containers' keys, so a long key over
/// many tensors would otherwise multiply.
pub const MAX_NAME_BYTES: usize = 32 << 20;
/// Small text records (`version`, `byteorder`) longer than this are not what torch writes.
const MAX_RECORD_BYTES: u64 = 64;

/// An opened checkpoint: the tensor list is known and validated; data is read on demand.
pub struct TorchFile<R: Read + Seek> {
    file: String,
    archive: ZipArchive<R>,
    order: ByteOrder,
    infos: Vec<TensorInfo>,
    views: Vec<View>,
    by_name: HashMap<String, usize>,
    metadata: Vec<(String, String)>,
    /// [`MAX_SPAN_BYTES`], lowered by tests to exercise run-by-run reading.
    span_limit: usize,
}

/// Where a tensor's elements live: a strided view into one storage member.
#[derive(Clone, Debug)]
struct View {
    /// Zip member holding the storage, e.g. `archive/data/0`.
    member: String,
    /// The storage's key, for messages.
    key: String,
    /// Element offset of the view within the storage.
    offset: usize,
    /// Element strides, one per dimension.
    strides: Vec<usize>,
    /// Elements lie consecutively in C order, so they are streamed with one seek.
    contiguous: bool,
    /// The member is stored uncompressed and so can be seeked in.
    stored: bool,
}

/// A tensor as the pickle describes it, before it is checked against the archive.
struct Spec {
    key: String,
    /// Element type of the view (the storage's own, or v3's explicit dtype).
    dtype: DType,
    /// Bytes the storage record claims.
    storage_bytes: u128,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

impl<R: Read + Seek> fmt::Debug for TorchFile<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TorchFile")
            .field("file", &self.file)
            .field("tensors", &self.infos)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> TorchFile<R> {
    /// Opens a checkpoint: finds `data.pkl`, decodes it without executing anything, names the
    /// tensors and checks each view against its storage member. No tensor data is read.
    pub fn open(file: &str, mut reader: R) -> Result<Self, FormatError> {
        let err = |m: String| FormatError::new(file, None, m);
        // The format before PyTorch 1.6 is a bare pickle stream, recognisable by its first byte.
        let start = reader
            .stream_position()
            .map_err(|e| err(format!("cannot be read ({e})")))?;
        let mut magic = [0u8; 2];
        if reader.read_exact(&mut magic).is_ok() && magic[0] == 0x80 {
            return Err(err("is a legacy (before PyTorch 1.6) torch.save file, which is not read; save it again with a current torch.save".into()));
        }
        reader
            .seek(SeekFrom::Start(start))
            .map_err(|e| err(format!("cannot be read ({e})")))?;
        let mut archive = ZipArchive::new(reader).map_err(|e| {
            err(format!(
                "not a readable torch.save checkpoint (zip archive): {e}"
            ))
        })?;

        let names: Vec<String> = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        let pickles: Vec<&String> = names
            .iter()
            .filter(|n| {
                n.as_str() == "data.pkl"
                    || n.strip_suffix("/data.pkl")
                        .is_some_and(|p| !p.is_empty() && !p.contains('/'))
            })
            .collect();
        let pkl_name = match pickles.as_slice() {
            [one] => (*one).clone(),
            [] => {
                let shown: Vec<String> = names.iter().take(5).map(|n| shown(n)).collect();
                return Err(err(format!(
                    "has no data.pkl record, so it is not a torch.save checkpoint (members: {})",
                    if shown.is_empty() {
                        "none".to_string()
                    } else {
                        shown.join(", ")
                    }
                )));
            }
            many => {
                let shown: Vec<String> = many.iter().map(|n| shown(n)).collect();
                return Err(err(format!(
                    "holds several data.pkl records ({}), so which checkpoint to read is unclear",
                    shown.join(", ")
                )));
            }
        };
        // The archive's records share the prefix of data.pkl ("archive/", or the file stem).
        let prefix = pkl_name[..pkl_name.len() - "data.pkl".len()].to_string();
        let pkl_shown = shown(&pkl_name);

        let mut metadata = vec![("archive".to_string(), prefix.trim_end_matches('/').into())];
        let order = match read_record(&mut archive, &format!("{prefix}byteorder"))
            .map_err(|e| err(format!("record {}byteorder {e}", shown(&prefix))))?
        {
            None => ByteOrder::Little,
            Some(b) => {
                let text = String::from_utf8_lossy(&b).trim().to_string();
                let order = match text.as_str() {
                    "little" => ByteOrder::Little,
                    "big" => ByteOrder::Big,
                    _ => {
                        return Err(err(format!(
                            "record {}byteorder says '{}', expected 'little' or 'big'",
                            shown(&prefix),
                            shown(&text)
                        )))
                    }
                };
                metadata.push(("byteorder".into(), text));
                order
            }
        };
        if let Ok(Some(v)) = read_record(&mut archive, &format!("{prefix}version")) {
            let v = String::from_utf8_lossy(&v)
                .trim()
                .escape_debug()
                .to_string();
            metadata.push(("version".into(), v));
        }

        let pkl =
            read_pickle(&mut archive, &pkl_name).map_err(|m| err(format!("{pkl_shown}: {m}")))?;
        let root = pickle::parse(&pkl).map_err(|e| err(format!("{pkl_shown}: {e}")))?;
        drop(pkl);

        let mut found = Vec::new();
        let mut name_bytes = MAX_NAME_BYTES;
        flatten(&root, None, &mut found, &mut name_bytes)
            .map_err(|m| err(format!("{pkl_shown}: {m}")))?;
        let mut infos = Vec::with_capacity(found.len());
        let mut views = Vec::with_capacity(found.len());
        let mut by_name = HashMap::with_capacity(found.len());
        for (name, value) in found {
            let terr = |m: String| FormatError::new(file, Some(&shown(&name)), m);
            if by_name.contains_key(&name) {
                return Err(terr(
                    "appears twice (two containers flatten to the same name)".into(),
                ));
            }
            let spec = describe(value).map_err(terr)?;
            let (info, view) = check(&mut archive, &prefix, &name, spec).map_err(terr)?;
            by_name.insert(name, infos.len());
            infos.push(info);
            views.push(view);
        }
        Ok(Self {
            file: file.to_owned(),
            archive,
            order,
            infos,
            views,
            by_name,
            metadata,
            span_limit: MAX_SPAN_BYTES,
        })
    }

    fn find(&self, tensor: &str) -> Result<usize, FormatError> {
        self.by_name.get(tensor).copied().ok_or_else(|| {
            FormatError::new(
                &self.file,
                Some(&shown(tensor)),
                "is not in this checkpoint",
            )
        })
    }

    /// Hands `f` the raw bytes of elements `range` of tensor `idx` in logical C order, at most
    /// `chunk` elements at a time.
    fn stream_bytes(
        &mut self,
        idx: usize,
        range: Range<usize>,
        chunk: usize,
        f: &mut dyn FnMut(&[u8]) -> Result<(), StreamError>,
    ) -> Result<(), StreamError> {
        let info = &self.infos[idx];
        let view = &self.views[idx];
        let size = info.dtype.size();
        let chunk = chunk.max(1);
        let n = range.len();
        if n == 0 {
            return Ok(());
        }
        let err = |m: String| FormatError::new(&self.file, Some(&shown(&info.name)), m);
        let io_err = |e: io::Error| {
            err(format!(
                "storage '{}' is truncated or unreadable ({e})",
                view.key
            ))
        };
        let archive = &mut self.archive;
        if view.contiguous {
            let start = (view.offset + range.start) as u64 * size as u64;
            return with_member(archive, view, start, &err, &mut |r| {
                pump(r, n, size, chunk, f, &io_err)
            });
        }

        // Strided view: first find the storage span the range addresses (arithmetic only).
        let mut walk = Walk::new(&info.shape, &view.strides, view.offset, range.start);
        let (mut lo, mut hi) = (walk.off, walk.off);
        for _ in 1..n {
            walk.advance();
            lo = lo.min(walk.off);
            hi = hi.max(walk.off);
        }
        let span = (hi - lo + 1).saturating_mul(size);
        let mut out = vec![0u8; chunk.min(n) * size];
        let mut walk = Walk::new(&info.shape, &view.strides, view.offset, range.start);
        let mut done = 0;
        if span <= self.span_limit {
            let mut bytes = vec![0u8; span];
            with_member(archive, view, lo as u64 * size as u64, &err, &mut |r| {
                r.read_exact(&mut bytes).map_err(|e| io_err(e).into())
            })?;
            while done < n {
                let m = chunk.min(n - done);
                for k in 0..m {
                    if done + k > 0 {
                        walk.advance();
                    }
                    let at = (walk.off - lo) * size;
                    out[k * size..(k + 1) * size].copy_from_slice(&bytes[at..at + size]);
                }
                f(&out[..m * size])?;
                done += m;
            }
            return Ok(());
        }
        if !view.stored {
            return Err(err(format!(
                "is a strided view over {span} bytes of compressed storage '{}'; save it with .contiguous() or without compression",
                view.key
            ))
            .into());
        }
        // Too wide to hold: seek to each run of consecutive elements. At the top of each run
        // `walk` stands on its first element.
        let mut r = archive
            .by_name_seek(&view.member)
            .map_err(|e| err(format!("storage '{}' cannot be opened ({e})", view.key)))?;
        while done < n {
            let m = chunk.min(n - done);
            let mut k = 0;
            while k < m {
                let first = walk.off;
                let mut run = 1;
                while done + k + run < n {
                    walk.advance();
                    if k + run == m || walk.off != first + run {
                        break;
                    }
                    run += 1;
                }
                r.seek(SeekFrom::Start(first as u64 * size as u64))
                    .map_err(io_err)?;
                r.read_exact(&mut out[k * size..(k + run) * size])
                    .map_err(io_err)?;
                k += run;
            }
            f(&out[..m * size])?;
            done += m;
        }
        Ok(())
    }
}

impl<R: Read + Seek> TensorFile for TorchFile<R> {
    fn file_name(&self) -> &str {
        &self.file
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    /// The archive's name and its `byteorder` and `version` records.
    fn metadata(&self) -> Vec<(String, String)> {
        self.metadata.clone()
    }

    fn read_floats(
        &mut self,
        tensor: &str,
        range: Range<usize>,
        chunk: usize,
        sink: &mut FloatSink<'_>,
    ) -> Result<(), StreamError> {
        let idx = self.find(tensor)?;
        let info = &self.infos[idx];
        let err = |m: String| FormatError::new(&self.file, Some(&shown(tensor)), m);
        if !info.dtype.is_float() {
            return Err(err(format!(
                "holds {}, expected floating-point values",
                info.dtype.name()
            ))
            .into());
        }
        if range.start > range.end || range.end > info.len() {
            return Err(err(format!(
                "elements {}..{} were asked for, but it has {}",
                range.start,
                range.end,
                info.len()
            ))
            .into());
        }
        let (dtype, order) = (info.dtype, self.order);
        let mut decoder = FloatDecoder::default();
        self.stream_bytes(idx, range, chunk, &mut |bytes| {
            sink(decoder.decode(dtype, order, bytes)).map_err(StreamError::Sink)
        })
    }

    fn read_i64(&mut self, tensor: &str) -> Result<Vec<i64>, FormatError> {
        let idx = self.find(tensor)?;
        let info = &self.infos[idx];
        let (dtype, order, len) = (info.dtype, self.order, info.len());
        let file = self.file.clone();
        let err = |m: String| FormatError::new(&file, Some(&shown(tensor)), m);
        if dtype.is_float() {
            return Err(err(format!("holds {}, expected integers", dtype.name())));
        }
        // Grown as data arrives, so a storage that claims more than it holds costs nothing.
        let mut out = Vec::with_capacity(len.min(1 << 16));
        let mut overflow = false;
        let res = self.stream_bytes(idx, 0..len, 1 << 16, &mut |bytes| {
            for c in bytes.chunks_exact(dtype.size()) {
                match decode_i64(dtype, order, c) {
                    Some(v) => out.push(v),
                    None => overflow = true,
                }
            }
            Ok(())
        });
        match res {
            Ok(()) if overflow => Err(err("holds an integer beyond the int64 range".into())),
            Ok(()) => Ok(out),
            Err(StreamError::Format(e)) => Err(e),
            Err(StreamError::Sink(e)) => Err(err(e.to_string())),
        }
    }
}

/// Text from the file as it may appear in a one-line message: control characters escaped.
fn shown(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.escape_debug().to_string()
    } else {
        s.to_string()
    }
}

/// A small text record, `None` if absent.
fn read_record<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
) -> Result<Option<Vec<u8>>, String> {
    if archive.index_for_name(name).is_none() {
        return Ok(None);
    }
    let entry = archive
        .by_name(name)
        .map_err(|e| format!("cannot be opened ({e})"))?;
    if entry.size() > MAX_RECORD_BYTES {
        return Err(format!(
            "is {} bytes, far more than torch writes",
            entry.size()
        ));
    }
    let mut out = Vec::new();
    entry
        .take(MAX_RECORD_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot be read ({e})"))?;
    Ok(Some(out))
}

/// Reads `data.pkl`, refusing sizes beyond [`MAX_PICKLE_BYTES`] before allocating.
fn read_pickle<R: Read + Seek>(archive: &mut ZipArchive<R>, name: &str) -> Result<Vec<u8>, String> {
    let entry = archive
        .by_name(name)
        .map_err(|e| format!("cannot be opened ({e})"))?;
    let size = entry.size();
    if size > MAX_PICKLE_BYTES {
        return Err(format!(
            "is {size} bytes; pickles above {MAX_PICKLE_BYTES} bytes are not read"
        ));
    }
    // The read is capped too: the recorded size may lie.
    let mut out = Vec::new();
    entry
        .take(size)
        .read_to_end(&mut out)
        .map_err(|e| format!("is truncated or unreadable ({e})"))?;
    if out.len() as u64 != size {
        return Err(format!(
            "is truncated ({} of {size} bytes present)",
            out.len()
        ));
    }
    Ok(out)
}

/// Collects every tensor under `v` with its flattened name, in pickle order. Dict keys (strings
/// or integers) and list/tuple indices are joined with "."; a bare tensor is `tensor`. Anything
/// that is neither a container nor a tensor is ignored. `budget` bounds all names' bytes together.
fn flatten<'a>(
    v: &'a Value,
    name: Option<String>,
    out: &mut Vec<(String, &'a Value)>,
    budget: &mut usize,
) -> Result<(), String> {
    if is_tensor(v) {
        let name = name.unwrap_or_else(|| "tensor".into());
        *budget = budget
            .checked_sub(name.len())
            .ok_or_else(|| format!("tensor names add up to more than {MAX_NAME_BYTES} bytes"))?;
        out.push((name, v));
        return Ok(());
    }
    let child = |part: &str| match &name {
        None => part.to_string(),
        Some(n) => format!("{n}.{part}"),
    };
    match v {
        Value::Dict(entries) => {
            for (k, item) in entries {
                let key = match k {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => continue,
                };
                flatten(item, Some(child(&key)), out, budget)?;
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, Some(child(&i.to_string())), out, budget)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether `v` rebuilds a tensor (possibly wrapped as a Parameter or a tensor subclass).
fn is_tensor(v: &Value) -> bool {
    matches!(
        v,
        Value::Call {
            func: Global::RebuildTensor
                | Global::RebuildTensorV2
                | Global::RebuildTensorV3
                | Global::RebuildParameter
                | Global::RebuildParameterWithState
                | Global::RebuildFromType
                | Global::RebuildFromTypeV2
                | Global::Parameter,
            ..
        }
    )
}

/// Reads storage, offset, size, stride (and v3's dtype) out of a tensor-rebuilding call.
fn describe(v: &Value) -> Result<Spec, String> {
    let Value::Call { func, args, .. } = v else {
        return Err("is not a tensor".into());
    };
    match func {
        // Parameter wrappers: the first argument is the tensor.
        Global::RebuildParameter | Global::RebuildParameterWithState | Global::Parameter => {
            match args.first() {
                Some(inner)
                    if is_tensor(inner)
                        && !matches!(inner, Value::Call { func: f, .. } if f == func) =>
                {
                    describe(inner)
                }
                _ => Err(format!("{func} does not wrap a tensor")),
            }
        }
        // _rebuild_from_type(_v2)(func, type, args, state): the tensor is func(*args).
        Global::RebuildFromType | Global::RebuildFromTypeV2 => match args.as_slice() {
            [Value::Global(
                inner @ (Global::RebuildTensor | Global::RebuildTensorV2 | Global::RebuildTensorV3),
            ), _, inner_args, ..] => describe(&Value::Call {
                func: *inner,
                args: inner_args
                    .as_seq()
                    .ok_or_else(|| format!("{func} arguments are not a tuple"))?
                    .to_vec(),
                state: None,
            }),
            _ => Err(format!("{func} does not rebuild a plain tensor")),
        },
        Global::RebuildTensor | Global::RebuildTensorV2 | Global::RebuildTensorV3 => {
            let want = if *func == Global::RebuildTensorV3 {
                7
            } else {
                4
            };
            if args.len() < want {
                return Err(format!(
                    "{func} has {} arguments, expected at least {want}",
                    args.len()
                ));
            }
            let Value::Persistent(pid) = &args[0] else {
                return Err("its storage is not a persistent reference".into());
            };
            let (key, storage_dtype, untyped, numel) = storage_ref(pid)?;
            let dtype = if *func == Global::RebuildTensorV3 {
                match &args[6] {
                    Value::Global(Global::DType(d)) => *d,
                    Value::Global(g) => return Err(format!("has dtype '{g}', which is not read")),
                    _ => return Err("its dtype argument is not a torch dtype".into()),
                }
            } else {
                if untyped {
                    return Err("views an untyped storage without saying its dtype".into());
                }
                storage_dtype
            };
            let storage_bytes = u128::from(numel) * storage_dtype.size() as u128;
            let offset = args[1]
                .as_int()
                .ok_or("its storage offset is not an integer")?;
            let ints = |v: &Value, what: &str| -> Result<Vec<i64>, String> {
                v.as_seq()
                    .ok_or_else(|| format!("its {what} is not a tuple"))?
                    .iter()
                    .map(|x| {
                        x.as_int()
                            .ok_or_else(|| format!("its {what} holds a non-integer"))
                    })
                    .collect()
            };
            Ok(Spec {
                key,
                dtype,
                storage_bytes,
                offset,
                size: ints(&args[2], "size")?,
                stride: ints(&args[3], "stride")?,
            })
        }
        other => Err(format!("{other} is not a tensor")),
    }
}

/// `('storage', storage class, key, location, numel)` → (key, dtype, untyped, numel).
fn storage_ref(pid: &Value) -> Result<(String, DType, bool, u64), String> {
    let bad =
        || "its storage reference is not ('storage', class, key, location, numel)".to_string();
    let items = pid.as_seq().ok_or_else(bad)?;
    let [tag, class, key, _location, numel] = items else {
        return Err(bad());
    };
    if tag.as_str() != Some("storage") {
        return Err(bad());
    }
    let Value::Global(Global::Storage { dtype, untyped }) = class else {
        return Err(bad());
    };
    let key = match key {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        _ => return Err(bad()),
    };
    let numel = numel
        .as_int()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| "its storage size is not a non-negative integer".to_string())?;
    Ok((key, *dtype, *untyped, numel))
}

/// Checks a tensor's view against its storage member and makes its public description.
fn check<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    prefix: &str,
    name: &str,
    spec: Spec,
) -> Result<(TensorInfo, View), String> {
    let key = shown(&spec.key);
    let member = format!("{prefix}data/{}", spec.key);
    let index = archive.index_for_name(&member).ok_or_else(|| {
        format!(
            "storage '{key}' is missing from the archive (no {})",
            shown(&member)
        )
    })?;
    let entry = archive
        .by_index_data(index)
        .map_err(|e| format!("storage '{key}' cannot be opened ({e})"))?;
    let (present, stored) = (
        entry.size(),
        entry.compression() == zip::CompressionMethod::Stored,
    );
    if u128::from(present) != spec.storage_bytes {
        return Err(format!(
            "storage '{key}' holds {present} bytes, but data.pkl says it holds {}",
            spec.storage_bytes
        ));
    }
    let size = spec.dtype.size();
    if present % size as u64 != 0 {
        return Err(format!(
            "storage '{key}' holds {present} bytes, not a whole number of {} elements",
            spec.dtype.name()
        ));
    }
    let elements = usize::try_from(present / size as u64)
        .map_err(|_| format!("storage '{key}' is too large for this platform"))?;
    if spec.size.len() != spec.stride.len() {
        return Err(format!(
            "has {} dimensions but {} strides",
            spec.size.len(),
            spec.stride.len()
        ));
    }
    let to_usize = |v: i64, what: &str| {
        usize::try_from(v).map_err(|_| format!("has a negative or oversized {what} ({v})"))
    };
    let shape = spec
        .size
        .iter()
        .map(|&d| to_usize(d, "dimension"))
        .collect::<Result<Vec<_>, _>>()?;
    let strides = spec
        .stride
        .iter()
        .map(|&s| to_usize(s, "stride"))
        .collect::<Result<Vec<_>, _>>()?;
    let offset = to_usize(spec.offset, "storage offset")?;
    let len = checked_len(&shape).ok_or_else(|| format!("shape {shape:?} overflows"))?;
    if len > 0 {
        // The last element any index can reach, computed without overflow.
        shape
            .iter()
            .zip(&strides)
            .try_fold(offset, |acc, (&d, &s)| acc.checked_add((d - 1).checked_mul(s)?))
            .filter(|&last| last < elements)
            .ok_or_else(|| {
                format!(
                    "view (offset {offset}, shape {shape:?}, strides {strides:?}) reaches past the {elements} elements of storage '{key}'"
                )
            })?;
    }
    // C-contiguous: each dimension of extent > 1 steps over everything after it.
    let mut expect = 1usize;
    let mut contiguous = true;
    for (&d, &s) in shape.iter().zip(&strides).rev() {
        if d > 1 && s != expect {
            contiguous = false;
        }
        expect = expect.saturating_mul(d);
    }
    Ok((
        TensorInfo {
            name: name.to_string(),
            dtype: spec.dtype,
            shape,
        },
        View {
            member,
            key,
            offset,
            strides,
            contiguous,
            stored,
        },
    ))
}

/// Opens the storage member positioned at byte `start` and hands it to `f`: seeking when the
/// member is stored, decompressing and skipping otherwise.
fn with_member<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    view: &View,
    start: u64,
    err: &dyn Fn(String) -> FormatError,
    f: &mut dyn FnMut(&mut dyn Read) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let open =
        |e: zip::result::ZipError| err(format!("storage '{}' cannot be opened ({e})", view.key));
    let short = |e: io::Error| {
        err(format!(
            "storage '{}' is truncated or unreadable ({e})",
            view.key
        ))
    };
    if view.stored {
        let mut r = archive.by_name_seek(&view.member).map_err(open)?;
        r.seek(SeekFrom::Start(start)).map_err(short)?;
        f(&mut r)
    } else {
        let mut r = archive.by_name(&view.member).map_err(open)?;
        let skipped = io::copy(&mut (&mut r).take(start), &mut io::sink()).map_err(short)?;
        if skipped != start {
            return Err(short(io::ErrorKind::UnexpectedEof.into()).into());
        }
        f(&mut r)
    }
}

/// Reads `n` elements of `size` bytes in chunks of at most `chunk` elements.
fn pump(
    r: &mut dyn Read,
    n: usize,
    size: usize,
    chunk: usize,
    f: &mut dyn FnMut(&[u8]) -> Result<(), StreamError>,
    io_err: &dyn Fn(io::Error) -> FormatError,
) -> Result<(), StreamError> {
    let mut buf = vec![0u8; chunk.min(n) * size];
    let mut done = 0;
    while done < n {
        let m = chunk.min(n - done);
        r.read_exact(&mut buf[..m * size]).map_err(io_err)?;
        f(&buf[..m * size])?;
        done += m;
    }
    Ok(())
}

/// Walks a strided view in logical C order, tracking the storage offset of the current element.
/// Only built for validated views, so every offset it produces is inside the storage.
struct Walk<'a> {
    shape: &'a [usize],
    strides: &'a [usize],
    index: Vec<usize>,
    off: usize,
}

impl<'a> Walk<'a> {
    /// Starts at flat element `start` (which must be below the element count).
    fn new(shape: &'a [usize], strides: &'a [usize], base: usize, start: usize) -> Self {
        let mut index = vec![0; shape.len()];
        let mut rest = start;
        let mut off = base;
        for d in (0..shape.len()).rev() {
            index[d] = rest % shape[d];
            rest /= shape[d];
            off += index[d] * strides[d];
        }
        Self {
            shape,
            strides,
            index,
            off,
        }
    }

    /// Moves to the next element; wrapping subtracts before anything is added, so no
    /// intermediate offset leaves the storage.
    fn advance(&mut self) {
        for d in (0..self.shape.len()).rev() {
            if self.index[d] + 1 < self.shape[d] {
                self.index[d] += 1;
                self.off += self.strides[d];
                return;
            }
            self.off -= self.index[d] * self.strides[d];
            self.index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Every window of every float tensor, read with and without holding the span in memory.
    fn windows(file: &[u8]) -> Vec<Result<Vec<f64>, String>> {
        let mut out = Vec::new();
        for limit in [MAX_SPAN_BYTES, 0] {
            let mut f = TorchFile::open("v.pt", Cursor::new(file.to_vec())).unwrap();
            f.span_limit = limit;
            let infos: Vec<TensorInfo> = f.tensors().to_vec();
            for info in infos.iter().filter(|i| i.dtype.is_float()) {
                let n = info.len();
                for (a, b) in [(0, n), (1.min(n), n), (n / 2, n), (0, n / 3)] {
                    for chunk in [1, 3, 64] {
                        let mut got = Vec::new();
                        let r = f.read_f64(&info.name, a..b, chunk, &mut |c: &[f64]| {
                            got.extend_from_slice(c);
                            Ok(())
                        });
                        out.push(r.map(|_| got).map_err(|e| e.to_string()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn wide_strided_views_read_run_by_run_alike() {
        let stored = windows(include_bytes!("../../tests/fixtures/torch/views.pt"));
        let (held, runs) = stored.split_at(stored.len() / 2);
        assert!(held.iter().all(Result::is_ok));
        assert_eq!(held, runs);
        // Compressed storage cannot be seeked: strided views over a too-wide span are refused.
        let deflated = windows(include_bytes!("../../tests/fixtures/torch/compressed.pt"));
        let (held, runs) = deflated.split_at(deflated.len() / 2);
        assert_eq!(held, &stored[..stored.len() / 2]);
        assert!(runs.iter().any(|r| r
            .as_ref()
            .is_err_and(|e| e.contains("strided view") && e.contains("compressed"))));
    }

    #[test]
    fn walk_follows_c_order_of_a_transpose() {
        // A 2x3 view of a 3x2 storage, transposed: strides (1, 2).
        let (shape, strides) = ([2usize, 3], [1usize, 2]);
        let mut w = Walk::new(&shape, &strides, 0, 0);
        let mut offs = vec![w.off];
        for _ in 1..6 {
            w.advance();
            offs.push(w.off);
        }
        assert_eq!(offs, [0, 2, 4, 1, 3, 5]);
        let w = Walk::new(&shape, &strides, 10, 4);
        assert_eq!((w.index.clone(), w.off), (vec![1, 1], 13));
    }

    #[test]
    fn names_flatten_from_containers() {
        let t = Value::Call {
            func: Global::RebuildTensorV2,
            args: vec![],
            state: None,
        };
        let v = Value::Dict(vec![
            (
                Value::Str("hidden_states".into()),
                Value::List(vec![t.clone(), t.clone()]),
            ),
            (Value::Str("blocks.3.hook_resid_post".into()), t.clone()),
            (Value::Int(7), Value::Tuple(vec![Value::Int(1), t.clone()])),
            (Value::None, t.clone()),
            (Value::Str("step".into()), Value::Int(3)),
        ]);
        let mut out = Vec::new();
        flatten(&v, None, &mut out, &mut 1000).unwrap();
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "hidden_states.0",
                "hidden_states.1",
                "blocks.3.hook_resid_post",
                "7.1"
            ]
        );
        let mut out = Vec::new();
        flatten(&t, None, &mut out, &mut 1000).unwrap();
        assert_eq!(out[0].0, "tensor");
        let pair = Value::Tuple(vec![t.clone(), t]);
        let mut out = Vec::new();
        flatten(&pair, None, &mut out, &mut 1000).unwrap();
        assert!(flatten(&pair, None, &mut out, &mut 1).is_err());
        assert_eq!(out[1].0, "1");
    }
}
