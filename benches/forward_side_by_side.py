#!/usr/bin/env python3
"""Forward passes of all-MiniLM-L6-v2: PyTorch (CPU) beside infoplane, on the same token ids.

The tokens: "input_ids" of tests/fixtures/models/minilm_reference.json, the first 100 lines of
www/probe/probe_corpus.txt tokenised by the model's tokenizer (100 sequences, 1 607 tokens).

What it times, in one run:
  (a) transformers' BertModel from the model folder (float32, eval(), torch.inference_mode(),
      output_hidden_states=True), one sequence at a time as infoplane runs it (batch of 1, no
      padding, no attention mask), with torch.set_num_threads(1) and then 2: a warm-up pass over
      the 100 sequences, then --repeats timed passes. Loading the model is not timed.
  (b) the release CLI, end to end (process start, loading the 90 MB weights, tokenising, the
      forward passes, writing a 17 MB .npz):
          target/release/infoplane hidden-states MODEL --max-sequences 100 --out TMP/x.npz
      --repeats times. It tokenises the text itself; the script checks that its input_ids are the
      fixture's and that its hidden states match PyTorch's (largest absolute difference printed).
  (c) with --criterion, `cargo bench --bench forward` (benches/forward.rs: the forward passes
      alone, in process, one thread); in any case it prints the figure criterion last wrote to
      $CARGO_TARGET_DIR/criterion/forward/minilm_100_sequences/new/estimates.json, with its time.

For every timed part it records the machine's load: the busy time of all CPUs from /proc/stat
minus the part's own CPU time (getrusage of this process or of its children), as a share of
(wall time x CPUs), i.e. how much of the machine other processes used while the part ran.
Prints markdown tables: implementation, threads, tokens/s.

    bash scripts/fetch_minilm.sh && cargo build --release
    /tmp/torchvenv/bin/python benches/forward_side_by_side.py [--criterion]

Options: --model DIR, --binary PATH, --repeats N, --threads 1,2, --criterion.
"""

import argparse
import datetime
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
FIXTURE = os.path.join(ROOT, "tests/fixtures/models/minilm_reference.json")
CLK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count()


def cpu_busy():
    """Seconds all CPUs have been busy (not idle or iowait) since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK


def own_cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class Load:
    """Share of the machine other processes used between start and stop."""

    def __enter__(self):
        self.t, self.busy, self.own = time.perf_counter(), cpu_busy(), own_cpu()
        self.loadavg = open("/proc/loadavg").read().split()[0]
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t
        other = (cpu_busy() - self.busy) - (own_cpu() - self.own)
        self.other = max(0.0, other / (wall * NCPU))
        self.wall = wall

    def __str__(self):
        return f"{100 * self.other:.0f} % (1-min load avg {self.loadavg} at start)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(TARGET, "minilm/model"))
    ap.add_argument("--binary", default=os.path.join(TARGET, "release/infoplane"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--criterion", action="store_true", help="run cargo bench --bench forward first")
    args = ap.parse_args()

    import torch
    import transformers

    with open(FIXTURE) as f:
        seqs = json.load(f)["input_ids"]
    tokens = sum(len(s) for s in seqs)
    rows = []  # (implementation, threads, passes, best, load)
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {NCPU} CPUs, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, {len(seqs)} sequences, {tokens} tokens",
          file=sys.stderr)

    # (c) criterion first, so PyTorch and the CLI do not share the machine with it.
    if args.criterion:
        subprocess.run(["cargo", "bench", "--bench", "forward", "--no-run"], cwd=ROOT, check=True)
        with Load() as load:
            subprocess.run(["cargo", "bench", "--bench", "forward"], cwd=ROOT, check=True)
        crit_load = str(load)
    else:
        crit_load = None

    # (a) PyTorch.
    model = transformers.BertModel.from_pretrained(args.model, dtype=torch.float32).eval()
    attn = getattr(model.config, "_attn_implementation", "?")
    inputs = [torch.tensor([s], dtype=torch.long) for s in seqs]
    torch_states = None
    for n in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(n)
        with torch.inference_mode():
            def one_pass(keep=False):
                out = []
                for x in inputs:
                    hs = model(input_ids=x, output_hidden_states=True).hidden_states
                    if keep:
                        out.append(torch.stack(hs)[:, 0].numpy())
                return out

            warm = one_pass(keep=torch_states is None)
            if torch_states is None:
                torch_states = np.concatenate(warm, axis=1)  # [layers, tokens, d]
            passes = []
            with Load() as load:
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    one_pass()
                    passes.append(time.perf_counter() - t)
        rows.append((f"PyTorch {torch.__version__} BertModel (attention: {attn}), forward passes only",
                     n, passes, min(passes), str(load)))

    # (b) the CLI, end to end.
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "x.npz")
        cmd = [args.binary, "hidden-states", args.model, "--max-sequences", "100", "--out", out]
        passes = []
        with Load() as load:
            for _ in range(args.repeats):
                t = time.perf_counter()
                subprocess.run(cmd, check=True)
                passes.append(time.perf_counter() - t)
        rows.append(("infoplane CLI `hidden-states`, end to end (start, load 90 MB, tokenise, "
                     "forward, write 17 MB .npz)", 1, passes, min(passes), str(load)))
        dump = np.load(out)
        ids = dump["input_ids"].tolist()
        same_ids = ids == [t for s in seqs for t in s]
        diff = float(np.abs(dump["hidden_states"].astype(np.float64) - torch_states).max())

    # (c) criterion's figure.
    crit = sorted(glob.glob(os.path.join(TARGET, "criterion/forward/minilm_100_sequences/new/estimates.json")))
    crit_row = None
    if crit:
        with open(crit[0]) as f:
            est = json.load(f)
        med = est["median"]
        ns, lo, hi = med["point_estimate"], med["confidence_interval"]["lower_bound"], med["confidence_interval"]["upper_bound"]
        when = datetime.datetime.fromtimestamp(os.path.getmtime(crit[0]))
        crit_row = (ns, lo, hi, when)

    print()
    print(f"{len(seqs)} sequences, {tokens} tokens (all-MiniLM-L6-v2, {args.model})")
    print()
    print("| implementation | threads | passes (s) | best (s) | tokens/s | other processes' load during the part |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    if crit_row:
        ns, lo, hi, when = crit_row
        load = crit_load or f"not measured here (estimates.json written {when:%Y-%m-%d %H:%M})"
        print(f"| infoplane `model.forward` (criterion median [interval], benches/forward.rs), forward passes only "
              f"| 1 | {ns / 1e9:.3f} [{lo / 1e9:.3f}, {hi / 1e9:.3f}] per pass | {ns / 1e9:.3f} "
              f"| **{tokens / (ns / 1e9):,.0f}** [{tokens / (hi / 1e9):,.0f}, {tokens / (lo / 1e9):,.0f}] | {load} |")
    for name, n, passes, best, load in rows:
        print(f"| {name} | {n} | {', '.join(f'{p:.3f}' for p in passes)} | {best:.3f} | **{tokens / best:,.0f}** | {load} |")
    print()
    print(f"CLI input_ids equal to the fixture's: {'yes' if same_ids else 'NO'}; "
          f"largest |infoplane - PyTorch| over all {torch_states.shape[0]} hidden states: {diff:.2e}")
    if not same_ids:
        sys.exit(1)


if __name__ == "__main__":
    main()
