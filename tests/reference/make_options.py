#!/usr/bin/env python3
"""Writes tests/fixtures/golden/variants/options.json: the reference accumulator's numbers for the
analysis options infoplane adds on top of the reference (seed spread, shuffled-label baselines,
a minimum label count, n-gram back-off labels, mean-centring, excluded tokens), for two golden dumps.

The reference has none of these options, so each is expressed as a different input to its own
SoftEntropyAccumulator (numpy backend, one update with all rows, temperature from find_eps), fed
as make_golden.py feeds it, with orders [1, 2]: positions [1, L-2) of each sequence ("universe
positions", in sequence then position order), input_k = k-gram ending at i, output_k = next k tokens.
Run from the repository root after make_golden.py (needs numpy, scipy, soft-entropy 0.1.5):
    python3 tests/reference/make_options.py
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import make_golden  # noqa: E402

REF = make_golden.REF
GOLDEN = make_golden.OUT
OUT = os.path.join(GOLDEN, "variants")
CASES = ["d3_bins10_seed0", "d768_bins100_seed0"]  # flat layout: sequences split by seq_lens
ORDERS = [1, 2]
SETS = ["input_unigram", "output_unigram", "input_bigram", "output_bigram"]
SEEDS, SHUFFLES, SHUFFLE_SEED, MIN_COUNT, BACKOFF_K, BACKOFF_MAX = 5, 5, 0, 2, 2, 4


def measure(z, labels, m, seed, eps):
    """H(Z) and I(X;Z) per label set from one reference accumulator fed rows z with `labels`."""
    if len(z) == 0:
        return {"H": None, "I": {name: None for name in labels}}
    REF.accumulator.find_eps = lambda _m, _d: eps  # as make_golden.run_reference: the case's find_eps
    acc = REF.accumulator.SoftEntropyAccumulator(d=z.shape[1], n_bins=m, seed=seed, backend="numpy")
    acc.update(z, labels=labels)
    res = acc.results()
    return {"H": res["H(Z)"], "I": {name: res[f"I(X;Z)/{name}"] for name in labels}}


def universe(seqs, V):
    """Universe positions (sequence index, position) and the reference's n-gram codes there."""
    n = max(ORDERS)
    where, labels = [], {name: [] for name in SETS}
    for s, ids in enumerate(seqs):
        start, end = n - 1, len(ids) - n
        if end <= start:
            continue
        where += [(s, i) for i in range(start, end)]
        for k in ORDERS:
            name = make_golden.NAMES[k]
            labels[f"input_{name}"].append(make_golden.encode(ids, start, end, k, V, False))
            labels[f"output_{name}"].append(make_golden.encode(ids, start, end, k, V, True))
    return where, {name: np.concatenate(v) for name, v in labels.items()}


def ids_of(values):
    """Integer ids for arbitrary hashable label values (the partition is all that matters)."""
    index = {}
    return np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)


def backoff_labels(seqs, where):
    """(j, j-gram) per universe position: the highest j <= 4 whose j-gram exists there and occurs
    at >= BACKOFF_K universe positions (as that direction's j-gram), else the unigram."""
    def gram(direction, s, i, j):
        ids, L = seqs[s], len(seqs[s])
        if direction == "input":
            return tuple(int(t) for t in ids[i - j + 1:i + 1]) if j <= i + 1 else None
        return tuple(int(t) for t in ids[i + 1:i + j + 1]) if i + j <= L - 1 else None

    out, shares = {}, {}
    for direction in ("input", "output"):
        grams = {j: [gram(direction, s, i, j) for s, i in where] for j in range(1, BACKOFF_MAX + 1)}
        counts = {j: {} for j in grams}
        for j, gs in grams.items():
            for g in gs:
                if g is not None:
                    counts[j][g] = counts[j].get(g, 0) + 1
        chosen = []
        for p in range(len(where)):
            j = next((j for j in range(BACKOFF_MAX, 1, -1)
                      if grams[j][p] is not None and counts[j][grams[j][p]] >= BACKOFF_K), 1)
            chosen.append((j, grams[j][p]))
        out[f"{direction}_backoff"] = ids_of(chosen)
        shares[f"{direction}_backoff"] = [sum(1 for j, _ in chosen if j == o) for o in range(1, BACKOFF_MAX + 1)]
    return out, shares


def mean_sd(values):
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1))}


