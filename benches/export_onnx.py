#!/usr/bin/env python3
"""Makes everything the forward-pass benchmark (benches/forward_harness.py) runs on, under
target/forward_bench/ (not committed). Run by hand, once, with the PyTorch venv:

    bash scripts/fetch_minilm.sh
    /tmp/torchvenv/bin/pip install onnx onnxscript onnxruntime    # beside torch + transformers
    /tmp/torchvenv/bin/python benches/export_onnx.py

Two models, and one fixed set of token ids for each (200 sequences of at most 64 tokens), so that
infoplane (CLI and page), PyTorch, onnxruntime and onnxruntime-web all see identical ids:

  minilm            all-MiniLM-L6-v2 (BERT, 6 blocks, d = 384) from target/minilm/model. Ids: the
                    first 200 lines of www/probe/probe_corpus.txt, each tokenised by the model's
                    tokenizer.json with its special tokens ([CLS] ... [SEP]) and then cut to its
                    first 64 ids — exactly what `infoplane ... --max-sequences 200 --max-length 64`
                    and the page's ?max_sequences=200&max_length=64 do with the built-in probe corpus
                    (a line longer than 64 tokens loses its [SEP], as infoplane cuts it).
  pythia70m_random  a Pythia-70m-shaped GPT-NeoX with random weights (GPTNeoXConfig: hidden 512,
                    6 layers, 8 heads, intermediate 2048, vocab 50304, rotary_pct 0.25, 2048
                    positions, parallel residual; torch.manual_seed(0), transformers' own init),
                    saved as GPTNeoXForCausalLM (config.json + model.safetensors, the layout of a
                    real Pythia folder). infoplane cannot be handed raw ids, so the folder also
                    gets a tokenizer.json of its own: a word-level vocabulary "t0" .. "t50303"
                    (token "t<i>" is id i) split on whitespace, no special tokens. The ids:
                    numpy default_rng(0), lengths uniform in 16..64, ids uniform in 0..50303; the
                    text infoplane runs on is pythia70m_random.txt, one line "t<id> t<id> ..." per
                    sequence.

What it writes (target/forward_bench/):
  ids.json                       {"minilm": {...}, "pythia70m_random": {...}}: per model, the
                                 "input_ids" (200 lists), token count, where the ids came from
                                 and the model folder / text file / ONNX file
  pythia70m_random/              config.json, model.safetensors, tokenizer.json
  pythia70m_random.txt           the ids as text, for infoplane's CLI (--text) and the page
  minilm.onnx, pythia70m_random.onnx
                                 the base model (BertModel / GPTNeoXModel), inputs input_ids and
                                 attention_mask (int64, [batch, sequence], both axes dynamic),
                                 outputs hidden_0 .. hidden_6: every hidden state, as HF's
                                 output_hidden_states=True gives them and as infoplane computes
                                 them (the embedding output, then each block's; NeoX's last one
                                 after final_layer_norm). hidden_6 is last_hidden_state. All
                                 hidden states, not only the last, because that is the work
                                 infoplane does; the extra outputs are the blocks' outputs that
                                 are computed anyway, so they cost only their copy out. One file,
                                 weights inside (no external data), opset 18, torch.onnx.export
                                 with the dynamo exporter.
  <model>_last_hidden.f32        PyTorch's last hidden state of every sequence, batch of 1,
                                 concatenated ([tokens, d], float32 little-endian): the reference
                                 benches/browser_onnx.mjs checks onnxruntime-web's outputs against.

Checks before it exits (non-zero on failure): onnxruntime (CPU) on the ONNX file against PyTorch
on all 200 sequences one at a time (every hidden state) and on one padded batch of 8 (hidden
states at the real positions), largest absolute difference at most --tolerance (1e-4); and, for
the random model, that its tokenizer.json gives back the ids from pythia70m_random.txt.

Options: --minilm DIR, --out DIR, --sequences 200, --max-length 64, --tolerance 1e-4,
--only minilm|pythia70m_random.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
CORPUS = os.path.join(ROOT, "www/probe/probe_corpus.txt")
OPSET = 18

# Pythia-70m's shape (EleutherAI/pythia-70m config.json), weights random.
PYTHIA_70M = dict(
    vocab_size=50304,
    hidden_size=512,
    num_hidden_layers=6,
    num_attention_heads=8,
    intermediate_size=2048,
    hidden_act="gelu",
    rotary_pct=0.25,
    rotary_emb_base=10000,
    max_position_embeddings=2048,
    initializer_range=0.02,
    layer_norm_eps=1e-5,
    use_parallel_residual=True,
    attention_bias=True,
    tie_word_embeddings=False,
    bos_token_id=0,
    eos_token_id=0,
)


def minilm_ids(model_dir, n, max_length):
    """The first n non-empty lines of the probe corpus, as infoplane tokenises them."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    with open(CORPUS, encoding="utf-8") as f:
        lines = [l for l in f.read().splitlines() if l.strip()][:n]
    ids = [tok.encode(l).ids[:max_length] for l in lines]
    cut = sum(len(tok.encode(l).ids) > max_length for l in lines)
    return lines, ids, cut


