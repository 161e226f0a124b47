#!/usr/bin/env python3
"""Peak memory and throughput of `infoplane analyze` on a dump larger than any sensible buffer.

Writes a ~4.3 GB uncompressed npz (13 layers x 40 000 tokens x d = 2048, float32, sequences of
512 tokens, a 50 000-token vocabulary) to a temporary folder without ever holding it in memory
(zipfile streams the member), then runs the release CLI under /usr/bin/time -v and prints the
peak resident memory and the throughput as a markdown table row. Needs numpy and ~4.5 GB of disk.

    cargo build --release && python3 benches/large_dump.py [--keep] [--dir DIR] [--tokens T]

`--write-only` writes the dump (to --dir) and stops: benches/browser_large_dump.mjs uses it for the
page's run, with `--tokens 19000` for a 2 GB file.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
from numpy.lib import format as npformat

LAYERS, T, D, VOCAB, SEQ = 13, 40_000, 2048, 50_000, 512


def write_dump(path, T=T):
    rng = np.random.default_rng(7)
    ids = rng.zipf(1.3, size=T) % VOCAB
    lens = np.full(T // SEQ, SEQ)
    if lens.sum() < T:
        lens = np.append(lens, T - lens.sum())
    offset = rng.standard_normal(D).astype(np.float32) * 3
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in [("input_ids", ids.astype(np.int64)), ("seq_lens", lens.astype(np.int64))]:
            with zf.open(name + ".npy", "w") as f:
                npformat.write_array(f, arr)
        with zf.open("hidden_states.npy", "w", force_zip64=True) as f:
            header = {"descr": "<f4", "fortran_order": False, "shape": (LAYERS, T, D)}
            npformat.write_array_header_2_0(f, header)
            chunk = 4096
            for _ in range(LAYERS):
                for start in range(0, T, chunk):
                    n = min(chunk, T - start)
                    block = rng.standard_normal((n, D), dtype=np.float32) + offset
                    f.write(block.tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--tokens", type=int, default=T, help="tokens per layer (40 000: 4.26 GB)")
    ap.add_argument("--write-only", action="store_true")
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "infoplane"))
    args = ap.parse_args()
    work = args.dir or tempfile.mkdtemp(prefix="infoplane-large-")
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "large.npz")
    try:
        if not os.path.exists(path):
            t0 = time.time()
            write_dump(path, args.tokens)
            print(f"wrote {path} in {time.time() - t0:.1f} s", file=sys.stderr)
        if args.write_only:
            print(path)
            return
        size = os.path.getsize(path)
        cmd = ["/usr/bin/time", "-v", args.binary, "analyze", path, "--orders", "1,2,3"]
        t0 = time.time()
        run = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        if run.returncode != 0:
            sys.exit(f"infoplane failed: {run.stderr}")
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
        print("| file | size | layers x tokens x d | wall time | throughput | peak RSS |")
        print("|---|---|---|---|---|---|")
        print(f"| stored npz, float32 | {size / 1e9:.2f} GB | {LAYERS} x {args.tokens} x {D} | {wall:.1f} s | "
              f"{size / 1e9 / wall:.3f} GB/s | {rss_kb / 1024:.0f} MiB |")
    finally:
        if not args.keep and not args.dir and not args.write_only:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
