#!/usr/bin/env python3
"""Writes the explainer's digits data set and the reference package's numbers for it.

Run from the repository root (needs numpy, scipy, scikit-learn and soft-entropy 0.1.5, no torch):
    pip install numpy scipy scikit-learn && pip install --no-deps soft-entropy==0.1.5
    python3 tests/reference/make_digits.py

1. www/explainer/digits.npz (np.savez_compressed): scikit-learn's `load_digits()` (a copy of the UCI
   "Optical Recognition of Handwritten Digits" test set, 1797 images of 8 x 8 pixels) as plain rows,
   the layout `infoplane analyze --ids none` reads:
     hidden_states  float32 [1, 1797, 64]  the pixel values 0..16, unchanged, in sklearn's row order
     labels         int64   [1797]         the digit 0..9
2. tests/fixtures/explainer/digits_reference.json: numbers computed with the reference's own
   stand-alone numpy functions `soft_entropy` / `soft_mutual_information` (float64 reference points,
   as infoplane keeps them) on the float32 rows read back as float64, m = 100 bins. Each run is also
   repeated with the reference's `SoftEntropyAccumulator` (numpy backend, float32 reference points,
   handed the same temperature as make_golden.py does); the script fails if the two disagree by more
   than 1e-6 and records the largest difference. Structure:

   {"n_rows": 1797, "d": 64, "n_bins": 100, "classes": 10,
    "class_counts": [N_0, ..., N_9],
    "shuffles": {"k": 5, "shuffle_seed": 0,
                 "rule": "rng = default_rng(0); for k in 0..5: perm = rng.permutation(N);
                          shuffled[i] = labels[perm[i]]"},
    "runs": [  # one per (calibration, seed): find-eps and leading-order, seeds 0 and 1
      {"calibration": "find-eps" | "leading-order",   # infoplane's --calibration value
       "seed": 0 | 1,                                  # infoplane's --seed
       "temperature": eps,                             # make_golden.temperature(mode, 100, 64)
       "entropy": H(Z),
       "mutual_information": I(X;Z), X = the digit,
       "regularity": I / H,
       "shuffled": [I of shuffled copy 0..4],
       "baseline": {"mean": mean of "shuffled", "sd": sample sd (ddof = 1)},
       "corrected": I - baseline mean}],
    "classes_added": {  # rows whose label < c, original order; find-eps, seed 0
       "calibration": "find-eps", "seed": 0,
       "per_count": [{"classes": c, "rows": N_c, "entropy": H, "mutual_information": I}
                     for c in 2..10]},
    "per_class_regularity": {  # find-eps, seed 0, all rows (infoplane has no per-class output yet)
       "calibration": "find-eps", "seed": 0,
       "per_class": [{"digit": x, "rows": N_x, "conditional_entropy": H(Z|X=x),
                      "regularity": (H(Z) - H(Z|X=x)) / H(Z)} for x in 0..9]},
    "accumulator_max_difference": largest |functions - accumulator| over every number above}

Prints a short summary.
"""

import json
import os
import sys

import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.dirname(__file__))
import make_golden  # noqa: E402

REF = make_golden.REF
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
NPZ = os.path.join(ROOT, "www", "explainer", "digits.npz")
OUT = os.path.join(ROOT, "tests", "fixtures", "explainer")
M = 100
SEEDS = [0, 1]
MODES = {"find-eps": "find_eps", "leading-order": "leading_order"}  # infoplane name -> reference name
SHUFFLES, SHUFFLE_SEED = 5, 0

WORST = [0.0]


def agree(ours, theirs, what):
    diff = abs(ours - theirs)
    assert diff <= 1e-6, f"{what}: functions {ours} vs accumulator {theirs}"
    WORST[0] = max(WORST[0], diff)


def functions(z, label_sets, seed, mode):
    """H(Z) and I(X;Z) per label set from the reference's stand-alone numpy functions."""
    cal = MODES[mode]
    h = float(REF.numpy.soft_entropy(z, M, seed, cal))
    mi = {name: float(REF.numpy.soft_mutual_information(z, lab, M, seed, cal)) for name, lab in label_sets.items()}
    return h, mi


def accumulator(z, label_sets, seed, eps):
    """The same numbers from the reference's accumulator, fed one batch (as make_options.measure)."""
    REF.accumulator.find_eps = lambda _m, _d: eps
    acc = REF.accumulator.SoftEntropyAccumulator(d=z.shape[1], n_bins=M, seed=seed, backend="numpy")
    acc.update(z, labels=label_sets)
    return acc


def measure(z, label_sets, seed, mode, what):
    eps, error = make_golden.temperature(mode, M, z.shape[1])
    assert error is None, error
    h, mi = functions(z, label_sets, seed, mode)
    res = accumulator(z, label_sets, seed, eps).results()
    agree(h, res["H(Z)"], f"{what}/H")
    for name in label_sets:
        agree(mi[name], res[f"I(X;Z)/{name}"], f"{what}/I/{name}")
    return eps, h, mi


def same_arrays(path, hidden_states, labels):
    if not os.path.exists(path):
        return False
    with np.load(path) as f:
        return (np.array_equal(f["hidden_states"], hidden_states) and f["hidden_states"].dtype == hidden_states.dtype
                and np.array_equal(f["labels"], labels) and f["labels"].dtype == labels.dtype)


def principal_components(z):
    """The explainer's 2-D picture: numpy's eigh of the covariance, the two largest eigenvalues,
    each eigenvector signed so that its entry of largest magnitude is positive."""
    values, vectors = np.linalg.eigh(np.cov(z, rowvar=False))
    top = np.argsort(values)[::-1][:2]
    components = []
    for j in top:
        v = vectors[:, j]
        components.append(v if v[np.argmax(np.abs(v))] > 0 else -v)
    components = np.array(components)
    coordinates = (z - z.mean(axis=0)) @ components.T
    return components, coordinates, values[top] / values.sum()


