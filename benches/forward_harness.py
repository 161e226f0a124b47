#!/usr/bin/env python3
"""Forward-pass tokens/s of two models, every implementation on the same token ids: infoplane
natively (criterion and the CLI) and in the page (wasm), PyTorch CPU, onnxruntime CPU, and the
browser peer onnxruntime-web, in one side-by-side table per model.

The models and ids (target/forward_bench, made once by hand by benches/export_onnx.py):
  minilm            all-MiniLM-L6-v2 on the first 200 lines of www/probe/probe_corpus.txt,
                    tokenised by its tokenizer, cut to 64 tokens (3 117 tokens)
  pythia70m_random  a Pythia-70m-shaped GPT-NeoX with random weights on 200 sequences of 16..64
                    random ids (8 311 tokens)
"tokens/s" is always the real tokens of the set over the best pass (padding never counts).

What it runs, in this order (so the timed parts do not share the machine with each other):
  (1) unless --no-criterion: `cargo bench --bench forward -- forward_200x64` (benches/forward.rs,
      group forward_200x64: model.forward over the set in process, one thread, the sink doing
      nothing, weights loaded before timing; 10 samples of one pass). Its median comes from
      $CARGO_TARGET_DIR/criterion/forward_200x64/<model>/new/estimates.json (with --no-criterion,
      whatever an earlier run left there is printed, with its date).
  (2) PyTorch CPU (transformers' BertModel / GPTNeoXModel, float32, eval(), inference_mode,
      output_hidden_states=True, default attention), torch.set_num_threads(1) then 2:
        one at a time: batch of 1, no padding, no attention mask;
        batched: batches of --batch sequences in the set's order, right-padded with id 0 to the
          batch's longest, attention_mask 0 on the padding.
      Each: a warm-up pass, then --repeats timed passes. Loading is not timed.
  (3) onnxruntime CPU (Python, the same ONNX file as the browser peer), intra-op threads 1 then
      2, one at a time (input_ids + attention_mask of ones, every output fetched): warm-up, then
      --repeats passes. A native reference for what onnxruntime-web does in wasm.
  (4) the release CLI, end to end (process start, loading the weights, tokenising, the forward
      passes, writing the .npz of every hidden state), --repeats times with each of --threads
      (its forward passes in batches of consecutive sequences, up to 64 tokens each, side by side on
      that many threads):
        infoplane hidden-states DIR [--text T] --max-sequences 200 --max-length 64 --out TMP/x.npz --threads N
      Its input_ids are checked against ids.json and its hidden states against PyTorch's (one at
      a time, 1 thread): largest absolute difference, all hidden states and the last one.
  (5) unless --no-browser: node benches/browser_onnx.mjs (onnxruntime-web in Chromium, 1 thread
      as a static page, 2 threads cross-origin isolated) and node benches/browser_page_forward.mjs
      (infoplane's page with as many Web Workers as --threads: the forward phase, from the first
      pass the page asks for to the report it asks for, and pick -> result end to end; its report
      checked against the CLI's). Their rows join the table.

Load: for every timed part, other processes' share of the machine while it ran (busy CPU from
/proc/stat minus the part's own CPU time).

    /tmp/torchvenv/bin/python benches/export_onnx.py          # once (target/forward_bench)
    bash scripts/build_web.sh && cargo build --release
    (cd benches && npm ci) && (cd tests/browser && npm ci)
    /tmp/torchvenv/bin/python benches/forward_harness.py

Options: --models minilm,pythia70m_random, --repeats N (3), --threads 1,2, --batch B (32),
--binary PATH, --no-criterion, --no-browser, --no-onnxruntime, --json OUT (every row as JSON),
--stale-ok (run the page even if www/pkg is older than src/; the CLI binary being older than
src/ is only warned about, as it is the build the lead chose to measure).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

# How the CLI and the page run the 200 sequences: consecutive ones stacked into batches of at most
# 64 tokens (src/model/mod.rs BATCH_TOKENS), each row computed as in its sequence alone.
INFOPLANE_BATCHES = "batches of <= 64 tokens, no padding"

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BENCH = os.path.join(TARGET, "forward_bench")
NCPU = os.cpu_count()
CLK = os.sysconf("SC_CLK_TCK")


def cpu_busy():
    """Seconds all CPUs have been busy (not idle or iowait) since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK


def own_cpu():
    """CPU seconds of this process and its finished children."""
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


def row(model, impl, where, threads, mode, passes, tokens, load, **extra):
    best = min(passes)
    return dict(model=model, implementation=impl, where=where, threads=threads, mode=mode,
                walls=list(passes), best=best, tokens=tokens, tokens_per_s=tokens / best,
                load=str(load) if not isinstance(load, str) else load, **extra)


