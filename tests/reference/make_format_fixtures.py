#!/usr/bin/env python3
"""Writes one small dataset in every layout and numpy encoding infoplane reads, plus the reference
package's numbers for it, into tests/fixtures/formats/.

Run from the repository root (needs numpy, scipy, safetensors and soft-entropy 0.1.5, no torch):
    python3 tests/reference/make_format_fixtures.py

The dataset: 3 layers, 4 sequences, d = 16, a 12-token vocabulary, a binary `preference` label and
a 5-valued `pos` label per token. Written as: a stored npz, a deflated npz, an npz whose labels are text (str and bytes arrays), an npz with the hidden
states in Fortran order and big-endian, per-layer .npy files (format versions 1, 2 and 3) with ids
and labels in their own files, a float16 npz, a stacked and a per-layer safetensors file. Layer 0 alone is
also written as Embedding Projector TSV (vectors + metadata with text labels), raw float32 bytes,
and a plain-rows npz. Plain rows with class labels (no token ids) are written as rows.npz.
The torch.save versions are written by make_format_fixtures_torch.py from dump.npz. reference.json holds the reference accumulator's results (orders 1 and 2 plus
the named label sets, m = 20, seed 3, find-eps) for the float32 data, the float16-rounded data and
the rows.
"""

import json
import os
import sys

import numpy as np
from numpy.lib import format as npformat

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402

REF = reference.load()
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "formats")
M, SEED = 20, 3


encode = reference.encode_ngram


def reference_results(hs, ids, lens, extra, orders, V):
    """The reference accumulator fed as llm.py feeds it, plus extra label sets at the same positions."""
    n = max(orders) if orders else 0
    labels, rows = {}, []
    s = 0
    names = {1: "unigram", 2: "bigram", 3: "trigram"}
    for L in lens:
        start, end = (n - 1, L - n) if orders else (0, L)
        if end > start:
            rows.extend(range(s + start, s + end))
            seq = ids[s:s + L]
            for k in orders:
                labels.setdefault(f"input_{names[k]}", []).append(encode(seq, start, end, k, V, False))
                labels.setdefault(f"output_{names[k]}", []).append(encode(seq, start, end, k, V, True))
        s += L
    flat = {k: np.concatenate(v) for k, v in labels.items()}
    rows = np.array(rows)
    for name, values in extra.items():
        flat[name] = values[rows]
    per_layer = []
    for layer in hs:
        acc = REF.accumulator.SoftEntropyAccumulator(d=layer.shape[-1], n_bins=M, seed=SEED, backend="numpy")
        acc.update(layer[rows].astype(np.float64), labels=flat)
        per_layer.append(acc.results())
    blocks = per_layer[1:] or per_layer
    mean = {k: sum(l[k] for l in blocks) / len(blocks) for k in blocks[0]}
    return {"per_layer": per_layer, "mean": mean}


def write_npy(path, arr, version):
    with open(path, "wb") as f:
        npformat.write_array(f, arr, version=version)


