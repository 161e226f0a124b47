#!/usr/bin/env python3
"""Writes the fixtures of tests/safetensors_tsv_raw.rs: safetensors, Embedding Projector TSV and
raw float32 files, good and malformed, with the exact values the good ones hold.

Run from the repository root (needs numpy and the safetensors package, no torch):
    pip install safetensors numpy
    python3 tests/reference/make_safetensors_tsv_fixtures.py

tests/fixtures/safetensors/
    hidden_f32.safetensors   hidden_states F32 [3, 40, 16], input_ids I64 [40], seq_lens I64 [2],
                             __metadata__; written by safetensors.numpy.save_file
    hidden_f16.safetensors   the same with hidden_states as F16 (numpy's round to nearest even)
    hidden_bf16.safetensors  the same with hidden_states as BF16, written by hand (numpy has no
                             bfloat16): each float32 is rounded to nearest even on its top 16 bits,
                             and the header lists the tensors in another order than their data
    per_layer.safetensors    hidden_states.0 .. hidden_states.2 F32 [40, 16] with the same values,
                             input_ids, seq_lens
    expected.json            per file: __metadata__ and, in data order, each tensor's name, dtype,
                             shape and exact values (f16/bf16 as the exact float64 they denote)
    bad_*.safetensors        one malformed file per problem (see BAD below)
tests/fixtures/tsv/
    vectors.tsv              30 x 5 numbers, no header
    metadata.tsv             header "label<TAB>colour" and 30 rows
    labels.tsv               one column of 30 labels, no header, CRLF line ends
    vectors.bytes            vectors.tsv's numbers as raw little-endian float32 (shape [30, 5])
    expected.json            the values of all of these
    bad_*.tsv, empty.tsv, bad_length.bytes   malformed files
"""

import json
import os
import struct

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
ST = os.path.join(ROOT, "safetensors")
TSV = os.path.join(ROOT, "tsv")


def f32_bits(bits):
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def bf16_round(x):
    """float32 -> bfloat16 bits, round to nearest, ties to even (no NaN in these fixtures)."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    bias = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + bias) >> 16).astype(np.uint16)


def bf16_value(b):
    return (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def hand_made(path, tensors, header_order, metadata):
    """Writes a safetensors file: data in `tensors` order, header keys in `header_order`."""
    entries, data, at = {}, b"", 0
    for name, dtype, shape, raw in tensors:
        entries[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        data += raw
        at += len(raw)
    header = {"__metadata__": metadata}
    for name in header_order:
        header[name] = entries[name]
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the library pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def raw_file(path, header_bytes, data=b""):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)) + header_bytes + data)


def describe(path, values):
    """Expected entry of a good file: tensors in data order, as the header says."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    metadata = header.pop("__metadata__", {})
    names = sorted(header, key=lambda k: tuple(header[k]["data_offsets"]))
    # The official reader must accept the file too.
    with safe_open(path, framework="np") as f:
        assert sorted(f.keys()) == sorted(names), path
        assert f.metadata() == metadata, path
        assert f.get_tensor("input_ids").tolist() == values["input_ids"], path
    return {
        "metadata": metadata,
        "tensors": [
            {
                "name": k,
                "dtype": header[k]["dtype"],
                "shape": header[k]["shape"],
                "values": values[k],
            }
            for k in names
        ],
    }