def base_model(key, set_):
    import torch
    import transformers

    cls = transformers.BertModel if key == "minilm" else transformers.GPTNeoXModel
    return cls.from_pretrained(os.path.join(ROOT, set_["model_dir"]), dtype=torch.float32).eval()


def pytorch_rows(key, set_, args, rows):
    """Returns PyTorch's hidden states of every sequence ([layers, tokens, d]), batch of 1."""
    import torch

    seqs = set_["input_ids"]
    tokens = set_["tokens"]
    model = base_model(key, set_)
    attn = getattr(model.config, "_attn_implementation", "?")
    name = f"PyTorch {torch.__version__} {type(model).__name__} (attention {attn})"
    singles = [torch.tensor([s]) for s in seqs]
    batches = []
    for i in range(0, len(seqs), args.batch):
        chunk = seqs[i:i + args.batch]
        longest = max(map(len, chunk))
        x = torch.zeros((len(chunk), longest), dtype=torch.long)
        m = torch.zeros_like(x)
        for j, s in enumerate(chunk):
            x[j, :len(s)] = torch.tensor(s)
            m[j, :len(s)] = 1
        batches.append((x, m, [len(s) for s in chunk]))
    states, batch_diff = None, None
    for first, n in zip([True] + [False] * len(args.threads), args.threads):
        torch.set_num_threads(n)
        with torch.inference_mode():
            def one_at_a_time(keep=False):
                out = []
                for x in singles:
                    hs = model(input_ids=x, output_hidden_states=True).hidden_states
                    if keep:
                        out.append(torch.stack(hs)[:, 0].numpy())
                return out

            def batched(keep=False):
                out = []
                for x, m, lens in batches:
                    hs = torch.stack(model(input_ids=x, attention_mask=m, output_hidden_states=True).hidden_states)
                    if keep:
                        out.extend(hs[:, j, :k].numpy() for j, k in enumerate(lens))
                return out

            for mode, fn in [("one at a time", one_at_a_time), (f"batched, batches of {args.batch}, padded", batched)]:
                # Warm-up; on the first thread count it also keeps the hidden states.
                warm = fn(keep=first)
                if first and fn is one_at_a_time:
                    states = np.concatenate(warm, axis=1)  # [layers, tokens, d]
                elif first:
                    batch_diff = float(np.abs(np.concatenate(warm, axis=1) - states).max())
                passes = []
                with Load() as load:
                    for _ in range(args.repeats):
                        t = time.perf_counter()
                        fn()
                        passes.append(time.perf_counter() - t)
                rows.append(row(key, name, "native (Python)", n, mode, passes, tokens, load))
                print(f"  {name}, {n} thread(s), {mode}: best {min(passes):.3f} s", file=sys.stderr)
    return states, batch_diff


def onnxruntime_rows(key, set_, args, rows):
    import onnxruntime as ort

    path = os.path.join(BENCH, set_["onnx"])
    feeds = [{"input_ids": np.array([s], dtype=np.int64), "attention_mask": np.ones((1, len(s)), dtype=np.int64)}
             for s in set_["input_ids"]]
    for n in args.threads:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = n
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        for f in feeds:
            sess.run(None, f)
        passes = []
        with Load() as load:
            for _ in range(args.repeats):
                t = time.perf_counter()
                for f in feeds:
                    sess.run(None, f)
                passes.append(time.perf_counter() - t)
        rows.append(row(key, f"onnxruntime {ort.__version__} CPU, {os.path.basename(path)}", "native (Python)", n,
                        "one at a time", passes, set_["tokens"], load))
        print(f"  onnxruntime, {n} thread(s): best {min(passes):.3f} s", file=sys.stderr)


