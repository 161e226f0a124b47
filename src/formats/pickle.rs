//! A closed pickle reader for PyTorch checkpoints: it decodes the opcodes of protocols 2–5 into a
//! [`Value`] tree, resolves only an allow-list of globals (torch's rebuild functions, storage
//! classes, dtypes, pure containers) and refuses every other. Nothing in a pickle is ever called.

use std::collections::HashMap;
use std::fmt;

use super::tensor::DType;

/// Opcodes executed before the pickle is refused; each consumes at least one byte, so this only
/// bites on pickles far larger than any checkpoint's `data.pkl`.
pub const MAX_OPS: usize = 50_000_000;
/// Values on the stack, and marks: a pickle nests containers by pushing them, so this bounds how
/// deep a hostile file can build before anything is popped (torch's pickles stay below a few
/// thousand: SETITEMS batches of 1000 pairs).
pub const MAX_STACK: usize = 1 << 18;
/// Memo entries (BINPUT/MEMOIZE); the memo is a map, so a huge index costs one entry, not a table.
pub const MAX_MEMO: usize = 1 << 21;
/// Containers, strings and calls created while decoding (about nine per tensor).
pub const MAX_OBJECTS: usize = 1 << 21;
/// Items put into containers while decoding, copies included: without it, one big tuple passed
/// to `torch.Size` over and over would cost its whole length per opcode.
pub const MAX_ITEMS: usize = 1 << 22;
/// Nesting depth of the returned tree; deeper (or self-referencing) structures are refused.
pub const MAX_DEPTH: usize = 128;
/// Nodes of the returned tree: memo references can share one object many times over, so
/// expanding them into a tree is bounded separately ("billion laughs"). A state_dict has about
/// ten nodes per tensor, so 2^20 leaves room for a hundred thousand tensors; fuzzing found
/// 166- and 486-byte pickles that expand to the limit, which at 2^21 took 0.3 s natively and
/// over 10 s under the fuzzer's instrumentation.
pub const MAX_TREE_NODES: usize = 1 << 20;
/// Bytes of strings and byte strings copied into the returned tree.
pub const MAX_TREE_BYTES: usize = 1 << 27;
/// Length of a module or attribute name in GLOBAL/INST.
const MAX_NAME: usize = 256;

/// Why a pickle was not decoded. Messages are one line.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PickleError {
    /// The pickle names a global outside the allow-list (`module.name`, sanitised).
    #[error("refused pickle global '{0}' (infoplane never executes code from files)")]
    Refused(String),
    /// The bytes are not a pickle infoplane understands.
    #[error("pickle is malformed at byte {at}: {what}")]
    Malformed { at: usize, what: String },
    /// The pickle exceeds one of the limits above.
    #[error("pickle exceeds a limit{}: {what}", at.map(|a| format!(" at byte {a}")).unwrap_or_default())]
    Limit { at: Option<usize>, what: String },
}

