#!/usr/bin/env python3
"""Writes the torch.save versions of tests/fixtures/formats/dump.npz (run make_format_fixtures.py
first). Needs torch and numpy, e.g. in a venv: python3 -m venv /tmp/torchvenv &&
/tmp/torchvenv/bin/pip install torch numpy, then /tmp/torchvenv/bin/python3 this_script.

dump.pt: {"hidden_states": tensor [layers, T, d], "input_ids", "seq_lens", "labels.preference"};
dump_layers.pt: {"hidden_states": [tensor [T, d] per layer], "input_ids", "seq_lens"}, as
`torch.save({"hidden_states": list(out.hidden_states), ...})` would write it;
dump_bf16.pt: the hidden states in bfloat16, with the ids.
"""

import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "formats")

z = np.load(os.path.join(OUT, "dump.npz"))
hs = torch.from_numpy(z["hidden_states"])
common = {"input_ids": torch.from_numpy(z["input_ids"]), "seq_lens": torch.from_numpy(z["seq_lens"])}
torch.save({"hidden_states": hs, **common, "labels.preference": torch.from_numpy(z["labels.preference"]),
            "labels.pos": torch.from_numpy(z["labels/pos"]).long()}, os.path.join(OUT, "dump.pt"))
torch.save({"hidden_states": [hs[l].clone() for l in range(hs.shape[0])], **common},
           os.path.join(OUT, "dump_layers.pt"))
# bfloat16, as models run in it: the states rounded to bf16 (numpy has no bf16 type).
torch.save({"hidden_states": hs.to(torch.bfloat16), **common}, os.path.join(OUT, "dump_bf16.pt"))
print("torch", torch.__version__, "wrote dump.pt, dump_layers.pt, dump_bf16.pt")