def cli_rows(key, set_, args, rows, states):
    """The CLI end to end; returns the checks against ids.json and PyTorch."""
    cut = [os.path.join(ROOT, a) if a == set_.get("text_file") else a for a in set_["infoplane_args"]]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "x.npz")
        for n in args.threads:
            cmd = [args.binary, "hidden-states", os.path.join(ROOT, set_["model_dir"]), *cut, "--out", out,
                   "--threads", str(n)]
            passes = []
            with Load() as load:
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    subprocess.run(cmd, check=True)
                    passes.append(time.perf_counter() - t)
            shown = " ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in cmd[1:]).replace(
                os.path.relpath(out, ROOT), "TMP/x.npz")
            rows.append(row(key, f"infoplane CLI `{shown}`, end to end (start, load, tokenise, forward, write .npz; "
                            "forward passes side by side on the threads)",
                            "native", n, INFOPLANE_BATCHES, passes, set_["tokens"], load))
            print(f"  CLI, {n} thread(s): best {min(passes):.3f} s", file=sys.stderr)
        dump = np.load(out)
        same_ids = dump["input_ids"].tolist() == [t for s in set_["input_ids"] for t in s] and \
            dump["seq_lens"].tolist() == [len(s) for s in set_["input_ids"]]
        hs = dump["hidden_states"].astype(np.float64)
        check = {"cli_ids_equal": same_ids}
        if states is not None and hs.shape == states.shape:
            check["cli_vs_pytorch_max_abs_all"] = float(np.abs(hs - states).max())
            check["cli_vs_pytorch_max_abs_last"] = float(np.abs(hs[-1] - states[-1]).max())
            check["pytorch_max_abs_last"] = float(np.abs(states[-1]).max())
        return check