def main():
    digits = load_digits()
    x = digits.data.astype(np.float32)  # float64 in sklearn, integers 0..16: exact in float32
    y = digits.target.astype(np.int64)
    assert x.shape == (1797, 64) and y.shape == (1797,)
    assert np.array_equal(x.astype(np.float64), digits.data), "pixels changed in float32"
    assert np.all(np.any(x != 0, axis=1)), "an all-zero row: infoplane would skip it, the reference gives NaN"
    N, d = x.shape

    os.makedirs(os.path.dirname(NPZ), exist_ok=True)
    if not same_arrays(NPZ, x[None], y):  # rewriting equal arrays would still change the zip's dates
        np.savez_compressed(NPZ, hidden_states=x[None], labels=y)
    z = np.load(NPZ)["hidden_states"][0].astype(np.float64)  # exactly what infoplane reads
    assert np.array_equal(z, digits.data)

    classes = int(y.max()) + 1
    fixture = {"n_rows": N, "d": d, "n_bins": M, "classes": classes,
               "class_counts": [int((y == c).sum()) for c in range(classes)],
               "shuffles": {"k": SHUFFLES, "shuffle_seed": SHUFFLE_SEED,
                            "rule": "rng = default_rng(shuffle_seed); for k in 0..K: perm = rng.permutation(N); "
                                    "shuffled[i] = labels[perm[i]]"},
               "runs": []}

    # infoplane's baseline: one generator for the one label set, K permutations in order
    rng = np.random.default_rng(SHUFFLE_SEED)
    shuffled = [y[rng.permutation(N)] for _ in range(SHUFFLES)]

    for mode in MODES:
        for seed in SEEDS:
            sets = {"digit": y, **{f"shuffled#{k}": s for k, s in enumerate(shuffled)}}
            eps, h, mi = measure(z, sets, seed, mode, f"{mode}/seed {seed}")
            fake = [mi[f"shuffled#{k}"] for k in range(SHUFFLES)]
            mean = float(np.mean(fake))
            fixture["runs"].append({
                "calibration": mode, "seed": seed, "temperature": eps,
                "entropy": h, "mutual_information": mi["digit"], "regularity": mi["digit"] / h,
                "shuffled": fake, "baseline": {"mean": mean, "sd": float(np.std(fake, ddof=1))},
                "corrected": mi["digit"] - mean})

    per_count = []
    for c in range(2, classes + 1):
        keep = y < c
        _, h, mi = measure(z[keep], {"digit": y[keep]}, 0, "find-eps", f"classes < {c}")
        per_count.append({"classes": c, "rows": int(keep.sum()), "entropy": h, "mutual_information": mi["digit"]})
    fixture["classes_added"] = {"calibration": "find-eps", "seed": 0, "per_count": per_count}

    eps, _ = make_golden.temperature("find-eps", M, d)
    h = float(REF.numpy.soft_entropy(z, M, 0, "find_eps"))
    acc_h = accumulator(z, {"digit": y}, 0, eps).conditional_entropy()["digit"]
    per_class = []
    for c in range(classes):
        hc = float(REF.numpy.soft_entropy(z[y == c], M, 0, "find_eps"))
        agree(hc, acc_h[c], f"H(Z|X={c})")
        per_class.append({"digit": c, "rows": int((y == c).sum()), "conditional_entropy": hc,
                          "regularity": (h - hc) / h})
    # the frequency-weighted per-class terms add up to I(X;Z)
    run0 = fixture["runs"][0]
    assert run0["calibration"] == "find-eps" and run0["seed"] == 0
    weighted = sum(p["rows"] / N * p["regularity"] for p in per_class) * h
    assert abs(weighted - run0["mutual_information"]) < 1e-12, (weighted, run0["mutual_information"])
    fixture["per_class_regularity"] = {"calibration": "find-eps", "seed": 0, "per_class": per_class}
    fixture["accumulator_max_difference"] = WORST[0]

    components, coordinates, ratio = principal_components(z)
    every = 40
    fixture["projection"] = {
        "method": "np.linalg.eigh(np.cov(z, rowvar=False)); two largest; signed so the largest-magnitude entry is positive",
        "variance_ratio": ratio.tolist(), "components": components.tolist(),
        "every": every, "coordinates": coordinates[::every].tolist()}

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "digits_reference.json"), "w") as f:
        json.dump(make_golden.clean(fixture), f, indent=1)

    print(f"{os.path.relpath(NPZ)}: {os.path.getsize(NPZ)} bytes, {N} x {d}, classes {fixture['class_counts']}")
    for r in fixture["runs"]:
        print(f"{r['calibration']:>13} seed {r['seed']}: eps {r['temperature']:.6f} H {r['entropy']:.6f} "
              f"I {r['mutual_information']:.6f} reg {r['regularity']:.4f} baseline {r['baseline']['mean']:.6f} "
              f"± {r['baseline']['sd']:.6f} corrected {r['corrected']:.6f}")
    print("classes < c (find-eps, seed 0):",
          ", ".join(f"{p['classes']}: H {p['entropy']:.4f} I {p['mutual_information']:.4f}" for p in per_count))
    print("per-class regularity (find-eps, seed 0):", [round(p["regularity"], 4) for p in per_class])
    print(f"functions vs accumulator: largest difference {WORST[0]:.2e}")
    print(f"projection: variance ratios {ratio.round(4).tolist()}")


if __name__ == "__main__":
    main()
