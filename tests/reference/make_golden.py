#!/usr/bin/env python3
"""Writes the golden fixtures: small activation dumps and the reference package's numbers for them.

Run from the repository root (needs numpy, scipy and soft-entropy 0.1.5, no torch):
    pip install numpy scipy && pip install --no-deps soft-entropy==0.1.5
    python3 tests/reference/make_golden.py

For every case it writes tests/fixtures/golden/<case>.npz (the canonical dump infoplane reads) and
<case>.json. The JSON holds, per calibration mode, the output of the reference's own
`SoftEntropyAccumulator` (numpy backend), fed exactly as the reference's `llm.py` feeds it:
positions [n-1, L-n) of each sequence, input_k = k-gram ending at i, output_k = next k tokens,
codes sum t_j V^(k-1-j), batches of sequences concatenated, one accumulator per layer, mean over
layers 1..L. It is computed for several batch sizes. The accumulator always calls find_eps; for the
other modes it is handed what the reference's calibration code returns for that mode. Where the reference
gives no number (an error, or NaN) the JSON says so instead.
For find-eps and leading-order it also stores the reference's stand-alone `soft_entropy` /
`soft_mutual_information` functions (float64 reference points) per layer.
"""

import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402

REF = reference.load()
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")
NAMES = {1: "unigram", 2: "bigram", 3: "trigram", 4: "quadgram"}

# name, d, bins, seed, vocab, sequences, length range, layers, orders, layout, storage dtype, modes
CASES = [
    ("d3_bins10_seed0", 3, 10, 0, 2, 12, (6, 20), 2, [1, 2, 3], "flat", "float32", None),
    ("d3_bins256_seed1", 3, 256, 1, 4, 10, (8, 16), 2, [1, 2], "flat", "float64", None),
    ("d8_bins100_seed1", 8, 100, 1, 5, 9, (7, 18), 3, [1, 2, 3], "right", "float32", None),
    ("d64_bins100_seed42", 64, 100, 42, 50, 8, (10, 30), 3, [1, 2, 3, 4], "left", "float32", None),
    ("d64_bins10_unique", 64, 10, 0, None, 3, (20, 40), 2, [1], "flat", "float64", None),
    ("d384_bins256_seed0", 384, 256, 0, 20, 6, (15, 30), 2, [1, 2, 3], "flat", "float16", None),
    ("d768_bins100_seed0", 768, 100, 0, 1000, 5, (20, 40), 3, [1, 2, 3], "flat", "float32", None),
    ("d768_bins10_seed42", 768, 10, 42, 30, 4, (15, 25), 2, [1, 2], "right", "float32", None),
]
MODES = ["find-eps", "exact", "leading-order", "fixed"]
FIXED_EPS = 0.05
BATCHES = [1, 3, "all"]


def make_dump(rng, d, vocab, n_seqs, lens, layers, layout):
    lengths = rng.integers(lens[0], lens[1] + 1, size=n_seqs)
    if vocab is None:  # every token distinct: all-unique labels
        total = int(lengths.sum())
        flat_ids = rng.permutation(total) + 7
        seqs = np.split(flat_ids, np.cumsum(lengths)[:-1])
        vocab = total + 7
    else:
        seqs = [rng.integers(0, vocab, size=n) for n in lengths]
    emb = rng.standard_normal((vocab, d))
    offset = rng.standard_normal(d) * 2.0  # anisotropy: a shared mean direction, as in LLM states
    hidden = []  # per layer, per sequence: [L, d]
    for layer in range(layers):
        a, b, c = 1.0 / (1 + layer), 0.6 * layer / layers, 0.8 * layer / layers
        per_seq = []
        for ids in seqs:
            prev = np.concatenate([[ids[0]], ids[:-1]])
            nxt = np.concatenate([ids[1:], [ids[-1]]])
            z = a * emb[ids] + b * emb[prev] + c * emb[nxt] + 0.5 * rng.standard_normal((len(ids), d)) + offset
            per_seq.append(z)
        hidden.append(per_seq)
    return seqs, hidden, vocab


def store(path, seqs, hidden, layout, dtype, rng):
    layers = len(hidden)
    d = hidden[0][0].shape[1]
    if layout == "flat":
        hs = np.stack([np.concatenate(per_seq) for per_seq in hidden]).astype(dtype)
        np.savez(path, hidden_states=hs, input_ids=np.concatenate(seqs).astype(np.int64),
                 seq_lens=np.array([len(s) for s in seqs], dtype=np.int64))
        return [[h.astype(dtype).astype(np.float64) for h in np.split(hs[l], np.cumsum([len(s) for s in seqs])[:-1])]
                for l in range(layers)]
    L = max(len(s) for s in seqs) + 2
    S = len(seqs)
    hs = rng.standard_normal((layers, S, L, d)) * 100.0  # padding rows: junk that must be ignored
    ids = np.full((S, L), 99999, dtype=np.int64)
    mask = np.zeros((S, L), dtype=np.int64)
    for s, seq in enumerate(seqs):
        start = 0 if layout == "right" else L - len(seq)
        ids[s, start:start + len(seq)] = seq
        mask[s, start:start + len(seq)] = 1
        for l in range(layers):
            hs[l, s, start:start + len(seq)] = hidden[l][s]
    hs = hs.astype(dtype)
    np.savez_compressed(path, hidden_states=hs, input_ids=ids, attention_mask=mask)
    out = []
    for l in range(layers):
        per = []
        for s, seq in enumerate(seqs):
            start = 0 if layout == "right" else L - len(seq)
            per.append(hs[l, s, start:start + len(seq)].astype(np.float64))
        out.append(per)
    return out


