#!/usr/bin/env python3
"""Times infoplane against the reference `soft-entropy` 0.1.5 accumulator on the same input, in one run.

What it does, on one machine in one process run:
  (a) draws one input with a seeded numpy generator: N = 20000 analysed rows of width d = 768
      (40 sequences of 505 tokens; orders 1..3 keep positions [2, L-3) of each, 500 per sequence),
      tokens from a Zipf (s = 1.1) distribution over a 5000-token vocabulary, hidden states
      N(0, 1) + a shared offset + 0.5 * a per-token embedding, stored as float32. It writes them as a
      flat canonical .npz (hidden_states [1, T, d] float32, input_ids [T] int64, seq_lens [S] int64;
      np.savez, uncompressed) to a temporary directory;
  (b) times the reference numpy `SoftEntropyAccumulator(d=768, n_bins=100, seed=0, backend="numpy")`
      (construction + updates + results()) over the same N rows in batches of 256 rows, with the 6
      label sets input/output_{unigram,bigram,trigram} encoded as the reference's llm.py encodes
      them, once with float32 rows (what a user passes) and once with float64 rows; and, when
      threadpoolctl is installed, float32 rows again with numpy's BLAS limited to one thread; and,
      for context only (not equal work), float32 rows with no label set at all (H(Z) alone);
  (c) builds infoplane (`cargo build --release`) and times
      `infoplane analyze FILE --bins 100 --orders 1,2,3 --layers 0 --format reference --shuffles 0`
      as a subprocess (wall clock: process start, reading and decoding the .npz, labels, estimate),
      and for context the same with the default 5 shuffled copies of every label set;
  (d) checks that H(Z) and the 6 I(X;Z) of every reference run agree with infoplane's to 1e-6, so
      the runs did equal work;
  (e) prints a markdown table (best of 3 for every row) and the machine: nproc, CPU model, numpy
      version, BLAS library, kernel and threads.

Run from anywhere (needs numpy, scipy, soft-entropy 0.1.5 without torch, a Rust toolchain; optional
threadpoolctl to report numpy's BLAS kernel):
    pip install numpy scipy threadpoolctl && pip install --no-deps soft-entropy==0.1.5
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benches/reference_side_by_side.py
The `env -u` lets a current OpenBLAS pick its own kernel for the CPU (see BENCHMARKS.md); run it
without `env -u` to measure numpy as the machine's environment sets it up. CARGO_TARGET_DIR is
honoured for the build and the binary's path. Options: --rows, --repeats, --no-build, --binary,
--keep (keep the temporary .npz). Exits 1 if the numbers disagree.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import reference  # noqa: E402

D = 768
BINS = 100
SEED = 0
ORDERS = (1, 2, 3)
NAMES = {1: "unigram", 2: "bigram", 3: "trigram"}
VOCAB = 5000
ZIPF = 1.1
SEQUENCES = 40
BATCH_ROWS = 256
DATA_SEED = 20250101
TOLERANCE = 1e-6
LABEL_SETS = [f"{side}_{NAMES[k]}" for k in ORDERS for side in ("input", "output")]
KEYS = ["H(Z)"] + [f"I(X;Z)/{name}" for name in LABEL_SETS]


def encode(ids, start, end, order, forward):
    """The reference llm.py's `_encode_ngram` in numpy: int64 codes sum t_j V^(k-1-j)."""
    ids = ids.astype(np.int64)
    if forward:
        code = ids[start + 1:end + 1]
        for k in range(2, order + 1):
            code = code * VOCAB + ids[start + k:end + k]
    else:
        code = ids[start - order + 1:end - order + 1]
        for k in range(order - 2, -1, -1):
            code = code * VOCAB + ids[start - k:end - k]
    return code


def make_input(rows, directory):
    """Writes the dump; returns its path, the analysed rows (float32) and their 6 label arrays."""
    n = max(ORDERS)
    per = rows // SEQUENCES
    lengths = [per + 2 * n - 1] * SEQUENCES
    lengths[-1] += rows - per * SEQUENCES
    total = sum(lengths)
    rng = np.random.default_rng(DATA_SEED)
    weights = np.arange(1, VOCAB + 1, dtype=np.float64) ** -ZIPF
    tokens = rng.choice(VOCAB, size=total, p=weights / weights.sum()).astype(np.int64)
    emb = rng.standard_normal((VOCAB, D))
    offset = 2.0 * rng.standard_normal(D)
    hidden = (rng.standard_normal((total, D)) + offset + 0.5 * emb[tokens]).astype(np.float32)
    path = os.path.join(directory, f"side_by_side_{rows}x{D}.npz")
    np.savez(path, hidden_states=hidden[None], input_ids=tokens,
             seq_lens=np.array(lengths, dtype=np.int64))

    positions, labels = [], {name: [] for name in LABEL_SETS}
    first = 0
    for length in lengths:
        ids = tokens[first:first + length]
        start, end = n - 1, length - n
        positions.append(np.arange(first + start, first + end))
        for k in ORDERS:
            labels[f"input_{NAMES[k]}"].append(encode(ids, start, end, k, False))
            labels[f"output_{NAMES[k]}"].append(encode(ids, start, end, k, True))
        first += length
    positions = np.concatenate(positions)
    assert len(positions) == rows
    labels = {name: np.concatenate(parts) for name, parts in labels.items()}
    return path, hidden[positions], labels


def run_reference(ref, z, labels):
    """Construction, all updates and results(); `labels=None` gives H(Z) alone."""
    acc = ref.accumulator.SoftEntropyAccumulator(d=D, n_bins=BINS, seed=SEED, backend="numpy")
    for b0 in range(0, len(z), BATCH_ROWS):
        batch = None if labels is None else {
            name: lab[b0:b0 + BATCH_ROWS] for name, lab in labels.items()}
        acc.update(z[b0:b0 + BATCH_ROWS], labels=batch)
    return acc.results()


