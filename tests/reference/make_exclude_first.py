#!/usr/bin/env python3
"""Writes tests/fixtures/golden/variants/exclude_first.json: the reference accumulator's numbers for
unigram-only analyses of two golden dumps with each sequence's first position left out, the
positions infoplane's --exclude-first uses ([1, L-1) instead of the reference's [0, L-1)).

The reference has no such option, so this feeds its own SoftEntropyAccumulator exactly as
make_golden.py does, with the start of each sequence's positions moved to 1.
Run from the repository root after make_golden.py (needs numpy, scipy, soft-entropy 0.1.5):
    python3 tests/reference/make_exclude_first.py
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import make_golden  # noqa: E402

GOLDEN = make_golden.OUT
OUT = os.path.join(GOLDEN, "variants")
CASES = ["d3_bins10_seed0", "d768_bins100_seed0"]  # flat layout: sequences split by seq_lens


def main():
    os.makedirs(OUT, exist_ok=True)
    fixture = {}
    for name in CASES:
        dump = np.load(os.path.join(GOLDEN, name + ".npz"))
        with open(os.path.join(GOLDEN, name + ".json")) as f:
            meta = json.load(f)
        ids = dump["input_ids"]
        cuts = np.cumsum(dump["seq_lens"])[:-1]
        seqs = np.split(ids, cuts)
        states = [np.split(layer.astype(np.float64), cuts) for layer in dump["hidden_states"]]
        V = int(ids.max()) + 1
        eps, error = make_golden.temperature("find-eps", meta["n_bins"], meta["d"])
        assert error is None, error
        result = make_golden.run_reference(seqs, states, [1], V, meta["n_bins"], meta["seed"], eps,
                                           "all", first=1)
        fixture[name] = {"n_bins": meta["n_bins"], "seed": meta["seed"], "temperature": eps,
                         "accumulator": result}
        print(name, "eps", round(eps, 6), "mean H", round(result["mean"]["H(Z)"], 6))
    with open(os.path.join(OUT, "exclude_first.json"), "w") as f:
        json.dump(make_golden.clean(fixture), f, indent=1)


if __name__ == "__main__":
    main()
