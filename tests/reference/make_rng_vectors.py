#!/usr/bin/env python3
"""Write tests/fixtures/rng_vectors.json, the numpy reference for src/estimator/rng.rs.

Run from the crate root with numpy installed (nothing else is needed):

    python3 tests/reference/make_rng_vectors.py

For each seed it records what `numpy.random.default_rng(seed)` does: the SeedSequence state
(8 uint32 words), the PCG64 state and increment, the first raw 64-bit outputs, and a compact
digest of 200000 standard normals (first 16 values, three values by index, the number of draws
beyond the ziggurat's tail cut R, and the XOR of all their IEEE-754 bit patterns). Enough draws
are taken for the rare ziggurat paths (the tail of layer 0, the wedge test) to occur many times.
It also records the normalised reference points `w / np.linalg.norm(w, axis=-1, keepdims=True)`
for a few shapes: the XOR checksum of their bits and their first row.

Floats are written as JSON strings holding Python's repr (shortest round-trip decimal), so they
are exact; they are strings rather than JSON numbers because serde_json, without its
`float_roundtrip` feature, may parse a number to a neighbouring double, while Rust's
`str::parse::<f64>` is correctly rounded.
"""

import json
import pathlib

import numpy as np

SEEDS = [0, 1, 42, 2**63 + 12345, 18446744073709551615]
N_NORMALS = 200_000
AT_INDICES = [1000, 99_999, 199_999]
ZIGGURAT_NOR_R = 3.6541528853610088
REFERENCE_SHAPES = [(0, 100, 64), (1, 10, 3), (42, 256, 768)]
# Checksum only (no first row, to keep the file small): more widths for the pairwise summation.
REFERENCE_XOR_ONLY = [(7, 50, 8), (3, 64, 384), (5, 20, 5120)]

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "rng_vectors.json"


def xor_bits(values):
    """XOR of the float64 bit patterns of all values, as a 0x-prefixed hex string."""
    bits = np.ascontiguousarray(values, dtype=np.float64).ravel().view(np.uint64)
    return "0x%016x" % int(np.bitwise_xor.reduce(bits))


def exact(value):
    """A float as its shortest round-trip decimal string."""
    return repr(float(value))


def seed_entry(seed):
    state_u32 = np.random.SeedSequence(seed).generate_state(8, np.uint32)
    bitgen = np.random.PCG64(seed)
    st = bitgen.state["state"]
    raw = bitgen.random_raw(4)
    normals = np.random.default_rng(seed).standard_normal(N_NORMALS)
    return {
        "seed": seed,
        "seed_sequence_u32": [int(w) for w in state_u32],
        "pcg_state": "0x%032x" % st["state"],
        "pcg_inc": "0x%032x" % st["inc"],
        "raw_u64": ["0x%016x" % int(v) for v in raw],
        "normals": {
            "count": N_NORMALS,
            "first": [exact(v) for v in normals[:16]],
            "at": [[i, exact(normals[i])] for i in AT_INDICES],
            "tail_count": int(np.count_nonzero(np.abs(normals) > ZIGGURAT_NOR_R)),
            "xor_bits": xor_bits(normals),
        },
    }


def reference_points(seed, n_bins, d):
    """The soft-entropy reference points, as the reference package draws them."""
    w = np.random.default_rng(seed).standard_normal((n_bins, d))
    return w / np.linalg.norm(w, axis=-1, keepdims=True)


def reference_entry(seed, n_bins, d, first_row=True):
    w = reference_points(seed, n_bins, d)
    entry = {"seed": seed, "n_bins": n_bins, "d": d, "xor_bits": xor_bits(w)}
    if first_row:
        entry["first_row"] = [exact(v) for v in w[0]]
    return entry


def main():
    data = {
        "numpy_version": np.__version__,
        "seeds": [seed_entry(s) for s in SEEDS],
        "reference_points": [reference_entry(*shape) for shape in REFERENCE_SHAPES]
        + [reference_entry(*shape, first_row=False) for shape in REFERENCE_XOR_ONLY],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
