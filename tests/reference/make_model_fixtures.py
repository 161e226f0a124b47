#!/usr/bin/env python3
"""Builds the model parity fixtures: tiny random-weight Hugging Face checkpoints and HF's hidden states.

What it writes (issue 5), under tests/fixtures/models/:
  <name>/config.json, model.safetensors (gpt2_bin: pytorch_model.bin), generation_config.json for
      the causal LMs, and the tokenizer as `PreTrainedTokenizerFast.save_pretrained` writes it
      (tokenizer.json, tokenizer_config.json; transformers 5 writes no special_tokens_map.json, and
      tokenizer_class is set to "PreTrainedTokenizerFast"), each folder under 1 MB.
  <name>/expected.npz
      texts              <U   [4]                 the probe sentences used (lines TEXT_LINES of
                                                  www/probe/probe_corpus.txt; line 42 is the long one)
      input_ids_<i>      int64 [len]              `tokenizer(text)["input_ids"]` of the folder's own
                                                  tokenizer loaded with AutoTokenizer: special tokens
                                                  as HF adds them, no padding, no truncation
      hidden_states_<i>  float32 [layers+1, len, d]  `model(ids, output_hidden_states=True)` for that
                                                  one sequence (batch 1, no padding, no attention mask),
                                                  float32, eval mode, eager attention, CPU
  versions.json   python, torch, transformers, tokenizers, safetensors and numpy versions.

The models (all seeded; default HF init with initializer_range 0.2, then every 1-D parameter, that
is norm weights and biases, which HF initialises to exactly 1 or 0, is perturbed by N(0, 0.1) so a
forward pass that ignores a norm weight or a bias fails the comparison):
  gpt2          GPT2LMHeadModel, d 64, 2 layers, 4 heads, byte-level BPE
  gpt2_bin      the same weights as gpt2 saved with torch.save as pytorch_model.bin (the state dict as
                transformers 4.x wrote it with safe_serialization=False: lm_head.weight is an alias
                of transformer.wte.weight, sharing its storage); transformers 5 has no
                safe_serialization switch any more
  gpt2_f16      gpt2's weights rounded to float16 and saved as float16; expected states from the
                float16 weights loaded as float32 (computation in float32)
  gpt_neox      GPTNeoXForCausalLM, d 64, 2 layers, rotary on 25% of each head, parallel residual
  gpt_neox_seq  GPTNeoXForCausalLM, d 64, 2 layers, full rotary, sequential residual; its config.json
                is rewritten in the pre-transformers-5 spelling real Pythia checkpoints use
                (rotary_pct, rotary_emb_base, torch_dtype, no rope_parameters)
  llama         LlamaForCausalLM, d 64, 2 layers, 4 heads, 2 key/value heads (GQA), untied
                embeddings, rope_theta 10000, RMSNorm eps 1e-5, SwiGLU; Llama-style tokenizer
  llama_tied    the same shape with 4 key/value heads and tie_word_embeddings; config.json in the
                pre-transformers-5 spelling of TinyLlama/SmolLM (rope_theta, rope_scaling: null)
  llama_bf16    llama's weights rounded to bfloat16 and saved as bfloat16; expected states from the
                bfloat16 weights loaded as float32
  bert          BertModel (with its pooler, as all-MiniLM-L6-v2's checkpoint has), d 32, 3 layers,
                4 heads, absolute positions, GELU, post-norm; WordPiece tokenizer; token_type_ids
                left to BertModel's default (all 0)
  olmo2         Olmo2ForCausalLM (if this transformers has it), d 64, 2 layers, untied

Tokenizers, trained here on www/probe/probe_corpus.txt with the `tokenizers` library:
  bytelevel  (gpt2, gpt_neox*, olmo2) GPT-2-style byte-level BPE, 500 tokens, `<|endoftext|>` = 0,
             no special tokens added to a sequence
  llama      (llama*) SentencePiece-style BPE as TinyLlama's tokenizer.json spells it: normalizer
             Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer, byte_fallback with the 256 `<0xNN>`
             tokens at ids 3..258, <unk> 0, <s> 1, </s> 2, and a TemplateProcessing post-processor that
             puts <s> in front; the alphabet is the ASCII characters seen at least 3 times, so rarer
             ones (é in line 7, ( ) - $ !) fall back to <0xNN> bytes; 640 tokens
  wordpiece  (bert) BERT-style: BertNormalizer (lowercase, accents stripped), BertPreTokenizer,
             WordPiece ##, [PAD] 0 [UNK] 1 [CLS] 2 [SEP] 3 [MASK] 4, [CLS] $A [SEP]; 500 tokens, the
             pieces learnt by the BPE trainer (each as a word start and as ##piece), because the
             WordPieceTrainer's vocabulary changes from run to run
The byte-level and Llama trainings are given their alphabet and are deterministic (checked: the same
tokenizer.json every run).

How to run (by hand, from the repository root; never in CI, which has neither torch nor transformers):
    /tmp/torchvenv/bin/pip install torch transformers tokenizers safetensors numpy
    /tmp/torchvenv/bin/python tests/reference/make_model_fixtures.py
  (made with Python 3.11.7, torch 2.15.0 (the +cu132 build, run on CPU), transformers 5.24.0, tokenizers 0.23.3,
  safetensors 0.8.0, numpy 2.4.6; versions.json records what was actually used.)
Nothing is downloaded: every model and tokenizer is built here.
"""

