#!/usr/bin/env python3
"""Estimator throughput: infoplane (CLI and page) against the reference `soft-entropy` 0.1.5, one run.

What it does, on one machine in one process run, for each width d in --dims (384, 768, 2048):
  (a) draws one input with a seeded numpy generator: --layers (2) layers of N = --rows (20000)
      analysed rows (40 sequences of N/40 + 5 tokens; orders 1..3 keep positions [2, L-3) of
      each), tokens from a Zipf (s = 1.1) distribution over a 5000-token vocabulary, each layer's
      hidden states N(0, 1) + a shared offset + 0.5 * a per-token embedding, float32; written as a
      canonical .npz (hidden_states [layers, T, d] float32, input_ids [T] int64, seq_lens [S]
      int64; np.savez, uncompressed) to a temporary directory;
  (b) times the reference numpy `SoftEntropyAccumulator(d, n_bins=100, seed=0, backend="numpy")`,
      one per layer, fed as its llm.py feeds them: batches of 4 sequences, every layer's rows of a
      batch into that layer's accumulator, with the 6 label sets input/output_{unigram,bigram,
      trigram} encoded as llm.py encodes them; construction, updates and results() timed; with
      numpy's BLAS free (its default threads) and, when threadpoolctl is installed, limited to 1;
  (c) builds infoplane (`cargo build --release`, and the page's wasm with scripts/build_web.sh
      unless --no-build) and times `infoplane analyze FILE --bins 100 --orders 1,2,3 --shuffles 0`
      as a subprocess (wall clock: process start, reading and decoding the .npz, labels,
      estimate) with --threads 1 and with its default (one thread per core, a share of the layers
      each);
  (d) times the page's estimator in Debian's Chromium on rows already in memory, as the
      reference is timed (benches/browser_estimator.mjs --rows-in-memory: the simd128 wasm
      build, the page's own calls, 1 worker and one per core, from planning the analysis to the
      shares' numbers joined), and the page itself, from handing it the file to the result shown
      (reading the file in Chromium included);
  (e) times the machine's matrix-product ceiling for the same product (all rows x d times d x 100,
      float32): natively numpy's BLAS sgemm, 1 thread and its default threads; in the browser
      (unless --no-page) onnxruntime-web's MatMul, its wasm simd128 sgemm, in the same Chromium,
      1 thread and 2 threads under cross-origin isolation (benches/browser_ceiling.mjs);
  (f) checks that H(Z) and the 6 I(X;Z) of every layer of every reference run agree with
      infoplane's to 1e-6, and that the CLI's reports with 1 and all threads and the page's reports
      are equal, number for number; exits 1 otherwise;
  (g) prints one markdown table per d (best of --repeats, 3, for every row): rows/s (all layers'
      rows), GFLOP/s of the score product (2 d 100 per row; the dominant work), and the ratio to
      the reference with its default BLAS threads; then the machine.

Run from anywhere (needs numpy, scipy, soft-entropy 0.1.5 without torch, a Rust toolchain; for
the page, Chromium and tests/browser's npm packages; for the wasm ceiling, the onnx package and
benches' npm packages; optional threadpoolctl for the BLAS details and the 1-thread rows):
    pip install numpy scipy threadpoolctl onnx && pip install --no-deps soft-entropy==0.1.5
    (cd tests/browser && npm ci) && (cd benches && npm ci)
    python3 benches/reference_side_by_side.py
Options: --dims, --layers, --rows, --repeats, --no-build, --no-page, --binary, --keep (keep the
temporary .npz files). CARGO_TARGET_DIR is honoured for the build and the binary's path.
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

BINS = 100
# Rows per onnxruntime-web run in the wasm ceiling: the model carries them as a constant.
CEILING_BLOCK = 4000
SEED = 0
ORDERS = (1, 2, 3)
NAMES = {1: "unigram", 2: "bigram", 3: "trigram"}
VOCAB = 5000
ZIPF = 1.1
SEQUENCES = 40
# llm.py runs the model on 4 texts at a time and feeds each layer's accumulator that batch.
BATCH_SEQUENCES = 4
DATA_SEED = 20250101
TOLERANCE = 1e-6
LABEL_SETS = [f"{side}_{NAMES[k]}" for k in ORDERS for side in ("input", "output")]
KEYS = ["H(Z)"] + [f"I(X;Z)/{name}" for name in LABEL_SETS]


def make_input(rows, d, layers, directory):
    """Writes the dump; returns its path, each layer's analysed rows (float32), their 6 label
    arrays, and the analysed rows per batch of BATCH_SEQUENCES sequences."""
    n = max(ORDERS)
    per = rows // SEQUENCES
    lengths = [per + 2 * n - 1] * SEQUENCES
    lengths[-1] += rows - per * SEQUENCES
    total = sum(lengths)
    rng = np.random.default_rng(DATA_SEED)
    weights = np.arange(1, VOCAB + 1, dtype=np.float64) ** -ZIPF
    tokens = rng.choice(VOCAB, size=total, p=weights / weights.sum()).astype(np.int64)
    emb = rng.standard_normal((VOCAB, d)).astype(np.float32)
    offset = (2.0 * rng.standard_normal(d)).astype(np.float32)
    hidden = np.empty((layers, total, d), dtype=np.float32)
    for layer in range(layers):
        hidden[layer] = rng.standard_normal((total, d), dtype=np.float32) + offset + 0.5 * emb[tokens]
    path = os.path.join(directory, f"side_by_side_{layers}x{rows}x{d}.npz")
    np.savez(path, hidden_states=hidden, input_ids=tokens, seq_lens=np.array(lengths, dtype=np.int64))

    positions, labels, batches = [], {name: [] for name in LABEL_SETS}, []
    first = 0
    for s, length in enumerate(lengths):
        ids = tokens[first:first + length]
        start, end = n - 1, length - n
        positions.append(np.arange(first + start, first + end))
        if s % BATCH_SEQUENCES == 0:
            batches.append(0)
        batches[-1] += end - start
        for k in ORDERS:
            labels[f"input_{NAMES[k]}"].append(reference.encode_ngram(ids, start, end, k, VOCAB, False))
            labels[f"output_{NAMES[k]}"].append(reference.encode_ngram(ids, start, end, k, VOCAB, True))
        first += length
    positions = np.concatenate(positions)
    assert len(positions) == rows
    labels = {name: np.concatenate(parts) for name, parts in labels.items()}
    return path, [np.ascontiguousarray(hidden[layer][positions]) for layer in range(layers)], labels, batches


def run_reference(ref, zs, labels, batches):
    """One accumulator per layer, fed batch by batch as llm.py feeds them; their results()."""
    d = zs[0].shape[1]
    accs = [ref.accumulator.SoftEntropyAccumulator(d=d, n_bins=BINS, seed=SEED, backend="numpy")
            for _ in zs]
    b0 = 0
    for size in batches:
        batch = {name: lab[b0:b0 + size] for name, lab in labels.items()}
        for acc, z in zip(accs, zs):
            acc.update(z[b0:b0 + size], labels=batch)
        b0 += size
    return [acc.results() for acc in accs]


def sgemm(zs, threadpoolctl, threads):
    """The machine's ceiling for the estimator's product: all rows times d x 100, float32 BLAS."""
    w = np.random.default_rng(0).standard_normal((BINS, zs[0].shape[1])).astype(np.float32)
    z = np.concatenate(zs)

    def product():
        return z @ w.T

    if threads is None or threadpoolctl is None:
        return best_of(5, product)
    with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
        return best_of(5, product)


def wasm_ceiling(zs, directory, repeats):
    """The same product in the browser: onnxruntime-web's MatMul (benches/browser_ceiling.mjs).

    Writes a one-node ONNX model (s = z . w, z a constant block of CEILING_BLOCK of the rows, w an
    input: d x 100 normal values, as in the sgemm row) and what the page checks it against, then
    runs the page on 1 thread and on 2 (cross-origin isolated). Returns [(name, [(label, time,
    times)])], each time scaled to all the rows (runs x block rows are timed), or [] when the
    `onnx` package or benches/node_modules is missing or the page fails (said on stderr).
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        print("no wasm ceiling: the onnx package is not installed (pip install onnx)",
              file=sys.stderr)
        return []
    if not os.path.isdir(os.path.join(ROOT, "benches", "node_modules", "onnxruntime-web")):
        print("no wasm ceiling: run (cd benches && npm ci)", file=sys.stderr)
        return []
    d = zs[0].shape[1]
    total = sum(len(z) for z in zs)
    if total == 0:
        return []
    block = min(CEILING_BLOCK, total)
    runs = max(1, total // block)
    z = np.ascontiguousarray(np.concatenate(zs)[:block])
    w = np.random.default_rng(0).standard_normal((BINS, d)).astype(np.float32)
    wt = np.ascontiguousarray(w.T)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["z", "w"], ["s"])], "ceiling",
        inputs=[helper.make_tensor_value_info("w", TensorProto.FLOAT, [d, BINS])],
        outputs=[helper.make_tensor_value_info("s", TensorProto.FLOAT, [block, BINS])],
        initializer=[numpy_helper.from_array(z, "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, os.path.join(directory, "matmul.onnx"))
    wt.tofile(os.path.join(directory, "w.f32"))
    check_rows = 8
    (z[:check_rows].astype(np.float64) @ wt.astype(np.float64)).astype(np.float32).tofile(
        os.path.join(directory, "expect.f32"))
    with open(os.path.join(directory, "meta.json"), "w") as f:
        json.dump({"block": block, "d": d, "bins": BINS, "runs": runs, "check_rows": check_rows}, f)
    done = subprocess.run(
        ["node", os.path.join(ROOT, "benches", "browser_ceiling.mjs"), "--dir", directory,
         "--repeats", str(max(repeats, 5))], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"no wasm ceiling: browser_ceiling.mjs failed:\n{done.stderr}", file=sys.stderr)
        return []
    out = json.loads(done.stdout)
    scale = total / (runs * block)
    rows = []
    for r in out["rows"]:
        label = f"{r['threads']} thread" + ("s" if r["threads"] > 1 else "")
        label += ", cross-origin isolated" if r["isolated"] else ""
        rows.append((label, r["best"] * scale, [t * scale for t in r["walls"]]))
    return [(f"onnxruntime-web {out['ort']} MatMul (Chromium {out['chromium']}, wasm simd128)",
             rows)]


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


def run_binary(binary, path, threads, fmt):
    """`infoplane analyze` with equal work to the reference's; its parsed report."""
    argv = [binary, "analyze", path, "--bins", str(BINS), "--orders", ",".join(map(str, ORDERS)),
            "--format", fmt, "--shuffles", "0"]
    if threads is not None:
        argv += ["--threads", str(threads)]
    return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)


def run_page(path, repeats, in_memory=False):
    """The page on `path`: [(workers used, label, times, report)] for 1 worker and its choice;
    with `in_memory`, the page's estimator on rows already in memory (as the reference is timed)
    instead of the page from the file to the result shown."""
    out = subprocess.run(
        ["node", os.path.join(ROOT, "benches", "browser_estimator.mjs"), "--file", path,
         "--workers", "1,auto", "--repeats", str(repeats),
         "--query", f"bins={BINS}&orders={','.join(map(str, ORDERS))}&shuffles=0"]
        + (["--rows-in-memory"] if in_memory else []),
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["runs"]


def report_difference(a, b):
    """None when equal number for number (the input files' directories aside), else where the first
    difference is and the two values."""
    def strip(r):
        r = json.loads(json.dumps(r))
        r["input"]["files"] = [os.path.basename(f) for f in r["input"]["files"]]
        return r

    def first(x, y, where):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if k not in x or k not in y:
                    return f"{where}/{k}: present in one report only"
                found = first(x[k], y[k], f"{where}/{k}")
                if found:
                    return found
            return None
        if isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return f"{where}: {len(x)} vs {len(y)} entries"
            for i, (u, v) in enumerate(zip(x, y)):
                found = first(u, v, f"{where}[{i}]")
                if found:
                    return found
            return None
        same_nan = isinstance(x, float) and isinstance(y, float) and x != x and y != y
        return None if x == y or same_nan else f"{where}: {x!r} vs {y!r}"

    return first(strip(a), strip(b), "")


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
    parser.add_argument("--dims", default="384,768,2048")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=20000, help="analysed rows per layer")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-build", action="store_true", help="build nothing")
    parser.add_argument("--no-page", action="store_true", help="leave the browser out")
    parser.add_argument("--binary", help="infoplane binary (default: $CARGO_TARGET_DIR/release)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary .npz files")
    args = parser.parse_args()

    if not args.no_build and not args.binary:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "infoplane"],
                       cwd=ROOT, check=True)
        if not args.no_page:
            subprocess.run(["bash", "scripts/build_web.sh"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
    binary = binary_path(args)
    if not os.path.exists(binary):
        sys.exit(f"no infoplane binary at {binary}")

    ref = reference.load()
    blas, threadpoolctl = blas_info()
    failures = []
    tables = []
    for d in [int(x) for x in args.dims.split(",")]:
        directory = tempfile.mkdtemp(prefix="infoplane-bench-")
        try:
            path, zs, labels, batches = make_input(args.rows, d, args.layers, directory)
            size_mb = os.path.getsize(path) / 1e6
            runs = []  # (implementation, threads, best, all times)
            t, ts, theirs = best_of(args.repeats, lambda: run_reference(ref, zs, labels, batches))
            runs.append(("soft-entropy 0.1.5 (numpy backend)", "BLAS default", t, ts))
            results = [("default BLAS threads", theirs)]
            if threadpoolctl is not None:
                with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
                    t, ts, res = best_of(args.repeats,
                                         lambda: run_reference(ref, zs, labels, batches))
                runs.append(("soft-entropy 0.1.5 (numpy backend)", "1 BLAS thread", t, ts))
                results.append(("1 BLAS thread", res))
            t, ts, one = best_of(args.repeats, lambda: run_binary(binary, path, 1, "json"))
            runs.append(("infoplane CLI", "1 thread", t, ts))
            t, ts, every = best_of(args.repeats, lambda: run_binary(binary, path, None, "json"))
            cores = len(os.sched_getaffinity(0))
            runs.append(("infoplane CLI", f"{min(cores, args.layers)} threads (default)", t, ts))
            diff = report_difference(one, every)
            if diff:
                failures.append(f"d={d}: the CLI's reports with 1 and all threads differ ({diff})")
            if not args.no_page:
                for in_memory, name in (
                        (True, "infoplane estimator in Chromium (simd128 wasm, rows in memory)"),
                        (False, "infoplane page (Chromium, simd128 wasm), file to result shown")):
                    for run in run_page(path, args.repeats, in_memory):
                        who = f"{run['used']} worker" + ("s" if run["used"] > 1 else "")
                        who += " (its choice)" if run["workers"] == "auto" else ""
                        runs.append((name, who, min(run["times"]), run["times"]))
                        diff = report_difference(run["report"], one)
                        if diff:
                            failures.append(f"d={d}: {name} ({who}): the report differs from the "
                                            f"CLI's ({diff})")
            ceiling = []
            for threads, label in ((1, "1 thread"), (None, "BLAS default threads")):
                if threads == 1 and threadpoolctl is None:
                    continue
                t, ts, _ = sgemm(zs, threadpoolctl, threads)
                ceiling.append((label, t, ts))
            wasm = [] if args.no_page else wasm_ceiling(zs, directory, args.repeats)
            ours = run_binary(binary, path, 1, "reference")["per_layer"]
        finally:
            if args.keep:
                print(f"kept {directory}", file=sys.stderr)
            else:
                shutil.rmtree(directory, ignore_errors=True)

        worst = 0.0
        for kind, res in results:
            for layer, (r, o) in enumerate(zip(res, ours)):
                for key in (k for k in KEYS if k in r):
                    diff = abs(r[key] - o[key])
                    worst = max(worst, diff)
                    if not diff <= TOLERANCE:
                        failures.append(f"d={d} layer {layer} reference ({kind}): {key} "
                                        f"{r[key]!r} vs infoplane {o[key]!r} (|diff| {diff:.2e})")
        total = args.rows * args.layers
        gflop = total * d * BINS * 2 / 1e9
        base = total / runs[0][2]
        lines = [f"### d = {d}: {args.layers} layers x {args.rows} rows, {BINS} bins, 6 label sets, "
                 f"{size_mb:.0f} MB .npz\n",
                 f"| implementation | threads | best of {args.repeats} (s) | all runs (s) | rows/s "
                 f"| GFLOP/s | vs reference |",
                 "| --- | --- | ---: | --- | ---: | ---: | ---: |"]
        for name, threads, t, ts in runs:
            lines.append(f"| {name} | {threads} | {t:.3f} | {', '.join(f'{x:.3f}' for x in ts)} "
                         f"| {total / t:,.0f} | {gflop / t:.1f} | {total / t / base:.2f}x |")
        for label, t, ts in ceiling:
            lines.append(f"| ceiling: numpy sgemm, same product | {label} | {t:.3f} "
                         f"| {', '.join(f'{x:.3f}' for x in ts)} | {total / t:,.0f} "
                         f"| {gflop / t:.1f} | |")
        for name, rows in wasm:
            for label, t, ts in rows:
                lines.append(f"| ceiling: {name}, same product | {label} | {t:.3f} "
                             f"| {', '.join(f'{x:.3f}' for x in ts)} | {total / t:,.0f} "
                             f"| {gflop / t:.1f} | |")
        distinct = {name: len(np.unique(lab)) for name, lab in labels.items()}
        lines.append("")
        lines.append(f"- reference fed batches of {BATCH_SEQUENCES} sequences ({batches[0]} rows); "
                     "distinct labels: " + ", ".join(f"{k}={v}" for k, v in distinct.items()))
        lines.append(f"- H(Z) and the 6 I(X;Z) of every layer, reference vs infoplane: max |diff| "
                     f"{worst:.1e} (tolerance {TOLERANCE:g}); CLI 1 vs all threads"
                     + ("" if args.no_page else " vs page") + " reports: "
                     + ("equal" if not any(f"d={d}:" in f and "differ" in f for f in failures)
                        else "DIFFER"))
        tables.append("\n".join(lines))
        print(tables[-1] + "\n", flush=True)

    env = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "unknown"
    print(f"- {datetime.date.today().isoformat()}; machine: {os.cpu_count()} CPUs (nproc "
          f"{len(os.sched_getaffinity(0))}), {cpu_model()}, {platform.system()} {platform.release()}")
    print(f"- python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas}")
    print(f"- OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
          f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}")
    print(f"- {rustc}; binary {binary}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