def safetensors_fixtures():
    os.makedirs(ST, exist_ok=True)
    rng = np.random.default_rng(20260214)
    hidden = rng.standard_normal((3, 40, 16)).astype(np.float32)
    # Values that exercise the rounding: f16 max and subnormal, bf16 ties (down to even, up to
    # even), just below a tie, signed zero, and values f16 flushes to zero.
    special = [1.0, -2.0, 65504.0, 1e-6, f32_bits(0x3F808000), f32_bits(0x3F818000),
               f32_bits(0x3F80FFFF), -0.0, 1e-8, 0.1, -3.0e4, 2.0 ** -14, 1.0 / 3.0, 1234.5678,
               -7.5e-5, 0.5]
    hidden[0, 0, :] = np.array(special, dtype=np.float32)
    input_ids = rng.integers(0, 50000, size=40, dtype=np.int64)
    seq_lens = np.array([15, 25], dtype=np.int64)
    ids = {"input_ids": input_ids.tolist(), "seq_lens": seq_lens.tolist()}
    meta = {"format": "pt", "model": "tiny-test", "layers": "3"}
    expected = {}

    path = os.path.join(ST, "hidden_f32.safetensors")
    save_file({"hidden_states": hidden, "input_ids": input_ids, "seq_lens": seq_lens}, path,
              metadata=meta)
    expected["hidden_f32.safetensors"] = describe(
        path, {**ids, "hidden_states": hidden.astype(np.float64).ravel().tolist()})

    path = os.path.join(ST, "hidden_f16.safetensors")
    half = hidden.astype(np.float16)
    assert np.isfinite(half).all()
    save_file({"hidden_states": half, "input_ids": input_ids, "seq_lens": seq_lens}, path,
              metadata={**meta, "dtype": "float16"})
    expected["hidden_f16.safetensors"] = describe(
        path, {**ids, "hidden_states": half.astype(np.float64).ravel().tolist()})

    path = os.path.join(ST, "hidden_bf16.safetensors")
    bf = bf16_round(hidden)
    assert bf[0, 0, 4] == 0x3F80 and bf[0, 0, 5] == 0x3F82 and bf[0, 0, 6] == 0x3F81
    hand_made(path,
              [("hidden_states", "BF16", hidden.shape, bf.astype("<u2").tobytes()),
               ("input_ids", "I64", input_ids.shape, input_ids.astype("<i8").tobytes()),
               ("seq_lens", "I64", seq_lens.shape, seq_lens.astype("<i8").tobytes())],
              ["seq_lens", "input_ids", "hidden_states"], {**meta, "dtype": "bfloat16"})
    expected["hidden_bf16.safetensors"] = describe(
        path, {**ids, "hidden_states": bf16_value(bf).ravel().tolist()})

    path = os.path.join(ST, "per_layer.safetensors")
    layers = {f"hidden_states.{i}": hidden[i] for i in range(3)}
    save_file({**layers, "input_ids": input_ids, "seq_lens": seq_lens}, path,
              metadata={"layout": "per-layer"})
    expected["per_layer.safetensors"] = describe(
        path, {**ids, **{k: v.astype(np.float64).ravel().tolist() for k, v in layers.items()}})

    with open(os.path.join(ST, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")

    def entry(dtype, shape, begin, end):
        return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}

    def header(**tensors):
        return json.dumps(tensors).encode()

    # BAD: one problem per file.
    with open(os.path.join(ST, "bad_header_past_end.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1000) + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
    with open(os.path.join(ST, "bad_header_2pow63.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 2 ** 63) + b"{}")
    raw_file(os.path.join(ST, "bad_overlap.safetensors"),
             header(a=entry("F32", [4], 0, 16), b=entry("F32", [4], 8, 24)), bytes(24))
    raw_file(os.path.join(ST, "bad_offsets_past_end.safetensors"),
             header(a=entry("F32", [1000000000], 0, 4000000000)), bytes(16))
    raw_file(os.path.join(ST, "bad_dtype_f8.safetensors"),
             header(a=entry("F8_E4M3", [4], 0, 4)), bytes(4))
    raw_file(os.path.join(ST, "bad_shape_mismatch.safetensors"),
             header(a=entry("F32", [3, 4], 0, 40)), bytes(40))
    raw_file(os.path.join(ST, "bad_json.safetensors"),
             b'{"a": {"dtype": "F32", "shape": [2], ', bytes(8))
    with open(os.path.join(ST, "hidden_f32.safetensors"), "rb") as f:
        good = f.read()
    with open(os.path.join(ST, "bad_truncated.safetensors"), "wb") as f:
        f.write(good[:-100])


def tsv_fixtures():
    os.makedirs(TSV, exist_ok=True)
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((30, 5))
    vectors[0] = [3.0, -0.0, 1e-05, 2.5e10, -1.0]
    texts = [[f"{v:.6g}" for v in row] for row in vectors]
    values = [[float(t) for t in row] for row in texts]
    with open(os.path.join(TSV, "vectors.tsv"), "w", newline="") as f:
        f.writelines("\t".join(row) + "\n" for row in texts)
    with open(os.path.join(TSV, "vectors.bytes"), "wb") as f:
        f.write(np.array(values, dtype="<f4").tobytes())
    with open(os.path.join(TSV, "bad_length.bytes"), "wb") as f:
        f.write(np.array(values, dtype="<f4").tobytes()[:-2])

    labels = [f"tok{i % 7}" for i in range(30)]
    colours = [["red", "green", "blue"][i % 3] for i in range(30)]
    with open(os.path.join(TSV, "metadata.tsv"), "w", newline="") as f:
        f.write("label\tcolour\n")
        f.writelines(f"{a}\t{b}\n" for a, b in zip(labels, colours))
    words = [f"w{(i * 11) % 13}" for i in range(30)]
    with open(os.path.join(TSV, "labels.tsv"), "w", newline="") as f:
        f.writelines(w + "\r\n" for w in words)

    def ids(col):
        first = {}
        return [first.setdefault(v, len(first)) for v in col]

    expected = {
        "vectors": {"shape": [30, 5], "values": sum(values, [])},
        "raw": {"shape": [30, 5],
                "values": np.array(values, dtype=np.float32).astype(np.float64).ravel().tolist()},
        "metadata": {"columns": ["label", "colour"], "label": labels, "colour": colours,
                     "label_ids": ids(labels), "colour_ids": ids(colours)},
        "labels": {"columns": ["label"], "label": words, "label_ids": ids(words)},
    }
    with open(os.path.join(TSV, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")

    rows4 = [["%.3f" % v for v in rng.standard_normal(4)] for _ in range(20)]
    ragged = ["\t".join(r) for r in rows4]
    ragged[16] += "\t0.5"  # line 17 has 5 values
    with open(os.path.join(TSV, "bad_ragged.tsv"), "w", newline="") as f:
        f.writelines(r + "\n" for r in ragged)
    bad = [list(r) for r in rows4[:5]]
    bad[2][1] = "abc"  # line 3, column 2
    with open(os.path.join(TSV, "bad_nonnumeric.tsv"), "w", newline="") as f:
        f.writelines("\t".join(r) + "\n" for r in bad)
    open(os.path.join(TSV, "empty.tsv"), "wb").close()


if __name__ == "__main__":
    safetensors_fixtures()
    tsv_fixtures()