import collections
import copy
import json
import os
import platform
import shutil
import sys

import numpy as np

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import safetensors  # noqa: E402
import safetensors.torch  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "www", "probe", "probe_corpus.txt")
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
TEXT_LINES = [0, 7, 42, 199]
INIT_RANGE = 0.2
PERTURB = 0.1
MAX_POSITIONS = 128
MAX_FOLDER_BYTES = 1_000_000
MIN_LAYER_CHANGE = 0.05  # relative Frobenius change of the states from one layer to the next


def read_corpus():
    with open(CORPUS, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    assert all(lines), "empty line in the probe corpus"
    return lines


# ---------------------------------------------------------------- tokenizers


def bytelevel_tokenizer(lines):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=500, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")


def llama_tokenizer(lines):
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    # Only for training, so that no merge crosses a word start (as SentencePiece trains); the
    # tokenizer itself has no pre-tokenizer, like Llama's.
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    # The alphabet is given, not left to `limit_alphabet`, whose cut breaks ties between equally
    # rare characters at random: ASCII characters seen at least 3 times, and the word start.
    counts = collections.Counter(ch for line in lines for ch in line.replace(" ", "▁"))
    alphabet = sorted(ch for ch, n in counts.items() if n >= 3 and (ch.isascii() or ch == "▁"))
    trainer = trainers.BpeTrainer(vocab_size=640 - 256, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=alphabet, limit_alphabet=len(alphabet), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    spec = json.loads(tok.to_str())
    trained = sorted(spec["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {t: i for i, t in enumerate(specials)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in trained:
        if token not in vocab:
            vocab[token] = len(vocab)
    spec["model"]["vocab"] = vocab
    spec["pre_tokenizer"] = None
    for added in spec["added_tokens"]:
        added["id"] = vocab[added["content"]]
    spec["decoder"] = json.loads(decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0),
    ]).__getstate__())
    spec["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", vocab["<s>"])],
    ).__getstate__())
    tok = Tokenizer.from_str(json.dumps(spec))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def wordpiece_tokenizer(lines):
    """A WordPiece vocabulary learnt by the BPE trainer: every piece p as a word start and as "##p".

    The `tokenizers` WordPieceTrainer numbers its "##" alphabet in hash-map order, which changes the
    tie-breaking of its merges and so the vocabulary from run to run; the plain BPE trainer with a
    given alphabet is deterministic, and WordPiece only needs the resulting pieces.
    """
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizer
    bpe.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    alphabet = sorted({ch for line in lines for ch in normalizer.normalize_str(line) if not ch.isspace()})
    trainer = trainers.BpeTrainer(vocab_size=250, min_frequency=2, initial_alphabet=alphabet,
                                  limit_alphabet=len(alphabet), show_progress=False)
    bpe.train_from_iterator(lines, trainer)
    vocab = {t: i for i, t in enumerate(specials)}
    for piece, _ in sorted(bpe.get_vocab().items(), key=lambda kv: kv[1]):
        for t in (piece, "##" + piece):
            if len(vocab) < 500:
                vocab.setdefault(t, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.add_special_tokens(specials)
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                                   cls_token="[CLS]", mask_token="[MASK]")