encode = reference.encode_ngram


def temperature(mode, m, d):
    tc = REF.temp_calibration
    try:
        if mode == "find-eps":
            eps = tc.find_eps(m, d)
        elif mode == "exact":
            eps = tc.sphere_temp_calibration(m, d, mode="exact")
        elif mode == "leading-order":
            eps = 1.0 / math.sqrt(2 * d * math.log(m))
        else:
            eps = FIXED_EPS
    except ValueError as e:
        return None, str(e)
    if not np.isfinite(eps):
        return None, "reference returned NaN"
    return float(eps), None


def run_reference(seqs, states, orders, V, m, seed, eps, batch, first=None):
    """`first` overrides where each sequence's positions start (n-1 in the reference)."""
    n = max(orders)
    # The accumulator's constructor calls find_eps (and raises where find_eps cannot calibrate);
    # hand it the temperature of the mode under test instead. For find-eps that is find_eps itself.
    REF.accumulator.find_eps = lambda _m, _d: eps
    accs = [REF.accumulator.SoftEntropyAccumulator(d=states[0][0].shape[1], n_bins=m, seed=seed, backend="numpy")
            for _ in states]
    size = len(seqs) if batch == "all" else batch
    for b0 in range(0, len(seqs), size):
        labels = {}
        slices = []
        for si in range(b0, min(b0 + size, len(seqs))):
            ids = seqs[si]
            start, end = n - 1 if first is None else first, len(ids) - n
            if end <= start:
                continue
            slices.append((si, start, end))
            for k in orders:
                labels.setdefault(f"input_{NAMES[k]}", []).append(encode(ids, start, end, k, V, False))
                labels.setdefault(f"output_{NAMES[k]}", []).append(encode(ids, start, end, k, V, True))
        if not slices:
            continue
        flat = {key: np.concatenate(v) for key, v in labels.items()}
        for layer, acc in enumerate(accs):
            z = np.concatenate([states[layer][si][s:e] for si, s, e in slices])
            acc.update(z, labels=flat)
    per_layer = [acc.results() for acc in accs]
    blocks = per_layer[1:]
    mean = {k: sum(l[k] for l in blocks) / len(blocks) for k in blocks[0]}
    return {"per_layer": per_layer, "mean": mean}


def run_functions(seqs, states, orders, V, m, seed, calibration):
    n = max(orders)
    labels = {}
    rows = []
    for ids in seqs:
        start, end = n - 1, len(ids) - n
        if end <= start:
            rows.append(None)
            continue
        rows.append((start, end))
        for k in orders:
            labels.setdefault(f"input_{NAMES[k]}", []).append(encode(ids, start, end, k, V, False))
            labels.setdefault(f"output_{NAMES[k]}", []).append(encode(ids, start, end, k, V, True))
    flat = {key: np.concatenate(v) for key, v in labels.items()}
    out = []
    for per_seq in states:
        z = np.concatenate([h[r[0]:r[1]] for h, r in zip(per_seq, rows) if r is not None])
        res = {"H(Z)": float(REF.numpy.soft_entropy(z, m, seed, calibration))}
        for key, lab in flat.items():
            res[f"I(X;Z)/{key}"] = float(REF.numpy.soft_mutual_information(z, lab, m, seed, calibration))
        out.append(res)
    return out


def clean(obj):
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    return obj


def main():
    os.makedirs(OUT, exist_ok=True)
    for (name, d, m, seed, vocab, n_seqs, lens, layers, orders, layout, dtype, modes) in CASES:
        rng = np.random.default_rng(sum(map(ord, name)))
        seqs, hidden, V = make_dump(rng, d, vocab, n_seqs, lens, layers, layout)
        states = store(os.path.join(OUT, name + ".npz"), seqs, hidden, layout, dtype, rng)
        fixture = {"case": name, "d": d, "n_bins": m, "seed": seed, "orders": orders, "layout": layout,
                   "dtype": dtype, "layers": layers, "fixed_eps": FIXED_EPS, "modes": {}}
        for mode in modes or MODES:
            eps, error = temperature(mode, m, d)
            if eps is None:
                fixture["modes"][mode] = {"error": error}
                continue
            by_batch = {str(b): run_reference(seqs, states, orders, V, m, seed, eps, b) for b in BATCHES}
            entry = {"temperature": eps, "accumulator": by_batch}
            if mode in ("find-eps", "leading-order"):
                cal = "find_eps" if mode == "find-eps" else "leading_order"
                entry["functions"] = run_functions(seqs, states, orders, V, m, seed, cal)
            fixture["modes"][mode] = entry
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(clean(fixture), f, indent=1)
        print(name, {k: ("error" if "error" in v else round(v["temperature"], 6)) for k, v in fixture["modes"].items()})


if __name__ == "__main__":
    main()