def random_ids(n, vocab):
    rng = np.random.default_rng(0)
    lengths = rng.integers(16, 65, size=n)  # 16..64
    return [rng.integers(0, vocab, size=int(k)).tolist() for k in lengths]


def word_level_tokenizer(vocab):
    """tokenizer.json whose token "t<i>" is id i: lets infoplane run on given ids."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    tok = Tokenizer(WordLevel({f"t{i}": i for i in range(vocab)}, unk_token="t0"))
    tok.pre_tokenizer = WhitespaceSplit()
    return tok


class AllHidden:
    """Wraps a HF base model as (input_ids, attention_mask) -> every hidden state."""

    @staticmethod
    def make(base):
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.base = base

            def forward(self, input_ids, attention_mask):
                out = self.base(input_ids=input_ids, attention_mask=attention_mask,
                                output_hidden_states=True)
                return tuple(out.hidden_states)

        return Wrapped().eval()


def torch_states(base, seqs):
    """Every hidden state of every sequence, batch of 1: list of [layers, T, d] arrays."""
    import torch

    out = []
    with torch.inference_mode():
        for s in seqs:
            hs = base(input_ids=torch.tensor([s]), output_hidden_states=True).hidden_states
            out.append(torch.stack(hs)[:, 0].numpy().copy())
    return out


def export(wrapped, path, layers):
    import torch

    names = [f"hidden_{i}" for i in range(layers)]
    x = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12], [5, 6, 7, 8, 9, 10, 11, 12]])
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    t = time.perf_counter()
    prog = torch.onnx.export(
        wrapped,
        (x, torch.ones_like(x)),
        dynamo=True,
        input_names=["input_ids", "attention_mask"],
        output_names=names,
        opset_version=OPSET,
        dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
        external_data=False,
        optimize=True,
    )
    prog.save(path, external_data=False)
    print(f"  exported {path} ({os.path.getsize(path) / 1e6:.1f} MB, {time.perf_counter() - t:.0f} s)",
          file=sys.stderr)
    return names


def check_onnx(path, base, seqs, ref, tolerance, pad_id=0):
    """onnxruntime CPU against PyTorch: every sequence alone, and one padded batch."""
    import onnxruntime as ort
    import torch

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    worst = 0.0
    for s, r in zip(seqs, ref):
        x = np.array([s], dtype=np.int64)
        outs = sess.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})
        got = np.stack([o[0] for o in outs])
        worst = max(worst, float(np.abs(got - r).max()))
    # A padded batch (right padding, mask 0 on the padding) against PyTorch at the real positions.
    batch = seqs[:8]
    longest = max(map(len, batch))
    x = np.full((len(batch), longest), pad_id, dtype=np.int64)
    m = np.zeros_like(x)
    for i, s in enumerate(batch):
        x[i, : len(s)], m[i, : len(s)] = s, 1
    outs = sess.run(None, {"input_ids": x, "attention_mask": m})
    with torch.inference_mode():
        hs = base(input_ids=torch.tensor(x), attention_mask=torch.tensor(m), output_hidden_states=True).hidden_states
    worst_batch = 0.0
    for i, s in enumerate(batch):
        got = np.stack([o[i, : len(s)] for o in outs])
        want = torch.stack(hs)[:, i, : len(s)].numpy()
        worst_batch = max(worst_batch, float(np.abs(got - want).max()))
    return worst, worst_batch


def do_model(key, base, seqs, layers, out, tolerance, entry):
    import torch

    print(f"{key}: PyTorch reference, {len(seqs)} sequences, {sum(map(len, seqs))} tokens", file=sys.stderr)
    ref = torch_states(base, seqs)
    last = np.concatenate([r[-1] for r in ref], axis=0).astype("<f4")
    last.tofile(os.path.join(out, f"{key}_last_hidden.f32"))
    path = os.path.join(out, f"{key}.onnx")
    export(AllHidden.make(base), path, layers)
    one, batched = check_onnx(path, base, seqs, ref, tolerance)
    print(f"  onnxruntime vs PyTorch, largest |difference|: {one:.2e} (one at a time, every hidden state), "
          f"{batched:.2e} (padded batch of 8)", file=sys.stderr)
    entry.update({
        "onnx": os.path.relpath(path, out),
        "onnx_outputs": [f"hidden_{i}" for i in range(layers)],
        "reference_last_hidden": f"{key}_last_hidden.f32",
        "d": int(last.shape[1]),
        "hidden_states": layers,
        "onnx_vs_pytorch_max_abs": {"one_at_a_time": one, "padded_batch_of_8": batched},
    })
    return max(one, batched) <= tolerance


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minilm", default=os.path.join(TARGET, "minilm/model"))
    ap.add_argument("--out", default=os.path.join(TARGET, "forward_bench"))
    ap.add_argument("--sequences", type=int, default=200)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--only", choices=["minilm", "pythia70m_random"])
    args = ap.parse_args()

    import onnx
    import onnxruntime
    import onnxscript
    import torch
    import transformers

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    ids_path = os.path.join(args.out, "ids.json")
    doc = {}
    if os.path.exists(ids_path):
        with open(ids_path) as f:
            doc = json.load(f)
    doc["versions"] = {
        "torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__,
        "onnxscript": onnxscript.__version__, "onnxruntime": onnxruntime.__version__, "opset": OPSET,
    }
    ok = True

    if args.only in (None, "minilm"):
        if not os.path.exists(os.path.join(args.minilm, "model.safetensors")):
            sys.exit(f"{args.minilm}: no model.safetensors (run bash scripts/fetch_minilm.sh)")
        lines, seqs, cut = minilm_ids(args.minilm, args.sequences, args.max_length)
        entry = {
            "model": "all-MiniLM-L6-v2",
            "model_dir": os.path.relpath(os.path.abspath(args.minilm), ROOT),
            "text": f"www/probe/probe_corpus.txt, first {len(seqs)} non-empty lines (the built-in probe "
                    f"corpus), each tokenised with special tokens and cut to its first {args.max_length} ids",
            "infoplane_args": ["--max-sequences", str(len(seqs)), "--max-length", str(args.max_length)],
            "page_query": f"max_sequences={len(seqs)}&max_length={args.max_length}",
            "lines_cut": cut,
            "sequences": len(seqs),
            "tokens": sum(map(len, seqs)),
            "input_ids": seqs,
        }
        base = transformers.BertModel.from_pretrained(args.minilm, dtype=torch.float32,
                                                      attn_implementation="eager").eval()
        ok &= do_model("minilm", base, seqs, base.config.num_hidden_layers + 1, args.out, args.tolerance, entry)
        doc["minilm"] = entry

    if args.only in (None, "pythia70m_random"):
        key = "pythia70m_random"
        folder = os.path.join(args.out, key)
        os.makedirs(folder, exist_ok=True)
        config = transformers.GPTNeoXConfig(**PYTHIA_70M)
        torch.manual_seed(0)
        lm = transformers.GPTNeoXForCausalLM(config).eval()
        lm.save_pretrained(folder, safe_serialization=True)
        tok = word_level_tokenizer(config.vocab_size)
        tok.save(os.path.join(folder, "tokenizer.json"))
        seqs = random_ids(args.sequences, config.vocab_size)
        text = "".join(" ".join(f"t{i}" for i in s) + "\n" for s in seqs)
        with open(os.path.join(args.out, f"{key}.txt"), "w") as f:
            f.write(text)
        # The tokenizer must give back exactly these ids (infoplane uses the same tokenizer.json).
        back = [tok.encode(l).ids for l in text.splitlines()]
        if back != seqs:
            print(f"{key}: tokenizer.json does not give back the ids", file=sys.stderr)
            ok = False
        entry = {
            "model": "Pythia-70m-shaped GPT-NeoX, random weights (torch.manual_seed(0))",
            "model_dir": os.path.relpath(folder, ROOT),
            "text_file": os.path.relpath(os.path.join(args.out, f"{key}.txt"), ROOT),
            "text": "numpy default_rng(0): lengths integers(16, 65), ids integers(0, 50304); token t<i> = id i",
            "infoplane_args": ["--text", os.path.relpath(os.path.join(args.out, f"{key}.txt"), ROOT),
                               "--max-sequences", str(len(seqs)), "--max-length", str(args.max_length)],
            "page_query": f"max_sequences={len(seqs)}&max_length={args.max_length}",
            "sequences": len(seqs),
            "tokens": sum(map(len, seqs)),
            "input_ids": seqs,
        }
        base = transformers.GPTNeoXModel.from_pretrained(folder, dtype=torch.float32,
                                                         attn_implementation="eager").eval()
        ok &= do_model(key, base, seqs, config.num_hidden_layers + 1, args.out, args.tolerance, entry)
        doc[key] = entry

    with open(ids_path, "w") as f:
        json.dump(doc, f)
    print(f"wrote {ids_path}", file=sys.stderr)
    if not ok:
        sys.exit(f"a check failed (tolerance {args.tolerance})")


if __name__ == "__main__":
    main()