# ---------------------------------------------------------------- models


def perturb_vectors(model, seed):
    """Norm weights (all 1) and biases (all 0) get N(0, PERTURB) added, so the fixtures test them."""
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn(p.shape, generator=gen) * PERTURB)


def build(cls, config, seed):
    torch.manual_seed(seed)
    model = cls(config).float().eval()
    perturb_vectors(model, seed)
    return model


def gpt2_model(vocab):
    config = transformers.GPT2Config(vocab_size=vocab, n_positions=MAX_POSITIONS, n_embd=64, n_layer=2, n_head=4,
                                     initializer_range=INIT_RANGE, bos_token_id=0, eos_token_id=0)
    return build(transformers.GPT2LMHeadModel, config, seed=1)


def neox_model(vocab, parallel, rotary_pct, seed):
    config = transformers.GPTNeoXConfig(
        vocab_size=vocab, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        max_position_embeddings=MAX_POSITIONS, rotary_pct=rotary_pct, rotary_emb_base=10000,
        use_parallel_residual=parallel, initializer_range=INIT_RANGE, bos_token_id=0, eos_token_id=0,
        tie_word_embeddings=False)
    return build(transformers.GPTNeoXForCausalLM, config, seed)


def llama_model(vocab, kv_heads, tied, seed):
    config = transformers.LlamaConfig(
        vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=kv_heads, max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, hidden_act="silu",
        tie_word_embeddings=tied, initializer_range=INIT_RANGE, bos_token_id=1, eos_token_id=2)
    return build(transformers.LlamaForCausalLM, config, seed)


def bert_model(vocab):
    config = transformers.BertConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=128,
        hidden_act="gelu", max_position_embeddings=MAX_POSITIONS, type_vocab_size=2, layer_norm_eps=1e-12,
        initializer_range=INIT_RANGE, pad_token_id=0, position_embedding_type="absolute")
    return build(transformers.BertModel, config, seed=6)


def olmo2_model(vocab):
    config = transformers.Olmo2Config(
        vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0}, tie_word_embeddings=False,
        initializer_range=INIT_RANGE, bos_token_id=None, pad_token_id=0, eos_token_id=0)
    return build(transformers.Olmo2ForCausalLM, config, seed=7)


# ---------------------------------------------------------------- folders


def save_tokenizer(tokenizer, folder):
    """As save_pretrained writes it, but naming the class "PreTrainedTokenizerFast" (what real HF
    folders and transformers 4.x use) rather than transformers 5's alias "TokenizersBackend"."""
    tokenizer.save_pretrained(folder)
    path = os.path.join(folder, "tokenizer_config.json")
    with open(path) as f:
        config = json.load(f)
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def save(name, model, tokenizer, dtype=None):
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    m = copy.deepcopy(model)
    if dtype is not None:
        m = m.to(dtype)
    m.save_pretrained(folder)
    save_tokenizer(tokenizer, folder)
    return folder