/// The globals a checkpoint may name. Each is data for the caller to interpret; none is callable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Global {
    /// `torch._utils._rebuild_tensor(storage, offset, size, stride)`.
    RebuildTensor,
    /// `torch._utils._rebuild_tensor_v2`: (storage, offset, size, stride, requires_grad, hooks[,
    /// metadata]).
    RebuildTensorV2,
    /// `torch._utils._rebuild_tensor_v3`: (untyped storage, offset, size, stride, requires_grad,
    /// hooks, dtype[, metadata]), for dtypes without a typed storage class (uint16, ...).
    RebuildTensorV3,
    /// `torch._utils._rebuild_parameter(data, requires_grad, hooks)`.
    RebuildParameter,
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, hooks, state)`.
    RebuildParameterWithState,
    /// `torch._tensor._rebuild_from_type(func, type, args, dict)`.
    RebuildFromType,
    /// `torch._tensor._rebuild_from_type_v2(func, type, args, state)`.
    RebuildFromTypeV2,
    /// `torch.nn.parameter.Parameter`, the class (a type tag for the rebuild functions).
    Parameter,
    /// `torch.Tensor`, the class (a type tag for the rebuild functions).
    TensorClass,
    /// A storage class: `torch.FloatStorage` ... (typed), or `torch.UntypedStorage` (bytes,
    /// `untyped`).
    Storage { dtype: DType, untyped: bool },
    /// A dtype object such as `torch.float32`.
    DType(DType),
    /// `collections.OrderedDict`: decoded straight into [`Value::Dict`].
    OrderedDict,
    /// `torch.Size`: decoded straight into [`Value::Tuple`].
    TorchSize,
    /// `builtins.set` / `builtins.frozenset`: decoded into [`Value::List`].
    Set,
    /// `_codecs.encode`, which protocol 2 uses for `bytes`; only the latin-1 form is decoded.
    CodecsEncode,
}

/// The allow-list: (module, name, global). Protocol 2 spells `builtins` as `__builtin__`.
const ALLOWED: &[(&str, &str, Global)] = &[
    ("torch._utils", "_rebuild_tensor", Global::RebuildTensor),
    (
        "torch._utils",
        "_rebuild_tensor_v2",
        Global::RebuildTensorV2,
    ),
    (
        "torch._utils",
        "_rebuild_tensor_v3",
        Global::RebuildTensorV3,
    ),
    (
        "torch._utils",
        "_rebuild_parameter",
        Global::RebuildParameter,
    ),
    (
        "torch._utils",
        "_rebuild_parameter_with_state",
        Global::RebuildParameterWithState,
    ),
    (
        "torch._tensor",
        "_rebuild_from_type",
        Global::RebuildFromType,
    ),
    (
        "torch._tensor",
        "_rebuild_from_type_v2",
        Global::RebuildFromTypeV2,
    ),
    ("torch.nn.parameter", "Parameter", Global::Parameter),
    ("torch", "Tensor", Global::TensorClass),
    ("torch._tensor", "Tensor", Global::TensorClass),
    ("torch", "FloatStorage", storage(DType::F32)),
    ("torch", "HalfStorage", storage(DType::F16)),
    ("torch", "BFloat16Storage", storage(DType::BF16)),
    ("torch", "DoubleStorage", storage(DType::F64)),
    ("torch", "LongStorage", storage(DType::I64)),
    ("torch", "IntStorage", storage(DType::I32)),
    ("torch", "ShortStorage", storage(DType::I16)),
    ("torch", "CharStorage", storage(DType::I8)),
    ("torch", "ByteStorage", storage(DType::U8)),
    ("torch", "BoolStorage", storage(DType::Bool)),
    ("torch", "UntypedStorage", UNTYPED),
    ("torch.storage", "UntypedStorage", UNTYPED),
    ("torch", "float16", Global::DType(DType::F16)),
    ("torch", "bfloat16", Global::DType(DType::BF16)),
    ("torch", "float32", Global::DType(DType::F32)),
    ("torch", "float64", Global::DType(DType::F64)),
    ("torch", "int8", Global::DType(DType::I8)),
    ("torch", "int16", Global::DType(DType::I16)),
    ("torch", "int32", Global::DType(DType::I32)),
    ("torch", "int64", Global::DType(DType::I64)),
    ("torch", "uint8", Global::DType(DType::U8)),
    ("torch", "uint16", Global::DType(DType::U16)),
    ("torch", "uint32", Global::DType(DType::U32)),
    ("torch", "uint64", Global::DType(DType::U64)),
    ("torch", "bool", Global::DType(DType::Bool)),
    ("collections", "OrderedDict", Global::OrderedDict),
    ("torch", "Size", Global::TorchSize),
    ("builtins", "set", Global::Set),
    ("builtins", "frozenset", Global::Set),
    ("__builtin__", "set", Global::Set),
    ("__builtin__", "frozenset", Global::Set),
    ("_codecs", "encode", Global::CodecsEncode),
];

const fn storage(dtype: DType) -> Global {
    Global::Storage {
        dtype,
        untyped: false,
    }
}

const UNTYPED: Global = Global::Storage {
    dtype: DType::U8,
    untyped: true,
};

impl Global {
    /// The allow-listed global `module.name`, if it is one.
    pub fn lookup(module: &str, name: &str) -> Option<Global> {
        ALLOWED
            .iter()
            .find(|(m, n, _)| *m == module && *n == name)
            .map(|&(_, _, g)| g)
    }

    /// The dotted Python path, for messages.
    pub fn path(self) -> String {
        ALLOWED
            .iter()
            .find(|(_, _, g)| *g == self)
            .map(|(m, n, _)| format!("{m}.{n}"))
            .unwrap_or_else(|| format!("{self:?}"))
    }
}

/// A decoded pickle object. Calls are recorded, never performed.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond the i64 range (LONG1/LONG4), as little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// A list, or a set (order as pickled).
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// A dict or `OrderedDict`, in insertion order (a repeated key keeps its first place and gets
    /// the last value).
    Dict(Vec<(Value, Value)>),
    Global(Global),
    /// `func(*args)` as REDUCE/NEWOBJ/INST/OBJ wrote it, with the BUILD state if any.
    Call {
        func: Global,
        args: Vec<Value>,
        state: Option<Box<Value>>,
    },
    /// A persistent id (BINPERSID): a reference to data stored outside the pickle.
    Persistent(Box<Value>),
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one (bools are not).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The items, if this is a tuple or a list.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }
}

/// Decodes one pickle. Stops at STOP; bytes after it are ignored.
pub fn parse(bytes: &[u8]) -> Result<Value, PickleError> {
    let mut vm = Vm {
        data: bytes,
        pos: 0,
        op_at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        objects: Vec::new(),
        items_left: MAX_ITEMS,
    };
    let root = vm.run()?;
    let mut budget = Budget {
        nodes: MAX_TREE_NODES,
        bytes: MAX_TREE_BYTES,
    };
    vm.measure(root, 0, &mut budget)?;
    Ok(vm.build(root))
}

/// A stack slot: scalars inline, everything mutable or large as an index into the object arena, so
/// memo references share one object (as in Python) and cost nothing to copy.
#[derive(Clone, Copy, Debug)]
enum Slot {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Global(Global),
    Obj(usize),
}

#[derive(Debug)]
enum Obj {
    Str(String),
    Bytes(Vec<u8>),
    BigInt(Vec<u8>),
    List(Vec<Slot>),
    Tuple(Vec<Slot>),
    Dict(Vec<(Slot, Slot)>),
    Call {
        func: Global,
        args: Vec<Slot>,
        state: Option<Slot>,
    },
    Persistent(Slot),
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where the current opcode starts, for messages.
    op_at: usize,
    stack: Vec<Slot>,
    marks: Vec<usize>,
    memo: HashMap<u32, Slot>,
    objects: Vec<Obj>,
    /// Container items that may still be created ([`MAX_ITEMS`] at the start).
    items_left: usize,
}

struct Budget {
    nodes: usize,
    bytes: usize,
}

/// Makes a name from the file printable and short enough for a one-line message.
fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

impl<'a> Vm<'a> {
    fn bad(&self, what: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            at: self.op_at,
            what: what.into(),
        }
    }

    fn limit(&self, what: impl Into<String>) -> PickleError {
        PickleError::Limit {
            at: Some(self.op_at),
            what: what.into(),
        }
    }

    /// The next `n` bytes; a length field larger than what is left is refused before anything is
    /// allocated for it.
    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let left = self.data.len() - self.pos;
        if n > left {
            return Err(self.bad(format!(
                "needs {n} bytes but only {left} are left (truncated, or a lying length)"
            )));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut b = [0u8; N];
        b.copy_from_slice(self.take(N)?);
        Ok(b)
    }

    fn len_u32(&mut self) -> Result<usize, PickleError> {
        Ok(u32::from_le_bytes(self.le()?) as usize)
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).map_err(|_| self.bad(format!("length {n} is impossible")))
    }

    /// A `\n`-terminated name (GLOBAL, INST), at most [`MAX_NAME`] bytes.
    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .take(MAX_NAME + 1)
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.bad("a global's name is unterminated or too long"))?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn push(&mut self, v: Slot) -> Result<(), PickleError> {
        if self.stack.len() >= MAX_STACK {
            return Err(self.limit(format!("more than {MAX_STACK} values on the stack")));
        }
        self.stack.push(v);
        Ok(())
    }

    /// Accounts for `n` new container items.
    fn spend(&mut self, n: usize) -> Result<(), PickleError> {
        if n > self.items_left {
            return Err(self.limit(format!("more than {MAX_ITEMS} container items")));
        }
        self.items_left -= n;
        Ok(())
    }

    fn alloc(&mut self, o: Obj) -> Result<Slot, PickleError> {
        if self.objects.len() >= MAX_OBJECTS {
            return Err(self.limit(format!("more than {MAX_OBJECTS} objects")));
        }
        let items = match &o {
            Obj::List(v) | Obj::Tuple(v) => v.len(),
            Obj::Dict(d) => 2 * d.len(),
            Obj::Call { args, .. } => args.len(),
            Obj::Str(_) | Obj::Bytes(_) | Obj::BigInt(_) | Obj::Persistent(_) => 0,
        };
        self.spend(items)?;
        self.objects.push(o);
        Ok(Slot::Obj(self.objects.len() - 1))
    }

    fn push_obj(&mut self, o: Obj) -> Result<(), PickleError> {
        let s = self.alloc(o)?;
        self.push(s)
    }

    fn pop(&mut self) -> Result<Slot, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.bad("pops from an empty stack"));
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    fn top(&self) -> Result<Slot, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.bad("reads an empty stack"));
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    /// Everything pushed since the last MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Slot>, PickleError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.bad("expects a MARK that is not there"))?;
        Ok(self.stack.split_off(m))
    }

    fn memo_put(&mut self, key: u32) -> Result<(), PickleError> {
        let v = self.top()?;
        if self.memo.len() >= MAX_MEMO && !self.memo.contains_key(&key) {
            return Err(self.limit(format!("more than {MAX_MEMO} memo entries")));
        }
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Result<(), PickleError> {
        let v = *self.memo.get(&key).ok_or_else(|| {
            self.bad(format!(
                "refers to memo entry {key}, which was never stored"
            ))
        })?;
        self.push(v)
    }

    fn global(&self, module: &str, name: &str) -> Result<Global, PickleError> {
        Global::lookup(module, name)
            .ok_or_else(|| PickleError::Refused(sanitize(&format!("{module}.{name}"))))
    }

    fn string(&self, s: Slot) -> Option<&str> {
        match s {
            Slot::Obj(i) => match &self.objects[i] {
                Obj::Str(s) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// The items of a tuple or list slot.
    fn items(&self, s: Slot) -> Option<Vec<Slot>> {
        match s {
            Slot::Obj(i) => match &self.objects[i] {
                Obj::Tuple(v) | Obj::List(v) => Some(v.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Records `func(*args)`; the pure containers are built directly instead.
    fn call(&mut self, func: Slot, args: Vec<Slot>) -> Result<Slot, PickleError> {
        let Slot::Global(func) = func else {
            return Err(self.bad("calls something that is not a global"));
        };
        let obj = match func {
            Global::OrderedDict => {
                let mut entries = Vec::new();
                if let Some(&pairs) = args.first() {
                    let pairs = self
                        .items(pairs)
                        .ok_or_else(|| self.bad("OrderedDict of something not a list"))?;
                    for p in pairs {
                        match self.items(p).as_deref() {
                            Some(&[k, v]) => entries.push((k, v)),
                            _ => return Err(self.bad("OrderedDict item is not a pair")),
                        }
                    }
                }
                Obj::Dict(entries)
            }
            Global::TorchSize => {
                let items = match args.first() {
                    None => Vec::new(),
                    Some(&s) => self
                        .items(s)
                        .ok_or_else(|| self.bad("torch.Size of something not a tuple"))?,
                };
                Obj::Tuple(items)
            }
            Global::Set => {
                let items = match args.first() {
                    None => Vec::new(),
                    Some(&s) => self
                        .items(s)
                        .ok_or_else(|| self.bad("set of something not a list"))?,
                };
                Obj::List(items)
            }
            Global::CodecsEncode => {
                let (text, encoding) = match args.as_slice() {
                    &[t, e] => (self.string(t), self.string(e)),
                    _ => (None, None),
                };
                match (text, encoding) {
                    (Some(t), Some("latin1" | "latin-1")) => {
                        let bytes: Option<Vec<u8>> =
                            t.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
                        Obj::Bytes(bytes.ok_or_else(|| self.bad("latin-1 text beyond U+00FF"))?)
                    }
                    _ => return Err(self.bad("_codecs.encode is only read for latin-1 bytes")),
                }
            }
            _ => Obj::Call {
                func,
                args,
                state: None,
            },
        };
        self.alloc(obj)
    }

    fn dict_mut(&mut self, target: Slot) -> Result<&mut Vec<(Slot, Slot)>, PickleError> {
        let err = self.bad("sets items on something that is not a dict");
        match target {
            Slot::Obj(i) => match &mut self.objects[i] {
                Obj::Dict(d) => Ok(d),
                _ => Err(err),
            },
            _ => Err(err),
        }
    }

    fn list_mut(&mut self, target: Slot) -> Result<&mut Vec<Slot>, PickleError> {
        let err = self.bad("appends to something that is not a list");
        match target {
            Slot::Obj(i) => match &mut self.objects[i] {
                Obj::List(l) => Ok(l),
                _ => Err(err),
            },
            _ => Err(err),
        }
    }

    fn set_items(&mut self, target: Slot, items: Vec<Slot>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.bad("SETITEMS with an odd number of values"));
        }
        self.spend(items.len())?;
        let d = self.dict_mut(target)?;
        for kv in items.chunks_exact(2) {
            d.push((kv[0], kv[1]));
        }
        Ok(())
    }

    /// Executes opcodes up to STOP and returns the object it leaves.
    fn run(&mut self) -> Result<Slot, PickleError> {
        let mut ops = 0usize;
        loop {
            ops += 1;
            if ops > MAX_OPS {
                return Err(self.limit(format!("more than {MAX_OPS} opcodes")));
            }
            self.op_at = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                return Err(self.bad("ends without a STOP opcode (truncated)"));
            };
            self.pos += 1;
            match op {
                // PROTO
                0x80 => {
                    let v = self.byte()?;
                    if v > 5 {
                        return Err(self.bad(format!("unknown pickle protocol {v}")));
                    }
                }
                // FRAME: only a read-ahead hint.
                0x95 => {
                    self.len_u64()?;
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => {
                    if self.marks.len() >= MAX_STACK {
                        return Err(self.limit(format!("more than {MAX_STACK} marks")));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?;
                    self.push(v)?;
                }
                b'N' => self.push(Slot::None)?,
                0x88 => self.push(Slot::Bool(true))?,
                0x89 => self.push(Slot::Bool(false))?,
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.push(Slot::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push(Slot::Int(i64::from(v)))?;
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.push(Slot::Int(i64::from(v)))?;
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        usize::from(self.byte()?)
                    } else {
                        let n = i32::from_le_bytes(self.le()?);
                        usize::try_from(n).map_err(|_| self.bad("negative LONG4 length"))?
                    };
                    let b = self.take(n)?;
                    match long_to_i64(b) {
                        Some(v) => self.push(Slot::Int(v))?,
                        None => self.push_obj(Obj::BigInt(b.to_vec()))?,
                    }
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.le()?);
                    self.push(Slot::Float(v))?;
                }
                // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINSTRING
                0x8c | b'X' | 0x8d | b'U' | b'T' => {
                    let n = match op {
                        0x8c | b'U' => usize::from(self.byte()?),
                        b'X' => self.len_u32()?,
                        b'T' => {
                            let n = i32::from_le_bytes(self.le()?);
                            usize::try_from(n).map_err(|_| self.bad("negative BINSTRING length"))?
                        }
                        _ => self.len_u64()?,
                    };
                    let b = self.take(n)?;
                    self.push_obj(Obj::Str(String::from_utf8_lossy(b).into_owned()))?;
                }
                // SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                b'C' | b'B' | 0x8e | 0x96 => {
                    let n = match op {
                        b'C' => usize::from(self.byte()?),
                        b'B' => self.len_u32()?,
                        _ => self.len_u64()?,
                    };
                    let b = self.take(n)?;
                    self.push_obj(Obj::Bytes(b.to_vec()))?;
                }
                b'}' => self.push_obj(Obj::Dict(Vec::new()))?,
                b']' | 0x8f => self.push_obj(Obj::List(Vec::new()))?,
                b')' => self.push_obj(Obj::Tuple(Vec::new()))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    let d = self.alloc(Obj::Dict(Vec::new()))?;
                    self.set_items(d, items)?;
                    self.push(d)?;
                }
                b'l' | 0x91 => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::List(items))?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::Tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return Err(self.bad("builds a tuple from an empty stack"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_obj(Obj::Tuple(items))?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = self.top()?;
                    self.set_items(target, vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.set_items(target, items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let target = self.top()?;
                    self.spend(1)?;
                    self.list_mut(target)?.push(v);
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.spend(items.len())?;
                    self.list_mut(target)?.extend(items);
                }
                b'q' => {
                    let k = self.byte()?;
                    self.memo_put(u32::from(k))?;
                }
                b'r' => {
                    let k = u32::from_le_bytes(self.le()?);
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = u32::try_from(self.memo.len())
                        .map_err(|_| self.limit("memo index overflows"))?;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.byte()?;
                    self.memo_get(u32::from(k))?;
                }
                b'j' => {
                    let k = u32::from_le_bytes(self.le()?);
                    self.memo_get(k)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(&module, &name)?;
                    self.push(Slot::Global(g))?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (self.string(module), self.string(name))
                    else {
                        return Err(self.bad("STACK_GLOBAL of something not two strings"));
                    };
                    let g = self.global(module, name)?;
                    self.push(Slot::Global(g))?;
                }
                b'i' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(&module, &name)?;
                    let args = self.pop_mark()?;
                    let v = self.call(Slot::Global(g), args)?;
                    self.push(v)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.bad("OBJ without a class"));
                    }
                    let args = items.split_off(1);
                    let v = self.call(items[0], args)?;
                    self.push(v)?;
                }
                // REDUCE, NEWOBJ: callable (or class) and an argument tuple.
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let args = match args {
                        Slot::Obj(i) => match &self.objects[i] {
                            Obj::Tuple(v) => v.clone(),
                            _ => return Err(self.bad("call arguments are not a tuple")),
                        },
                        _ => return Err(self.bad("call arguments are not a tuple")),
                    };
                    let v = self.call(func, args)?;
                    self.push(v)?;
                }
                // NEWOBJ_EX: keyword arguments are kept out of the record (none of the
                // allow-listed classes takes any).
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let args = self
                        .items(args)
                        .ok_or_else(|| self.bad("call arguments are not a tuple"))?;
                    let v = self.call(cls, args)?;
                    self.push(v)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    // BUILD on a container sets Python attributes (OrderedDict's `_metadata`),
                    // which carry no tensors; on a recorded call it is kept for the caller.
                    if let Slot::Obj(i) = self.top()? {
                        if let Obj::Call { state: s, .. } = &mut self.objects[i] {
                            *s = Some(state);
                        }
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.push_obj(Obj::Persistent(pid))?;
                }
                _ => {
                    let shown = if op.is_ascii_graphic() {
                        format!(" ('{}')", op as char)
                    } else {
                        String::new()
                    };
                    return Err(self.bad(format!(
                        "unsupported pickle opcode 0x{op:02x}{shown} (infoplane reads protocols 2 to 5 as torch.save writes them)"
                    )));
                }
            }
        }
    }

    /// Checks that expanding `s` into a tree stays within the depth, node and byte budgets. It
    /// allocates nothing and stops as soon as a budget runs out, so a shared-reference bomb
    /// costs at most [`MAX_TREE_NODES`] steps.
    fn measure(&self, s: Slot, depth: usize, budget: &mut Budget) -> Result<(), PickleError> {
        let limit = |what: String| PickleError::Limit { at: None, what };
        if depth > MAX_DEPTH {
            return Err(limit(format!(
                "objects nest deeper than {MAX_DEPTH} levels (or contain themselves)"
            )));
        }
        if budget.nodes == 0 {
            return Err(limit(format!(
                "more than {MAX_TREE_NODES} values once shared references are expanded"
            )));
        }
        budget.nodes -= 1;
        let Slot::Obj(i) = s else {
            return Ok(());
        };
        let bytes = match &self.objects[i] {
            Obj::Str(s) => s.len(),
            Obj::Bytes(b) | Obj::BigInt(b) => b.len(),
            Obj::List(v) | Obj::Tuple(v) => {
                for &x in v {
                    self.measure(x, depth + 1, budget)?;
                }
                0
            }
            Obj::Dict(entries) => {
                for &(k, v) in entries {
                    self.measure(k, depth + 1, budget)?;
                    self.measure(v, depth + 1, budget)?;
                }
                0
            }
            Obj::Call { args, state, .. } => {
                for &x in args.iter().chain(state) {
                    self.measure(x, depth + 1, budget)?;
                }
                0
            }
            Obj::Persistent(p) => {
                self.measure(*p, depth + 1, budget)?;
                0
            }
        };
        if bytes > budget.bytes {
            return Err(limit(format!(
                "more than {MAX_TREE_BYTES} bytes of strings once shared references are expanded"
            )));
        }
        budget.bytes -= bytes;
        Ok(())
    }

    /// Expands a measured slot into an owned tree.
    fn build(&self, s: Slot) -> Value {
        let o = match s {
            Slot::None => return Value::None,
            Slot::Bool(b) => return Value::Bool(b),
            Slot::Int(i) => return Value::Int(i),
            Slot::Float(f) => return Value::Float(f),
            Slot::Global(g) => return Value::Global(g),
            Slot::Obj(i) => &self.objects[i],
        };
        let seq = |v: &[Slot]| v.iter().map(|&x| self.build(x)).collect();
        match o {
            Obj::Str(s) => Value::Str(s.clone()),
            Obj::Bytes(b) => Value::Bytes(b.clone()),
            Obj::BigInt(b) => Value::BigInt(b.clone()),
            Obj::List(v) => Value::List(seq(v)),
            Obj::Tuple(v) => Value::Tuple(seq(v)),
            Obj::Dict(entries) => {
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                let mut seen: HashMap<Key, usize> = HashMap::new();
                for &(k, v) in entries {
                    let (k, v) = (self.build(k), self.build(v));
                    // Python keeps a repeated key in its first place with the last value.
                    match Key::of(&k) {
                        Some(key) => match seen.get(&key) {
                            Some(&at) => out[at].1 = v,
                            None => {
                                seen.insert(key, out.len());
                                out.push((k, v));
                            }
                        },
                        None => out.push((k, v)),
                    }
                }
                Value::Dict(out)
            }
            Obj::Call { func, args, state } => Value::Call {
                func: *func,
                args: seq(args),
                state: state.map(|s| Box::new(self.build(s))),
            },
            Obj::Persistent(p) => Value::Persistent(Box::new(self.build(*p))),
        }
    }
}

/// A dict key as Python hashes it, for the key kinds checkpoints use (`True == 1`, as in Python).
#[derive(PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Int(i64),
    Bytes(Vec<u8>),
    None,
}

impl Key {
    fn of(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Str(s) => Key::Str(s.clone()),
            Value::Int(i) => Key::Int(*i),
            Value::Bool(b) => Key::Int(i64::from(*b)),
            Value::Bytes(b) => Key::Bytes(b.clone()),
            Value::None => Key::None,
            _ => return None,
        })
    }
}

/// A LONG1/LONG4 payload (little-endian two's complement) as i64, if it fits.
fn long_to_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() {
        return Some(0);
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    let fill = if negative { 0xff } else { 0 };
    if b.len() > 8 {
        // Fits only if every extra byte is sign extension and the sign survives.
        if b[8..].iter().any(|&x| x != fill) || ((b[7] & 0x80 != 0) != negative) {
            return None;
        }
    }
    let mut w = [fill; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    Some(i64::from_le_bytes(w))
}

impl fmt::Display for Global {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A protocol-2 pickle: PROTO 2, `body`, STOP.
    fn p2(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0x80, 2];
        v.extend_from_slice(body);
        v.push(b'.');
        v
    }

    fn uni(s: &str) -> Vec<u8> {
        let mut v = vec![b'X'];
        v.extend_from_slice(&(s.len() as u32).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn scalars_decode() {
        assert_eq!(parse(&p2(b"N")).unwrap(), Value::None);
        assert_eq!(parse(&p2(&[0x88])).unwrap(), Value::Bool(true));
        assert_eq!(parse(&p2(&[0x89])).unwrap(), Value::Bool(false));
        assert_eq!(parse(&p2(b"K\xff")).unwrap(), Value::Int(255));
        assert_eq!(parse(&p2(b"M\x01\x02")).unwrap(), Value::Int(0x0201));
        assert_eq!(parse(&p2(b"J\xfe\xff\xff\xff")).unwrap(), Value::Int(-2));
        assert_eq!(parse(&p2(&[0x8a, 0])).unwrap(), Value::Int(0));
        assert_eq!(parse(&p2(&[0x8a, 1, 0xff])).unwrap(), Value::Int(-1));
        assert_eq!(
            parse(&p2(&[0x8a, 2, 0x00, 0x80])).unwrap(),
            Value::Int(-32768)
        );
        assert_eq!(
            parse(&p2(&[0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0x80, 0])).unwrap(),
            Value::BigInt(vec![0, 0, 0, 0, 0, 0, 0, 0x80, 0])
        );
        assert_eq!(
            parse(&p2(&[0x8a, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0])).unwrap(),
            Value::Int(1)
        );
        let mut g = vec![b'G'];
        g.extend_from_slice(&1.5f64.to_be_bytes());
        assert_eq!(parse(&p2(&g)).unwrap(), Value::Float(1.5));
    }

    #[test]
    fn strings_and_bytes_decode() {
        assert_eq!(
            parse(&p2(&uni("héllo"))).unwrap(),
            Value::Str("héllo".into())
        );
        assert_eq!(parse(&p2(b"\x8c\x02ab")).unwrap(), Value::Str("ab".into()));
        assert_eq!(
            parse(&p2(b"\x8d\x01\0\0\0\0\0\0\0z")).unwrap(),
            Value::Str("z".into())
        );
        assert_eq!(parse(&p2(b"U\x02ab")).unwrap(), Value::Str("ab".into()));
        assert_eq!(parse(&p2(b"T\x01\0\0\0a")).unwrap(), Value::Str("a".into()));
        assert_eq!(
            parse(&p2(b"C\x02\x00\xff")).unwrap(),
            Value::Bytes(vec![0, 255])
        );
        assert_eq!(
            parse(&p2(b"B\x01\0\0\0\x07")).unwrap(),
            Value::Bytes(vec![7])
        );
        // protocol 2's spelling of bytes: _codecs.encode('\x00\xff', 'latin1')
        let b = cat(&[
            b"c_codecs\nencode\n",
            &uni("\u{0}\u{ff}"),
            &uni("latin1"),
            b"\x86R",
        ]);
        assert_eq!(parse(&p2(&b)).unwrap(), Value::Bytes(vec![0, 255]));
    }

    #[test]
    fn containers_memo_and_marks() {
        // {'a': [1, 2], 'b': (3,), 'c': <memo of the list>}
        let body = cat(&[
            b"}q\x00(",
            &uni("a"),
            b"]q\x01(K\x01K\x02e",
            &uni("b"),
            b"K\x03\x85",
            &uni("c"),
            b"h\x01u",
        ]);
        let list = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(
            parse(&p2(&body)).unwrap(),
            Value::Dict(vec![
                (Value::Str("a".into()), list.clone()),
                (Value::Str("b".into()), Value::Tuple(vec![Value::Int(3)])),
                (Value::Str("c".into()), list),
            ])
        );
        // A list memoized while empty and filled afterwards is seen filled (shared, as in Python).
        let body = b"]\x94K\x01a\x85h\x00K\x02a0";
        let v = parse(&p2(body)).unwrap();
        assert_eq!(
            v,
            Value::Tuple(vec![Value::List(vec![Value::Int(1), Value::Int(2)])])
        );
        // TUPLE, TUPLE2/3, EMPTY_TUPLE, POP_MARK, SETITEM, APPEND, DUP, LIST, DICT, sets
        let body = cat(&[
            b"(",
            b"(K\x01K\x02K\x03K\x04t",
            b"(K\x09K\x09\x31",
            b"K\x01K\x02\x86K\x01K\x02K\x03\x87)",
            b"}",
            &uni("k"),
            b"Ns",
            b"]K\x05a2\x86",
            b"(K\x01K\x02l(",
            &uni("x"),
            b"K\x01d",
            b"\x8f(K\x07\x90",
            b"(K\x08\x91",
            b"t",
        ]);
        let five = Value::List(vec![Value::Int(5)]);
        assert_eq!(
            parse(&p2(&body)).unwrap(),
            Value::Tuple(vec![
                Value::Tuple((1..=4).map(Value::Int).collect()),
                Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
                Value::Tuple((1..=3).map(Value::Int).collect()),
                Value::Tuple(vec![]),
                Value::Dict(vec![(Value::Str("k".into()), Value::None)]),
                Value::Tuple(vec![five.clone(), five]),
                Value::List(vec![Value::Int(1), Value::Int(2)]),
                Value::Dict(vec![(Value::Str("x".into()), Value::Int(1))]),
                Value::List(vec![Value::Int(7)]),
                Value::List(vec![Value::Int(8)]),
            ])
        );
    }

    #[test]
    fn repeated_dict_keys_keep_first_place_and_last_value() {
        // {'a': 1, 'b': 2, 'a': 3, 1: 4, True: 5} == {'a': 3, 'b': 2, 1: 5}
        let body = cat(&[
            b"}(",
            &uni("a"),
            b"K\x01",
            &uni("b"),
            b"K\x02",
            &uni("a"),
            b"K\x03K\x01K\x04\x88K\x05u",
        ]);
        assert_eq!(
            parse(&p2(&body)).unwrap(),
            Value::Dict(vec![
                (Value::Str("a".into()), Value::Int(3)),
                (Value::Str("b".into()), Value::Int(2)),
                (Value::Int(1), Value::Int(5)),
            ])
        );
    }

    #[test]
    fn frames_proto_4_and_stack_global() {
        // PROTO 4, FRAME, STACK_GLOBAL 'collections' 'OrderedDict', EMPTY_TUPLE, REDUCE, MEMOIZE
        let mut v = vec![0x80, 4, 0x95];
        v.extend_from_slice(&40u64.to_le_bytes());
        v.extend_from_slice(b"\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94");
        v.extend_from_slice(b"\x8c\x01aK\x01s.");
        assert_eq!(
            parse(&v).unwrap(),
            Value::Dict(vec![(Value::Str("a".into()), Value::Int(1))])
        );
    }

    #[test]
    fn torch_calls_are_recorded_not_run() {
        // torch._utils._rebuild_tensor_v2(persistent('storage', FloatStorage, '0', 'cpu', 4),
        //   0, (2, 2), (2, 1), False, OrderedDict())
        let body = cat(&[
            b"ctorch._utils\n_rebuild_tensor_v2\n(",
            b"(",
            &uni("storage"),
            b"ctorch\nFloatStorage\n",
            &uni("0"),
            &uni("cpu"),
            b"K\x04tQ",
            b"K\x00K\x02K\x02\x86K\x02K\x01\x86\x89",
            b"ccollections\nOrderedDict\n)R",
            b"tR",
            b"}b",
        ]);
        let v = parse(&p2(&body)).unwrap();
        let Value::Call { func, args, state } = v else {
            panic!("{v:?}")
        };
        assert_eq!(func, Global::RebuildTensorV2);
        assert_eq!(state, Some(Box::new(Value::Dict(vec![]))));
        assert_eq!(
            args[0],
            Value::Persistent(Box::new(Value::Tuple(vec![
                Value::Str("storage".into()),
                Value::Global(Global::Storage {
                    dtype: DType::F32,
                    untyped: false
                }),
                Value::Str("0".into()),
                Value::Str("cpu".into()),
                Value::Int(4),
            ])))
        );
        assert_eq!(args[5], Value::Dict(vec![]));
        assert_eq!(
            Global::RebuildTensorV2.path(),
            "torch._utils._rebuild_tensor_v2"
        );
    }

    #[test]
    fn foreign_globals_are_refused_by_name() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                cat(&[b"cos\nsystem\n", &uni("echo hi"), b"\x85R"]),
                "os.system",
            ),
            (b"cposix\nsystem\n".to_vec(), "posix.system"),
            (b"cbuiltins\neval\n".to_vec(), "builtins.eval"),
            (b"c__builtin__\neval\n".to_vec(), "__builtin__.eval"),
            (
                cat(&[&uni("subprocess"), &uni("Popen"), b"\x93"]),
                "subprocess.Popen",
            ),
            // INST names its class inline (protocol 0/1).
            (b"(S'x'\nios\nsystem\n".to_vec(), "os.system"),
            (b"(ios\nsystem\n".to_vec(), "os.system"),
            (b"ctorch\nload\n".to_vec(), "torch.load"),
            (
                b"ctorch._utils\n_rebuild_sparse_tensor\n".to_vec(),
                "torch._utils._rebuild_sparse_tensor",
            ),
        ];
        for (body, name) in cases {
            let e = parse(&p2(&body)).unwrap_err();
            let msg = e.to_string();
            if body.starts_with(b"(S") {
                // protocol-0 STRING is not read at all, which stops the pickle first.
                assert!(matches!(e, PickleError::Malformed { .. }), "{msg}");
                continue;
            }
            assert_eq!(e, PickleError::Refused(name.to_string()));
            assert_eq!(
                msg,
                format!(
                    "refused pickle global '{name}' (infoplane never executes code from files)"
                )
            );
        }
        // Control characters from the file never reach the one-line message.
        let e = parse(&p2(&cat(&[&uni("os\nx\r"), &uni("system"), b"\x93"]))).unwrap_err();
        assert_eq!(e, PickleError::Refused("os?x?.system".into()));
    }

    #[test]
    fn lying_lengths_and_truncation_are_refused() {
        for body in [
            &b"X\xff\xff\xff\xffab"[..],
            b"\x8d\xff\xff\xff\xff\xff\xff\xff\x7fab",
            b"B\x00\x00\x00\x10ab",
            b"T\xff\xff\xff\xff",
            b"\x8b\x00\x00\x00\x40",
            b"J\x01",
        ] {
            let e = parse(&p2(body)).unwrap_err();
            assert!(matches!(e, PickleError::Malformed { .. }), "{e}");
        }
        let e = parse(&[0x80, 2, b'N']).unwrap_err();
        assert!(e.to_string().contains("without a STOP"), "{e}");
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x80, 9, b'N', b'.']).is_err());
    }

    #[test]
    fn structural_errors_are_errors() {
        for body in [
            &b"0"[..],                            // pop from empty
            b"h\x05",                             // memo never stored
            b"K\x01K\x02s",                       // SETITEM with no dict
            b"K\x01K\x02a",                       // APPEND to an int
            b"u",                                 // SETITEMS without a mark
            b"}(K\x01u",                          // odd SETITEMS
            b"K\x01)R",                           // call of an int
            b"ccollections\nOrderedDict\nK\x01R", // args not a tuple
            b"\x85",                              // TUPLE1 of nothing
            b"(\x86",                             // TUPLE2 across a mark
            b"\xff",                              // unknown opcode
            b"I01\n",                             // protocol-0 INT is not read
            b"(.",                                // STOP with only a mark
        ] {
            let r = parse(&p2(body));
            assert!(r.is_err(), "{body:?} gave {r:?}");
        }
    }

    #[test]
    fn deep_nesting_and_shared_blowups_stop_at_limits() {
        // 1000 nested lists: fine to decode, too deep for the tree.
        let mut body = vec![b']'; 1000];
        body.extend(std::iter::repeat_n(b'a', 999));
        let e = parse(&p2(&body)).unwrap_err();
        assert!(e.to_string().contains("nest deeper"), "{e}");
        // A list that contains itself.
        let e = parse(&p2(b"]q\x00h\x00a")).unwrap_err();
        assert!(e.to_string().contains("contain themselves"), "{e}");
        // Each level holds the previous one twice: 2^60 nodes if expanded.
        let mut body = b"]q\x00".to_vec();
        for i in 0..60u8 {
            body.extend_from_slice(&[b'(', b'h', i, b'h', i, b'l', b'q', i + 1]);
        }
        let e = parse(&p2(&body)).unwrap_err();
        assert!(e.to_string().contains("shared references"), "{e}");
        // One 100 000-item tuple handed to torch.Size again and again.
        let mut body = b"(".to_vec();
        body.extend(std::iter::repeat_n(&b"N"[..], 100_000).flatten());
        body.extend_from_slice(b"tq\x00");
        for _ in 0..100 {
            body.extend_from_slice(b"ctorch\nSize\nh\x00\x85R0");
        }
        let e = parse(&p2(&body)).unwrap_err();
        assert!(e.to_string().contains("container items"), "{e}");
        // Marks alone cannot grow without bound either.
        let body = vec![b'('; MAX_STACK + 1];
        let e = parse(&p2(&body)).unwrap_err();
        assert!(matches!(e, PickleError::Limit { .. }), "{e}");
    }

    #[test]
    fn no_mutation_or_truncation_panics() {
        // A tensor record as torch writes it, inside a dict, memoized.
        let body = cat(&[
            b"}q\x00(",
            &uni("t"),
            b"q\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((",
            &uni("storage"),
            b"q\x03ctorch\nFloatStorage\nq\x04",
            &uni("0"),
            &uni("cpu"),
            b"K\x04tq\x05QK\x00K\x02K\x02\x86K\x02K\x01\x86\x89",
            b"ccollections\nOrderedDict\nq\x06)Rq\x07tq\x08Rq\x09",
            &uni("u"),
            b"h\x02(h\x05K\x01K\x01\x85K\x01\x85\x89h\x06)RtRu",
        ]);
        let good = p2(&body);
        assert!(matches!(parse(&good).unwrap(), Value::Dict(d) if d.len() == 2));
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
        }
        let mut bytes = good.clone();
        for i in 0..bytes.len() {
            for v in 0..=255u8 {
                bytes[i] = v;
                let _ = parse(&bytes);
            }
            bytes[i] = good[i];
        }
    }

    #[test]
    fn longs_convert_exactly() {
        assert_eq!(long_to_i64(&[]), Some(0));
        assert_eq!(long_to_i64(&[0x80]), Some(-128));
        assert_eq!(long_to_i64(&[0xff, 0x7f]), Some(32767));
        assert_eq!(long_to_i64(&[0xff; 8]), Some(-1));
        assert_eq!(long_to_i64(&[0xff; 9]), Some(-1));
        assert_eq!(
            long_to_i64(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0xff]),
            Some(i64::MIN)
        );
        assert_eq!(long_to_i64(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0x00]), None);
        assert_eq!(long_to_i64(&[0, 0, 0, 0, 0, 0, 0, 0, 1]), None);
    }
}
