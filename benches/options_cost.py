#!/usr/bin/env python3
"""What shuffled-label baselines (K) and seed spread (S) cost: `infoplane analyze` on one dump with
K = 0/5 and S = 1/5, wall time and peak resident memory per run, as a markdown table.

The dump: 7 layers x 16 384 tokens x d = 768, float32 (352 MB, stored npz), sequences of 256
tokens, Zipf-distributed ids over a 50 000-token vocabulary (so trigrams are mostly unique, as in
real text), rows with a shared offset. Orders 1,2,3 (the default). Each setting runs `--repeat`
times; the table gives the median time and the largest peak RSS.

    cargo build --release && python3 benches/options_cost.py [--repeat 3] [--dir DIR]
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import zipfile

import numpy as np
from numpy.lib import format as npformat

LAYERS, T, D, VOCAB, SEQ = 7, 16_384, 768, 50_000, 256


def write_dump(path):
    rng = np.random.default_rng(11)
    ids = rng.zipf(1.3, size=T) % VOCAB
    lens = np.full(T // SEQ, SEQ)
    offset = rng.standard_normal(D).astype(np.float32) * 2
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in [("input_ids", ids.astype(np.int64)), ("seq_lens", lens.astype(np.int64))]:
            with zf.open(name + ".npy", "w") as f:
                npformat.write_array(f, arr)
        with zf.open("hidden_states.npy", "w", force_zip64=True) as f:
            npformat.write_array_header_2_0(f, {"descr": "<f4", "fortran_order": False,
                                                "shape": (LAYERS, T, D)})
            for _ in range(LAYERS):
                f.write((rng.standard_normal((T, D), dtype=np.float32) + offset).tobytes())


def run(binary, dump, k, s):
    """Wall seconds and peak RSS (MiB) of one run, from wait4's rusage of that child alone."""
    argv = [binary, "analyze", dump, "--shuffles", str(k), "--seeds", str(s)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"),
                                                     "release", "infoplane"))
    args = ap.parse_args()
    tmp = args.dir or tempfile.mkdtemp(prefix="infoplane-options-")
    dump = os.path.join(tmp, "dump.npz")
    if not os.path.exists(dump):
        write_dump(dump)
    size = os.path.getsize(dump) / 1e6
    print(f"dump: {LAYERS} layers x {T} tokens x d = {D}, {size:.0f} MB; "
          f"{args.repeat} runs per setting, median time, largest peak RSS")
    print("| shuffles K | seeds S | time (s) | x plain | peak RSS (MiB) |")
    print("|---|---|---|---|---|")
    plain = None
    for k, s in [(0, 1), (5, 1), (0, 5), (5, 5)]:
        runs = [run(args.binary, dump, k, s) for _ in range(args.repeat)]
        wall = sorted(r[0] for r in runs)[len(runs) // 2]
        rss = max(r[1] for r in runs)
        plain = plain or wall
        print(f"| {k} | {s} | {wall:.2f} | {wall / plain:.2f} | {rss:.0f} |", flush=True)
    if not args.dir:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