def best_of(repeats, fn):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def binary_path(args):
    if args.binary:
        return os.path.abspath(args.binary)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    if not os.path.isabs(target):
        target = os.path.join(ROOT, target)
    return os.path.join(target, "release", "infoplane")


def run_binary(binary, path, shuffles=0):
    out = subprocess.run(
        [binary, "analyze", path, "--bins", str(BINS), "--orders", ",".join(map(str, ORDERS)),
         "--layers", "0", "--format", "reference", "--shuffles", str(shuffles)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["per_layer"][0]


def blas_info():
    """(description, threadpoolctl module or None)."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (pip install threadpoolctl to report it)", None
    parts = []
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        owner = os.path.basename(os.path.dirname(lib.get("filepath", "")))  # numpy.libs, ...
        parts.append(f"{owner}: {lib.get('internal_api')} {lib.get('version')}, kernel "
                     f"{lib.get('architecture')}, {lib.get('num_threads')} threads")
    return "; ".join(parts) or "no BLAS library loaded", threadpoolctl


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-build", action="store_true", help="do not run cargo build --release")
    parser.add_argument("--binary", help="infoplane binary (default: $CARGO_TARGET_DIR/release)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary .npz")
    args = parser.parse_args()

    if not args.no_build and not args.binary:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "infoplane"],
                       cwd=ROOT, check=True)
    binary = binary_path(args)
    if not os.path.exists(binary):
        sys.exit(f"no infoplane binary at {binary}")

    ref = reference.load()
    blas, threadpoolctl = blas_info()
    directory = tempfile.mkdtemp(prefix="infoplane-bench-")
    try:
        path, z32, labels = make_input(args.rows, directory)
        z64 = z32.astype(np.float64)
        size_mb = os.path.getsize(path) / 1e6
        distinct = {name: len(np.unique(lab)) for name, lab in labels.items()}

        runs = []  # (implementation, input, best, all times, results)
        t, ts, res = best_of(args.repeats, lambda: run_reference(ref, z32, labels))
        runs.append(("soft-entropy 0.1.5 (numpy backend)", "float32 rows", t, ts, res))
        t, ts, res = best_of(args.repeats, lambda: run_reference(ref, z64, labels))
        runs.append(("soft-entropy 0.1.5 (numpy backend)", "float64 rows", t, ts, res))
        if threadpoolctl is not None:
            with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
                t, ts, res = best_of(args.repeats, lambda: run_reference(ref, z32, labels))
            runs.append(("soft-entropy 0.1.5 (numpy backend), 1 BLAS thread", "float32 rows",
                         t, ts, res))
        # Context only, not equal work: the reference's dense part (normalise, product, softmax)
        # without any label set. Only its H(Z) is checked.
        t, ts, res = best_of(args.repeats, lambda: run_reference(ref, z32, None))
        runs.append(("soft-entropy 0.1.5 (numpy backend), H(Z) only: no label sets, "
                     "not equal work", "float32 rows", t, ts, res))
        t, ts, res = best_of(args.repeats, lambda: run_binary(binary, path))
        runs.append(("infoplane CLI (release, 1 thread), --shuffles 0",
                     f"float32 .npz, {size_mb:.0f} MB", t, ts, res))
        ours = res
        # Context: the CLI's defaults also compute 5 shuffled copies of every label set (the
        # baselines), more work than the reference does.
        t, ts, res = best_of(args.repeats, lambda: run_binary(binary, path, 5))
        runs.append(("infoplane CLI, defaults (+ 5 shuffled copies per label set), not equal work",
                     f"float32 .npz, {size_mb:.0f} MB", t, ts, res))
    finally:
        if args.keep:
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)

    worst = 0.0
    disagreements = []
    for name, kind, _, _, res in (r for r in runs if r[0].startswith("soft-entropy")):
        for key in (k for k in KEYS if k in res):
            diff = abs(res[key] - ours[key])
            worst = max(worst, diff)
            if not diff <= TOLERANCE:
                disagreements.append(f"{name} / {kind}: {key} reference {res[key]!r} "
                                     f"infoplane {ours[key]!r} (|diff| {diff:.2e})")

    base = args.rows / runs[0][2]
    env = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "unknown"
    print(f"### Side by side: {args.rows} rows, d = {D}, {BINS} bins, 6 label sets "
          f"({datetime.date.today().isoformat()})\n")
    print(f"| implementation | input | best of {args.repeats} (s) | all runs (s) | rows/s "
          f"| vs reference (float32) |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for name, kind, t, ts, _ in runs:
        rate = args.rows / t
        print(f"| {name} | {kind} | {t:.3f} | {', '.join(f'{x:.3f}' for x in ts)} "
              f"| {rate:,.0f} | {rate / base:.2f}x |")
    print()
    print(f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}, "
          f"{platform.system()} {platform.release()}")
    print(f"- python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas}")
    print(f"- OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
          f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}")
    print(f"- {rustc}; binary {binary}")
    print(f"- reference batches of {BATCH_ROWS} rows; distinct labels over the {args.rows} rows: "
          + ", ".join(f"{k}={v}" for k, v in distinct.items()))
    print(f"- agreement with infoplane over H(Z) and the 6 I(X;Z): max |diff| {worst:.1e} "
          f"(tolerance {TOLERANCE:g}): {'OK' if not disagreements else 'DISAGREE'}")
    print(f"- infoplane H(Z) = {ours['H(Z)']:.9f}; I(X;Z) "
          + ", ".join(f"{n} = {ours['I(X;Z)/' + n]:.6f}" for n in LABEL_SETS))
    if disagreements:
        print("\n".join(disagreements), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