def run_case(name):
    dump = np.load(os.path.join(GOLDEN, name + ".npz"))
    with open(os.path.join(GOLDEN, name + ".json")) as f:
        meta = json.load(f)
    ids = dump["input_ids"]
    cuts = np.cumsum(dump["seq_lens"])[:-1]
    seqs = np.split(ids, cuts)
    states = [np.split(layer.astype(np.float64), cuts) for layer in dump["hidden_states"]]
    V, m, seed = int(ids.max()) + 1, meta["n_bins"], meta["seed"]
    eps, error = make_golden.temperature("find-eps", m, meta["d"])
    assert error is None, error

    where, labels = universe(seqs, V)
    N = len(where)
    rows = [np.stack([states[layer][s][i] for s, i in where]) for layer in range(len(states))]

    # 1. seeds: the reference run as make_golden does it, for seeds seed .. seed+4
    by_seed = [make_golden.run_reference(seqs, states, ORDERS, V, m, seed + j, eps, "all")["per_layer"]
               for j in range(SEEDS)]
    seeds = [{"H": mean_sd([run[layer]["H(Z)"] for run in by_seed]),
              "I": {s: mean_sd([run[layer][f"I(X;Z)/{s}"] for run in by_seed]) for s in SETS}}
             for layer in range(len(rows))]

    # 2. shuffles: one generator; per label set in SETS order, K permutations
    rng = np.random.default_rng(SHUFFLE_SEED)
    shuffled = {f"{s}#{k}": labels[s][rng.permutation(N)] for s in SETS for k in range(SHUFFLES)}
    shuffles = []
    for layer, z in enumerate(rows):
        plain = measure(z, labels, m, seed, eps)
        # the plain run must be the reference run of make_golden (orders [1, 2], all at once)
        golden = by_seed[0][layer]
        assert plain["H"] == golden["H(Z)"], (plain["H"], golden["H(Z)"])
        assert all(plain["I"][s] == golden[f"I(X;Z)/{s}"] for s in SETS)
        assert all(-1e-6 <= plain["I"][s] <= plain["H"] + 1e-6 for s in SETS)
        fake = measure(z, shuffled, m, seed, eps)["I"]
        entry = {}
        for s in SETS:
            base = [fake[f"{s}#{k}"] for k in range(SHUFFLES)]
            bm = float(np.mean(base))
            entry[s] = {"I": plain["I"][s], "baseline_mean": bm, "baseline_sd": float(np.std(base, ddof=1)),
                        "corrected": plain["I"][s] - bm}
        shuffles.append(entry)

    # 3. min_count: per label set, keep positions whose label occurs >= k times among all positions
    min_count = []
    for z in rows:
        entry = {}
        for s in SETS:
            values, inverse, counts = np.unique(labels[s], return_inverse=True, return_counts=True)
            keep = counts[inverse] >= MIN_COUNT
            res = measure(z[keep], {s: labels[s][keep]}, m, seed, eps)
            entry[s] = {"I": res["I"][s], "H": res["H"], "rows": int(keep.sum())}
        min_count.append(entry)

    # 4. backoff
    back, shares = backoff_labels(seqs, where)
    backoff = [measure(z, back, m, seed, eps)["I"] for z in rows]

    # 5. centre: subtract the layer's mean over the universe rows
    centre = []
    for z in rows:
        good = np.all(np.isfinite(z), axis=1) & np.any(z != 0, axis=1)
        assert good.all(), "all-zero or non-finite rows in the dump"
        centre.append(measure(z - z[good].mean(axis=0), labels, m, seed, eps))

    # 6. exclude_tokens: the most frequent token id (smallest on ties)
    values, counts = np.unique(ids, return_counts=True)
    t = int(values[np.argmax(counts)])  # argmax takes the first maximum: the smallest id
    keep = np.array([seqs[s][i] != t for s, i in where])
    exclude = [measure(z[keep], {s: labels[s][keep] for s in SETS}, m, seed, eps) for z in rows]

    print(name, "eps", round(eps, 6), "N", N, "t", t, "shares", shares,
          "min_count rows", {s: e["rows"] for s, e in min_count[0].items()}, "excluded", int((~keep).sum()))
    return {"n_bins": m, "seed": seed, "temperature": eps, "orders": ORDERS, "layers": len(rows),
            "seeds": {"count": SEEDS, "per_layer": seeds},
            "shuffles": {"k": SHUFFLES, "shuffle_seed": SHUFFLE_SEED, "per_layer": shuffles},
            "min_count": {"k": MIN_COUNT, "per_layer": min_count},
            "backoff": {"k": BACKOFF_K, "shares": shares, "per_layer": backoff},
            "centre": {"per_layer": centre},
            "exclude_tokens": {"ids": [t], "per_layer": exclude}}


def main():
    os.makedirs(OUT, exist_ok=True)
    fixture = {name: run_case(name) for name in CASES}
    with open(os.path.join(OUT, "options.json"), "w") as f:
        json.dump(make_golden.clean(fixture), f, indent=1)


if __name__ == "__main__":
    main()
