#!/usr/bin/env python3
"""Writes the torch.save fixtures of tests/torch_files.rs into tests/fixtures/torch/.

Run from the repository root (needs torch and numpy; CI does not run it):
    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python tests/reference/make_torch_fixtures.py

Readable checkpoints are written by torch.save itself (some to a path, so their records sit under
the file stem, some to a buffer, so under "archive/"); a few are then rewritten on purpose
(big-endian, deflate-compressed). Beside each, <name>.json lists every tensor as infoplane names it
(dict keys and list indices joined with "."; a bare tensor is "tensor"), in pickle order, with its
dtype, shape and values in C order as torch itself reports them (float16/bfloat16 as their exact
float64 values), so the Rust test compares against torch's own numbers.

The hostile files (no JSON) hold pickles that name os.system or builtins.eval, lying lengths,
deep or exponentially shared nesting, views past their storage, truncated archives and the legacy
format.
"""

import collections
import io
import json
import os
import pickle
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "torch"))
DATE = (2020, 1, 1, 0, 0, 0)

DTYPES = {
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.float32: "float32",
    torch.float64: "float64",
    torch.int8: "int8",
    torch.int16: "int16",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.uint8: "uint8",
    torch.uint16: "uint16",
    torch.bool: "bool",
}


def flatten(obj, name, out):
    """infoplane's naming rule, applied to the Python object that was saved."""
    if isinstance(obj, torch.Tensor):
        out.append((name if name is not None else "tensor", obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, (str, int)) and not isinstance(k, bool):
                flatten(v, str(k) if name is None else f"{name}.{k}", out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, str(i) if name is None else f"{name}.{i}", out)


def expected(obj):
    found = []
    flatten(obj, None, found)
    tensors = []
    for name, t in found:
        t = t.detach()
        if t.dtype.is_floating_point:
            values = t.double().reshape(-1).tolist()
        elif t.dtype == torch.uint16:
            values = t.to(torch.int32).reshape(-1).tolist()
        else:
            values = [int(v) for v in t.reshape(-1).tolist()]
        tensors.append(
            {"name": name, "dtype": DTYPES[t.dtype], "shape": list(t.shape), "values": values}
        )
    return {"tensors": tensors}


def write_json(name, obj):
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(expected(obj), f, separators=(",", ":"))
        f.write("\n")


def save_path(name, obj, **kw):
    """torch.save to a path: the records sit under the file stem."""
    torch.save(obj, os.path.join(OUT, name + ".pt"), **kw)
    check(name, obj)
    write_json(name, obj)


def save_buffer(name, obj, **kw):
    """torch.save to a buffer: the records sit under "archive/"."""
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    with open(os.path.join(OUT, name + ".pt"), "wb") as f:
        f.write(buf.getvalue())
    check(name, obj, kw.get("pickle_protocol", 2))
    write_json(name, obj)
    return buf.getvalue()


def check(name, obj, protocol=2):
    """The file loads back in torch to the same tensors. torch's weights_only unpickler does not
    know protocol 4's FRAME opcode, so those (our own, trusted) files load the ordinary way."""
    back = torch.load(os.path.join(OUT, name + ".pt"), weights_only=protocol <= 3)
    assert json.dumps(expected(back)) == json.dumps(expected(obj)), name


def rewrite(src, dst, transform):
    """Copies a zip member by member; transform(name, bytes) -> (bytes, compress_type)."""
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(
        os.path.join(OUT, dst + ".pt"), "w"
    ) as zout:
        for info in zin.infolist():
            data, compress = transform(info.filename, zin.read(info.filename))
            if data is None:
                continue
            out = zipfile.ZipInfo(info.filename, date_time=DATE)
            out.compress_type = compress
            zout.writestr(out, data)


def write_zip(name, members, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(os.path.join(OUT, name + ".pt"), "w") as z:
        for member, data in members:
            info = zipfile.ZipInfo(member, date_time=DATE)
            info.compress_type = compress
            z.writestr(info, data)


class FakeStorage:
    """Pickled as torch's persistent id ('storage', class, key, location, numel)."""

    def __init__(self, key, cls, numel):
        self.key, self.cls, self.numel = key, cls, numel


class FakeTensor:
    """Pickled exactly as a tensor is, but with whatever view the test wants."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def fake_checkpoint(name, obj, storages):
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(obj)
    members = [("archive/data.pkl", buf.getvalue()), ("archive/byteorder", b"little")]
    members += [(f"archive/data/{k}", v) for k, v in storages]
    members.append(("archive/version", b"3\n"))
    write_zip(name, members)


class Evil:
    """What a malicious checkpoint really contains: a __reduce__ that runs a shell command."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def hostile_pickle(name, pkl, compress=zipfile.ZIP_STORED):
    write_zip(
        name,
        [("archive/data.pkl", pkl), ("archive/byteorder", b"little"), ("archive/version", b"3\n")],
        compress,
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".pt", ".json")):
            os.remove(os.path.join(OUT, f))
    torch.manual_seed(0)

    # The canonical dump: hidden states [layers, T, d], token ids [T], sequence lengths [S].
    # Values are multiples of 1/8 so the JSON stays small; full-precision values are below.
    layers = [(torch.randn(40, 16) * 8).round() / 8 for _ in range(3)]
    ids = torch.randint(0, 50, (40,), dtype=torch.int64)
    lens = torch.tensor([15, 25], dtype=torch.int64)
    stacked = {"hidden_states": torch.stack(layers), "input_ids": ids, "seq_lens": lens}
    dict_stacked = save_buffer("dict_stacked", stacked)
    save_path("dict_layers", {"hidden_states": layers, "input_ids": ids, "seq_lens": lens})
    full = torch.randn(3, 40, 16)
    save_path(
        "bf16",
        {"hidden_states": full.to(torch.bfloat16), "input_ids": ids, "seq_lens": lens},
    )
    save_buffer(
        "f16", {"hidden_states": full.to(torch.float16), "input_ids": ids, "seq_lens": lens}
    )
    save_path("bare", torch.randn(4, 6))
    save_buffer("tuple", (torch.randn(2, 3), torch.arange(5, dtype=torch.int32), 7, "text", None))

    # A state_dict: an OrderedDict with a `_metadata` attribute, float64 weights and a buffer.
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3)).double()
    model.register_buffer("steps", torch.tensor([3], dtype=torch.int64))
    save_path("state_dict", model.state_dict())
    # Parameters themselves (torch._utils._rebuild_parameter), one tied to two names.
    w = torch.nn.Parameter(torch.randn(3, 2))
    b = torch.nn.Parameter(torch.zeros(2))
    save_buffer("parameters", {"embed.weight": w, "lm_head.weight": w, "b": b})

    # Views: transposed, sliced with steps, offset into a shared storage, stride 0, a column, a
    # block (contiguous rows of 4), a 0-d element, a strided integer view and an empty slice; all
    # views of `base` share its storage.
    base = torch.randn(6, 8)
    views = {
        "base": base,
        "transposed": base.t(),
        "sliced": base[1:5:2, ::3],
        "offset": base.view(-1)[10:30],
        "expanded": torch.randn(4).expand(3, 4),
        "column": base[:, 5],
        "block": base[1:4, 2:6],
        "scalar": base[2, 3],
        "ids_view": torch.arange(20, dtype=torch.int64)[3::4],
        "empty": base[:, 2:2],
    }
    views_bytes = save_buffer("views", views)

    # Nested containers, integer keys, dotted keys, non-tensor leaves, every integer dtype.
    nested = {
        "model": {
            "blocks": [{"w": torch.randn(2, 2)}, {"w": torch.randn(2, 2)}],
            "blocks.3.hook_resid_post": torch.randn(2, 4),
        },
        5: torch.randn(3),
        "meta": {"step": 5, "name": "run", "lr": 0.1, "flags": {"a", "b"}},
        "ints": {
            "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
            "i16": torch.tensor([-32768, 2, 32767], dtype=torch.int16),
            "i32": torch.tensor([-(2**31), 3, 2**31 - 1], dtype=torch.int32),
            "i64": torch.tensor([-(2**63), 4, 2**63 - 1], dtype=torch.int64),
            "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
        },
    }
    save_path("nested", nested)
    # The newest pickle protocols: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL.
    save_buffer("protocol4", nested, pickle_protocol=4)
    save_buffer("protocol5", views, pickle_protocol=5)
    # uint16 goes through torch._utils._rebuild_tensor_v3 with an untyped storage.
    save_buffer("uint16", {"u16": torch.tensor([0, 1, 65535], dtype=torch.int32).to(torch.uint16)})

    # Big-endian: the same tensors with `byteorder` = big and every element byte-swapped.
    small = {
        "f32": torch.randn(2, 3),
        "f64": torch.randn(4).double(),
        "bf16": torch.randn(3).to(torch.bfloat16),
        "i64": torch.tensor([1, -2, 3]),
        "i16": torch.tensor([-300, 7], dtype=torch.int16),
    }
    buf = io.BytesIO()
    torch.save(small, buf)
    sizes = {str(i): t.element_size() for i, t in enumerate(small.values())}

    def to_big(name, data):
        if name.endswith("/byteorder"):
            return b"big", zipfile.ZIP_STORED
        key = name.rsplit("/", 1)[-1]
        if "/data/" in name and key in sizes:
            arr = np.frombuffer(data, dtype=f"<u{sizes[key]}")
            return arr.byteswap().tobytes(), zipfile.ZIP_STORED
        return data, zipfile.ZIP_STORED

    rewrite(buf.getvalue(), "bigendian", to_big)
    write_json("bigendian", small)

    # Deflate-compressed members (torch writes them stored): read by decompressing and skipping.
    rewrite(views_bytes, "compressed", lambda n, d: (d, zipfile.ZIP_DEFLATED))
    write_json("compressed", views)

    # ---- hostile and broken files: no JSON, tests/torch_files.rs says what each must report.
    # GLOBAL os.system + REDUCE, written by hand.
    hostile_pickle(
        "os_system", b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
    )
    # STACK_GLOBAL builtins.eval (protocol 4 spelling), written by hand.
    hostile_pickle(
        "builtins_eval",
        b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x0a__import__\x94\x85\x94R\x94.",
    )
    # What pickle itself writes for a malicious __reduce__, after a legitimate tensor.
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(
        {"ok": FakeTensor(FakeStorage("0", torch.FloatStorage, 2), 0, (2,), (1,)), "evil": Evil()}
    )
    write_zip(
        "posix_system",
        [
            ("archive/data.pkl", buf.getvalue()),
            ("archive/data/0", b"\0" * 8),
            ("archive/version", b"3\n"),
        ],
    )
    # BINUNICODE claiming 4 GiB of text in a 10-byte pickle.
    hostile_pickle("huge_binunicode", b"\x80\x02X\xf0\xff\xff\xffabc.")
    # 100 000 nested lists (deflated to a few hundred bytes).
    deep = b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."
    hostile_pickle("deep_nesting", deep, zipfile.ZIP_DEFLATED)
    # Each list holds the previous one twice: 2^60 values once references are expanded.
    # level i+1 = MARK, BINGET i, BINGET i, LIST, BINPUT i+1
    levels = b"".join(bytes([40, 104, i, 104, i, 108, 113, i + 1]) for i in range(60))
    bomb = b"\x80\x02]q\x00" + levels + b"."
    hostile_pickle("memo_bomb", bomb)
    # A checkpoint cut short: no zip central directory.
    with open(os.path.join(OUT, "truncated.pt"), "wb") as f:
        f.write(dict_stacked[: len(dict_stacked) * 3 // 5])
    # Storage member shorter than its record says.
    rewrite(
        dict_stacked,
        "short_storage",
        lambda n, d: (d[: len(d) // 2] if n.endswith("/data/0") else d, zipfile.ZIP_STORED),
    )
    # Storage member missing.
    rewrite(
        dict_stacked,
        "missing_storage",
        lambda n, d: (None if n.endswith("/data/1") else d, zipfile.ZIP_STORED),
    )
    # A view of 10 elements over a 4-element storage, and one with a negative stride.
    four = FakeStorage("0", torch.FloatStorage, 4)
    sixteen = [("0", b"\0" * 16)]
    fake_checkpoint("view_out_of_bounds", {"x": FakeTensor(four, 0, (10,), (1,))}, sixteen)
    fake_checkpoint("offset_out_of_bounds", {"x": FakeTensor(four, 3, (2,), (1,))}, sixteen)
    fake_checkpoint("negative_stride", {"x": FakeTensor(four, 3, (4,), (-1,))}, sixteen)
    # The format before PyTorch 1.6.
    legacy = os.path.join(OUT, "legacy.pt")
    torch.save(torch.arange(3.0), legacy, _use_new_zipfile_serialization=False)

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"torch {torch.__version__}: wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
