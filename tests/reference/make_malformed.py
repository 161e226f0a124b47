#!/usr/bin/env python3
"""Builds the malformed-input corpus in tests/fixtures/malformed/ from the good fixtures: every file
here must make `infoplane analyze` fail with a one-line message (tests/malformed.rs).

Run from the repository root after the other fixture scripts (needs only the standard library):
    python3 tests/reference/make_malformed.py

It writes, for each good binary fixture: truncations at several points (inside the magic, inside
the header, inside the data, one byte short); copies with a byte flipped in the magic or header; and it
copies the hand-made hostile files of the other fixture folders (refused pickle globals, lying
safetensors headers, ragged TSV...). Truncating text files can leave a valid file, so TSV files
are not truncated here; the hand-made bad TSVs cover them.
"""

import os
import shutil

ROOT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
OUT = os.path.join(ROOT, "malformed")

GOOD = [
    "formats/dump.npz",
    "formats/dump_compressed.npz",
    "formats/per_layer/layer_2.npy",
    "formats/dump.safetensors",
    "formats/dump.pt",
    "torch/views.pt",
    "golden/d8_bins100_seed1.npz",
]
HOSTILE = {
    "torch": ["builtins_eval.pt", "os_system.pt", "posix_system.pt", "deep_nesting.pt", "huge_binunicode.pt",
              "memo_bomb.pt", "missing_storage.pt", "negative_stride.pt", "offset_out_of_bounds.pt",
              "short_storage.pt", "truncated.pt", "view_out_of_bounds.pt"],
    "safetensors": [f for f in sorted(os.listdir(os.path.join(ROOT, "safetensors"))) if f.startswith("bad_")],
    "tsv": ["bad_nonnumeric.tsv", "bad_ragged.tsv", "empty.tsv"],
}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    n = 0
    for rel in GOOD:
        data = open(os.path.join(ROOT, rel), "rb").read()
        base = rel.replace("/", "_")
        stem, ext = os.path.splitext(base)
        cuts = sorted({3, 10, 60, 200, len(data) // 3, len(data) // 2, len(data) - 1})
        for cut in cuts:
            if 0 < cut < len(data):
                open(os.path.join(OUT, f"{stem}.cut{cut}{ext}"), "wb").write(data[:cut])
                n += 1
        # Flip bytes only where they must break the file: the magic, and for npy and safetensors a
        # byte of the header. (A flipped byte in a zip member's name or data can leave a readable
        # archive: CRCs of members read with seeks are not checked.)
        flips = (0,) if data[:2] == b"PK" else (0, 9)
        for at in flips:
            if at < len(data):
                flipped = bytearray(data)
                flipped[at] ^= 0xFF
                open(os.path.join(OUT, f"{stem}.flip{at}{ext}"), "wb").write(bytes(flipped))
                n += 1
    for folder, names in HOSTILE.items():
        for name in names:
            shutil.copy(os.path.join(ROOT, folder, name), os.path.join(OUT, f"{folder}_{name}"))
            n += 1
    # Inputs that fuzzing found to hang or crash a reader (committed under tests/fixtures/fuzz/).
    fuzz = os.path.join(ROOT, "fuzz")
    for target in sorted(os.listdir(fuzz)) if os.path.isdir(fuzz) else []:
        for name in sorted(os.listdir(os.path.join(fuzz, target))):
            if name.startswith(("hang-", "crash-")):
                shutil.copy(os.path.join(fuzz, target, name), os.path.join(OUT, f"fuzz_{target}_{name}"))
                n += 1
    open(os.path.join(OUT, "empty.npz"), "wb").close()
    open(os.path.join(OUT, "random.bin"), "wb").write(os.urandom(0) + bytes(range(256)) * 4)
    print(f"wrote {n + 2} files to {OUT}")


if __name__ == "__main__":
    main()