def legacy_config(folder, rename):
    """Rewrites config.json in the pre-transformers-5 spelling (rope keys at the top level, torch_dtype)."""
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    rope = config.pop("rope_parameters")
    for old, new in rename.items():
        config[old] = rope[new]
    if "dtype" in config:
        config["torch_dtype"] = config.pop("dtype")
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def save_bin(name, source_folder, model, tokenizer):
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for f in ("config.json", "generation_config.json"):
        shutil.copy(os.path.join(source_folder, f), folder)
    state = model.state_dict()  # lm_head.weight and transformer.wte.weight: one tensor, one storage
    assert state["lm_head.weight"].data_ptr() == state["transformer.wte.weight"].data_ptr()
    torch.save(state, os.path.join(folder, "pytorch_model.bin"))
    save_tokenizer(tokenizer, folder)
    return folder


def final_norm(model):
    base = model.base_model
    for attr in ("ln_f", "final_layer_norm", "norm"):
        if hasattr(base, attr):
            return attr, getattr(base, attr)
    return None, None


def blocks(model):
    base = model.base_model
    for attr in ("h", "layers"):
        if hasattr(base, attr):
            return getattr(base, attr)
    return base.encoder.layer


def expected(name, folder, texts, causal, check_weights=None):
    """Loads the folder as HF would (float32), runs each text alone, writes expected.npz."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    raw = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    cls = AutoModelForCausalLM if causal else AutoModel
    model = cls.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    if check_weights is not None:
        check_weights(model)
    norm_name, norm = final_norm(model)
    last_block = blocks(model)[-1]
    captured = {}
    hook = last_block.register_forward_hook(
        lambda _m, _i, out: captured.__setitem__("raw", out[0] if isinstance(out, tuple) else out))
    arrays = {"texts": np.array(texts)}
    notes = []
    for i, text in enumerate(texts):
        ids = tokenizer(text)["input_ids"]
        raw_ids = raw.encode(text).ids
        assert ids == raw_ids, f"{name}: HF ids differ from tokenizers' for {text!r}:\n{ids}\n{raw_ids}"
        assert len(ids) <= MAX_POSITIONS, f"{name}: {len(ids)} tokens"
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_hidden_states=True)
        hs = torch.stack([h[0] for h in out.hidden_states]).to(torch.float32).numpy()
        assert hs.shape[0] == model.config.num_hidden_layers + 1 and np.isfinite(hs).all()
        arrays[f"input_ids_{i}"] = np.array(ids, dtype=np.int64)
        arrays[f"hidden_states_{i}"] = hs
        change = [float(np.linalg.norm(hs[l] - hs[l - 1]) / np.linalg.norm(hs[l - 1])) for l in range(1, len(hs))]
        assert min(change) > MIN_LAYER_CHANGE, f"{name}: layers barely change the states: {change}"
        raw_last = captured["raw"][0].numpy()
        with torch.no_grad():
            normed = norm(captured["raw"])[0].numpy() if norm is not None else None
        base_out = out.last_hidden_state if hasattr(out, "last_hidden_state") else None
        if i == 0:
            last_is_raw = np.array_equal(hs[-1], raw_last)
            last_is_normed = normed is not None and np.allclose(hs[-1], normed, atol=1e-6, rtol=0)
            notes.append(f"last hidden state = {'final norm (' + norm_name + ') of last block' if last_is_normed else 'last block output' if last_is_raw else 'NEITHER raw nor normed'}")
            with torch.no_grad():
                sdpa = cls.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").eval()
                hs2 = torch.stack(sdpa(torch.tensor([ids]), output_hidden_states=True).hidden_states)[:, 0].numpy()
            notes.append(f"eager vs sdpa max |diff| {np.abs(hs - hs2).max():.1e}")
            if base_out is not None:
                notes.append(f"last_hidden_state == hidden_states[-1]: {np.array_equal(base_out[0].numpy(), hs[-1])}")
        print(f"  seq {i}: {len(ids):3d} tokens, scale {np.abs(hs).max():6.2f}, "
              f"layer change {' '.join(f'{c:.2f}' for c in change)}; ids {ids[:6]}...")
    hook.remove()
    np.savez(os.path.join(folder, "expected.npz"), **arrays)
    for n in notes:
        print("  " + n)
    return arrays


def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def rounded_like(reference, dtype):
    ref = {k: v.detach().to(dtype).to(torch.float32) for k, v in reference.state_dict().items()}

    def check(model):
        for k, v in model.state_dict().items():
            if k in ref:
                assert torch.equal(v, ref[k]), f"{k} is not the {dtype}-rounded weight"
    return check


def main():
    lines = read_corpus()
    texts = [lines[i] for i in TEXT_LINES]
    os.makedirs(OUT, exist_ok=True)
    tok_bl, tok_ll, tok_wp = bytelevel_tokenizer(lines), llama_tokenizer(lines), wordpiece_tokenizer(lines)
    print(f"tokenizers: byte-level {len(tok_bl)}, llama {len(tok_ll)}, wordpiece {len(tok_wp)}")
    print("  llama tokens of line 7:", tok_ll.convert_ids_to_tokens(tok_ll(texts[1])["input_ids"]))

    made = []

    def run(name, model, tokenizer, causal=True, dtype=None, legacy=None, check=None):
        print(f"{name}: {type(model).__name__}")
        folder = save(name, model, tokenizer, dtype)
        if legacy is not None:
            legacy_config(folder, legacy)
        expected(name, folder, texts, causal, check)
        made.append(folder)
        return folder

    gpt2 = gpt2_model(len(tok_bl))
    gpt2_folder = run("gpt2", gpt2, tok_bl)
    print("gpt2_bin: pytorch_model.bin")
    bin_folder = save_bin("gpt2_bin", gpt2_folder, gpt2, tok_bl)
    a = expected("gpt2_bin", bin_folder, texts, True)
    b = np.load(os.path.join(gpt2_folder, "expected.npz"))
    assert all(np.array_equal(a[k], b[k]) for k in b.files if k != "texts"), "gpt2_bin differs from gpt2"
    made.append(bin_folder)
    run("gpt2_f16", gpt2, tok_bl, dtype=torch.float16, check=rounded_like(gpt2, torch.float16))

    run("gpt_neox", neox_model(len(tok_bl), parallel=True, rotary_pct=0.25, seed=2), tok_bl)
    run("gpt_neox_seq", neox_model(len(tok_bl), parallel=False, rotary_pct=1.0, seed=3), tok_bl,
        legacy={"rotary_pct": "partial_rotary_factor", "rotary_emb_base": "rope_theta"},
        check=lambda m: None if (m.config.rope_parameters["partial_rotary_factor"] == 1.0
                                 and not m.config.use_parallel_residual) else sys.exit("legacy config misread"))

    llama = llama_model(len(tok_ll), kv_heads=2, tied=False, seed=4)
    run("llama", llama, tok_ll)
    run("llama_tied", llama_model(len(tok_ll), kv_heads=4, tied=True, seed=5), tok_ll,
        legacy={"rope_theta": "rope_theta"},
        check=lambda m: None if m.config.tie_word_embeddings else sys.exit("tie lost"))
    run("llama_bf16", llama, tok_ll, dtype=torch.bfloat16, check=rounded_like(llama, torch.bfloat16))

    run("bert", bert_model(len(tok_wp)), tok_wp, causal=False)

    if hasattr(transformers, "Olmo2ForCausalLM"):
        run("olmo2", olmo2_model(len(tok_bl)), tok_bl)
    else:
        print("olmo2: not in this transformers, skipped")

    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                "safetensors": safetensors.__version__, "numpy": np.__version__}
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1)
        f.write("\n")
    print(versions)
    for folder in made:
        size = folder_bytes(folder)
        print(f"{os.path.relpath(folder, ROOT)}: {size} bytes ({', '.join(sorted(os.listdir(folder)))})")
        assert size < MAX_FOLDER_BYTES, f"{folder} is {size} bytes"


if __name__ == "__main__":
    main()