def main():
    os.makedirs(OUT, exist_ok=True)
    per_layer_dir = os.path.join(OUT, "per_layer")
    os.makedirs(per_layer_dir, exist_ok=True)
    rng = np.random.default_rng(2026)
    V, d, layers = 12, 16, 3
    lens = np.array([25, 31, 18, 40])
    T = int(lens.sum())
    ids = rng.integers(0, V, size=T)
    emb = rng.standard_normal((V, d))
    hs = np.stack([emb[ids] * (1.0 / (1 + l)) + rng.standard_normal((T, d)) * 0.7 + 1.5 for l in range(layers)])
    hs = hs.astype(np.float32)
    preference = (rng.random(T) < 0.3).astype(np.int64)
    pos = rng.integers(0, 5, size=T).astype(np.int32)

    common = dict(input_ids=ids.astype(np.int64), seq_lens=lens.astype(np.int64))
    labels = {"labels.preference": preference, "labels/pos": pos}
    np.savez(os.path.join(OUT, "dump.npz"), hidden_states=hs, **common, **labels)
    np.savez_compressed(os.path.join(OUT, "dump_compressed.npz"), hidden_states=hs, **common, **labels)
    np.savez(os.path.join(OUT, "dump_text_labels.npz"), hidden_states=hs, **common,
             **{"labels.preference": np.where(preference == 1, "chosen", "rejected"),
                "labels/pos": np.array([f"POS{p}".encode() for p in pos])})
    np.savez(os.path.join(OUT, "dump_fortran_bigendian.npz"),
             hidden_states=np.asfortranarray(hs.astype(">f4")),
             input_ids=np.asfortranarray(ids.astype(">i4")), seq_lens=lens.astype(">u2"), **labels)
    for l in range(layers):
        write_npy(os.path.join(per_layer_dir, f"layer_{l}.npy"), hs[l], (1, 0) if l == 0 else (2, 0) if l == 1 else (3, 0))
    np.save(os.path.join(per_layer_dir, "input_ids.npy"), ids.astype(np.uint16))
    np.save(os.path.join(per_layer_dir, "seq_lens.npy"), lens)
    np.save(os.path.join(per_layer_dir, "labels.preference.npy"), preference.astype(np.int8))
    np.save(os.path.join(per_layer_dir, "labels.pos.npy"), pos)
    hs16 = hs.astype(np.float16)
    np.savez(os.path.join(OUT, "dump_f16.npz"), hidden_states=hs16, **common, **labels)

    # safetensors: stacked and per-layer (the python package's numpy API needs no torch).
    from safetensors.numpy import save_file
    save_file({"hidden_states": hs, **{k: v for k, v in common.items()},
               "labels.preference": preference, "labels.pos": pos},
              os.path.join(OUT, "dump.safetensors"), metadata={"model": "synthetic", "note": "infoplane fixture"})
    save_file({**{f"hidden_states.{l}": hs[l] for l in range(layers)}, **common},
              os.path.join(OUT, "dump_layers.safetensors"))
    # Layer 0 alone, as the Embedding Projector's TSV pair, as raw float32 bytes, and as a plain
    # rows npz to compare both with.
    with open(os.path.join(OUT, "layer0_vectors.tsv"), "w") as f:
        for row in hs[0]:
            f.write("\t".join(repr(float(v)) for v in row) + "\n")
    with open(os.path.join(OUT, "layer0_metadata.tsv"), "w") as f:
        f.write("preference\tpos\n")
        for p_, q_ in zip(preference, pos):
            f.write(f"{'preferred' if p_ else 'rejected'}\tPOS{q_}\n")
    hs[0].astype("<f4").tofile(os.path.join(OUT, "layer0.bytes"))
    np.savez(os.path.join(OUT, "layer0_rows.npz"), vectors=hs[0],
             **{"labels.preference": preference, "labels.pos": pos})

    rows = rng.standard_normal((300, 8)) + np.repeat(rng.standard_normal((6, 8)) * 0.8, 50, axis=0)
    y = np.repeat(np.arange(6), 50)
    np.savez(os.path.join(OUT, "rows.npz"), vectors=rows.astype(np.float32), y=y)

    extra = {"preference": preference, "pos": pos.astype(np.int64)}
    result = {
        "n_bins": M,
        "seed": SEED,
        "orders": [1, 2],
        "dump": reference_results(hs, ids, lens, extra, [1, 2], V),
        "dump_f16": reference_results(hs16.astype(np.float32), ids, lens, extra, [1, 2], V),
        "rows": reference_results(rows.astype(np.float32)[None], y, [300], {"y": y}, [], 0),
        "layer0_rows": reference_results(hs[:1], ids, [T], {"preference": preference, "pos": pos.astype(np.int64)}, [], 0),
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