def criterion_rows(key, set_, rows, load):
    path = os.path.join(TARGET, "criterion/forward_200x64", key, "new/estimates.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        med = json.load(f)["median"]
    ns, lo, hi = med["point_estimate"], med["confidence_interval"]["lower_bound"], med["confidence_interval"]["upper_bound"]
    when = datetime.datetime.fromtimestamp(os.path.getmtime(path))
    tokens = set_["tokens"]
    rows.append(dict(model=key, implementation="infoplane `model.forward` in process (criterion median [interval], "
                     "benches/forward.rs forward_200x64)", where="native", threads=1, mode="one at a time",
                     walls=[ns / 1e9], best=ns / 1e9, tokens=tokens, tokens_per_s=tokens / (ns / 1e9),
                     interval=[tokens / (hi / 1e9), tokens / (lo / 1e9)],
                     load=load or f"not measured here (estimates.json written {when:%Y-%m-%d %H:%M})"))


def node(script, models, repeats, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = ["node", os.path.join(ROOT, "benches", script), "--models", ",".join(models), "--repeats", str(repeats),
               "--json", out, *extra]
        print(f"$ {' '.join(cmd[1:])}", file=sys.stderr)
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        sys.stderr.write(proc.stdout)
        if not os.path.exists(out):
            return {"rows": [], "errors": [f"{script} exited {proc.returncode} without results"]}
        with open(out) as f:
            res = json.load(f)
        if proc.returncode:
            res.setdefault("errors", []).append(f"{script} exited {proc.returncode}")
        return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="minilm,pythia70m_random")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--binary", default=os.path.join(TARGET, "release/infoplane"))
    ap.add_argument("--no-criterion", action="store_true")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-onnxruntime", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--stale-ok", action="store_true")
    args = ap.parse_args()
    args.threads = [int(x) for x in args.threads.split(",")]
    models = args.models.split(",")

    ids_path = os.path.join(BENCH, "ids.json")
    if not os.path.exists(ids_path):
        sys.exit(f"{ids_path} is missing: run /tmp/torchvenv/bin/python benches/export_onnx.py first")
    with open(ids_path) as f:
        sets = json.load(f)
    import torch
    import transformers

    started = datetime.datetime.now()
    print(f"{started:%Y-%m-%d %H:%M}, {NCPU} CPUs, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}", file=sys.stderr)
    rows, checks, notes, warnings = [], {m: {} for m in models}, [], []
    newest_src = max(os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(ROOT, "src")) for f in fs)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} is missing: cargo build --release")
    if os.path.getmtime(args.binary) < newest_src:
        warnings.append(f"{os.path.relpath(args.binary, ROOT)} is older than src/ (cargo build --release rebuilds it)")

    crit_load = None
    if not args.no_criterion:
        subprocess.run(["cargo", "bench", "--bench", "forward", "--no-run"], cwd=ROOT, check=True)
        with Load() as load:
            r = subprocess.run(["cargo", "bench", "--bench", "forward", "--", "forward_200x64"], cwd=ROOT)
        if r.returncode:
            notes.append(f"cargo bench exited {r.returncode}")
        crit_load = str(load)

    for key in models:
        set_ = sets[key]
        print(f"{key}: {set_['sequences']} sequences, {set_['tokens']} tokens", file=sys.stderr)
        criterion_rows(key, set_, rows, crit_load)
        states, batch_diff = pytorch_rows(key, set_, args, rows)
        checks[key]["pytorch_batched_vs_one_at_a_time_max_abs"] = batch_diff
        if not args.no_onnxruntime:
            onnxruntime_rows(key, set_, args, rows)
        checks[key].update(cli_rows(key, set_, args, rows, states))
        checks[key]["onnx_vs_pytorch_max_abs (export_onnx.py)"] = set_.get("onnx_vs_pytorch_max_abs")

    if not args.no_browser:
        ort = node("browser_onnx.mjs", models, args.repeats, ["--threads", ",".join(map(str, args.threads))])
        page = node("browser_page_forward.mjs", models, args.repeats,
                    ["--workers", ",".join(map(str, args.threads))] + (["--stale-ok"] if args.stale_ok else []))
        for res in (ort, page):
            for r in res.get("rows", []):
                r.setdefault("mode", "one at a time")
                rows.append(r)
            notes.extend(res.get("errors", []))
            if res.get("refused"):
                notes.append(f"requests refused (not 127.0.0.1): {res['refused'][:3]}")
        for r in ort.get("rows", []):
            checks[r["model"]][f"onnxruntime-web {r['threads']} thread(s) last hidden vs PyTorch max abs"] = \
                r["max_abs_diff_last_hidden_vs_pytorch"]
        for c in page.get("checks", []):
            checks[c["model"]]["page_ids_equal"] = checks[c["model"]].get("page_ids_equal", True) and c["same_ids"]
            checks[c["model"]][f"page ({c['workers']} worker(s)) report equal to `{c['cli']}`"] = c["same_report_as_cli"]

    print()
    print(f"{started:%Y-%m-%d %H:%M}, {NCPU} CPUs; every row one model on the same ids; tokens/s = tokens / best pass")
    for key in models:
        set_ = sets[key]
        print()
        print(f"### {key}: {set_['model']}, {set_['sequences']} sequences, {set_['tokens']} tokens")
        print()
        print("| implementation | where | threads | mode | passes (s) | best (s) | tokens/s | other processes' load |")
        print("| --- | --- | ---: | --- | --- | ---: | ---: | --- |")
        for r in rows:
            if r["model"] != key:
                continue
            tps = f"**{r['tokens_per_s']:,.0f}**"
            if r.get("interval"):
                tps += f" [{r['interval'][0]:,.0f}, {r['interval'][1]:,.0f}]"
            impl = r["implementation"] + (f" ({r['note']})" if r.get("note") else "")
            where = r["where"] + (", cross-origin isolated" if r.get("isolated") else "")
            print(f"| {impl} | {where} | {r['threads']} | {r['mode']} | {', '.join(f'{w:.3f}' for w in r['walls'])} | "
                  f"{r['best']:.3f} | {tps} | {r['load']} |")
        print()
        for k, v in checks[key].items():
            print(f"- {k}: {v if not isinstance(v, float) else f'{v:.2e}'}")
        # The done-when, as ratios of this run's rows.
        pick = lambda pred: max((r["tokens_per_s"] for r in rows if r["model"] == key and pred(r)), default=None)
        page_rows = lambda n: pick(lambda r: r["implementation"].startswith("infoplane page")
                                   and "forward passes" in r["implementation"] and r["threads"] == n)
        page1, page = page_rows(1), pick(lambda r: r["implementation"].startswith("infoplane page")
                                         and "forward passes" in r["implementation"])
        ortw1 = pick(lambda r: r["implementation"].startswith("onnxruntime-web") and r["threads"] == 1)
        ortw2 = pick(lambda r: r["implementation"].startswith("onnxruntime-web") and r["threads"] == 2)
        native = pick(lambda r: r["where"] == "native" and r["implementation"].startswith("infoplane"))
        pt1 = pick(lambda r: r["implementation"].startswith("PyTorch") and r["mode"] == "one at a time")
        ptb = pick(lambda r: r["implementation"].startswith("PyTorch") and r["mode"].startswith("batched"))
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
        print(f"- page forward (best worker count) / onnxruntime-web: {ratio(page, ortw1)} (onnxruntime-web on 1 thread, "
              f"what a static page gets), {ratio(page, ortw2)} (2 threads, isolated); page with 1 worker / onnxruntime-web "
              f"1 thread: {ratio(page1, ortw1)}; "
              f"PyTorch (best threads) / infoplane native: {ratio(pt1, native)} one at a time, {ratio(ptb, native)} batched "
              f"(done when the page's ratio is >= 1 and the native ratios are <= 1.5)")
    if notes or warnings:
        print()
        for n in warnings:
            print(f"WARNING: {n}")
        for n in notes:
            print(f"NOTE: {n}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "checks": checks, "notes": notes}, f, indent=1)
    bad = any(c.get("cli_ids_equal") is False or c.get("page_ids_equal") is False for c in checks.values())
    if bad or notes:
        sys.exit(1)


if __name__ == "__main__":
    main()
