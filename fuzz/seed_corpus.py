#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the small (< 64 KiB) fixtures in tests/fixtures.

Run from anywhere: python3 fuzz/seed_corpus.py. Standard library only. Files already in a
corpus are kept (libFuzzer adds its own finds there); seeds are named after their fixture.
"""

import io
import os
import zipfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
FIXTURES = FUZZ.parent / "tests" / "fixtures"
CORPUS = FUZZ / "corpus"
MAX = 64 * 1024
MEMBER_SEP = b"\xfe\xfdMEMBER\xfd\xfe"  # as in src/lib.rs
# open_detect's byte 0, low 3 bits: index into OPEN_NAMES in src/lib.rs.
NPZ, NPY, SAFETENSORS, PT, VECTORS_TSV, METADATA_TSV, BYTES = range(7)


def put(target, name, data):
    if len(data) > MAX:
        return
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def members(data):
    """A zip as the *_members input format: flags byte, then name NUL bytes records."""
    z = zipfile.ZipFile(io.BytesIO(data))
    flags = 0
    records = []
    for i, info in enumerate(z.infolist()):
        if info.compress_type == zipfile.ZIP_DEFLATED:
            flags |= 1 << (i % 8)
        records.append(info.filename.encode() + b"\0" + z.read(info))
    return bytes([flags]) + MEMBER_SEP.join(records)


def divisors(n, limit):
    return [d for d in range(1, limit + 1) if n % d == 0]


def main():
    for path in sorted(FIXTURES.rglob("*")):
        rel = path.relative_to(FIXTURES)
        if not path.is_file() or rel.parts[0] == "fuzz" or path.stat().st_size >= MAX:
            continue
        data = path.read_bytes()
        name = "_".join(rel.parts)
        ext = path.suffix.lower()
        if ext == ".npy":
            put("npy", name, data)
            put("open_detect", name, bytes([NPY]) + data)
        elif ext == ".npz":
            put("npz", name, data)
            put("open_detect", name, bytes([NPZ]) + data)
            try:
                put("npz_members", name, members(data))
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    for m in z.namelist():
                        if m.endswith(".npy"):
                            put("npy", name + "_" + m.replace("/", "_"), z.read(m))
            except zipfile.BadZipFile:
                pass
        elif ext == ".safetensors":
            put("safetensors", name, data)
            put("open_detect", name, bytes([SAFETENSORS]) + data)
        elif ext == ".pt":
            put("torch", name, data)
            put("open_detect", name, bytes([PT]) + data)
            try:
                put("torch_members", name, members(data))
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    for m in z.namelist():
                        if m.endswith("data.pkl"):
                            put("pickle", name + ".pkl", z.read(m))
            except zipfile.BadZipFile:
                put("pickle", name, data)  # legacy torch.save: a bare pickle stream
        elif ext in (".tsv", ".txt"):
            put("tsv_vectors", name, data)
            put("tsv_metadata", name, data)
            sel = METADATA_TSV if "metadata" in path.stem.lower() or "labels" in path.stem.lower() else VECTORS_TSV
            put("open_detect", name, bytes([sel]) + data)
        elif ext == ".bytes":
            n = len(data) // 4
            for d in divisors(n, 64)[-3:]:
                put("raw_f32", f"{name}_d{d}", bytes([d - 1]) + data)
            put("raw_f32", f"{name}_flat", bytes([64]) + data)
            for d in divisors(n, 16)[-2:]:
                put("open_detect", f"{name}_d{d}", bytes([BYTES | (d - 1) << 4]) + data)
    for target in sorted(os.listdir(CORPUS)):
        print(f"{target}: {len(os.listdir(CORPUS / target))} files")


if __name__ == "__main__":
    main()
