#!/usr/bin/env bash
# Every speed figure of BENCHMARKS.md's issue 8 tables, in one command and one run on one machine:
#
#   1. the estimator, d = 384, 768 and 2048 (100 bins, orders 1-3: 6 label sets): the reference
#      package's numpy accumulator fed as its llm.py feeds it, the CLI (1 thread, all threads), the
#      page in Chromium (1 worker, its own choice), and the machine's matrix-product ceiling on
#      the same product: numpy's sgemm natively, onnxruntime-web's MatMul in the same Chromium
#      (benches/reference_side_by_side.py, benches/browser_ceiling.mjs);
#   2. a 4.3 GB dump end to end, file to result: the page with 1 worker and with its own choice,
#      and the CLI (benches/browser_large_dump.mjs), with the default settings (36 label sets)
#      and with part 1's 6 label sets (no shuffled copies), then how fast Chromium can read that
#      file at all (benches/browser_read.mjs);
#   3. forward passes, all-MiniLM-L6-v2 and a Pythia-70m-shaped random model on the same 200
#      sequences of at most 64 tokens: infoplane natively (criterion, CLI) and in the page,
#      PyTorch CPU, onnxruntime CPU and onnxruntime-web in the same Chromium
#      (benches/forward_harness.py).
#
# Set-up, once (the ONNX export and the random model are made by hand, see export_onnx.py):
#   pip install numpy scipy threadpoolctl onnx && pip install --no-deps soft-entropy==0.1.5
#   bash scripts/fetch_minilm.sh && $TORCH_PYTHON benches/export_onnx.py
#   (cd tests/browser && npm ci) && (cd benches && npm ci)
# Then:
#   bash benches/harness.sh            # about 25 minutes on 2 cores; needs ~5 GB free under $TMPDIR
#
# PYTHON runs parts 1 and 2 (numpy, soft-entropy; default python3), TORCH_PYTHON part 3 (torch,
# transformers, onnxruntime; default /tmp/torchvenv/bin/python). Each part prints its own
# markdown tables; nothing else should run on the machine meanwhile (each part prints the load
# that other processes put on it).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_PYTHON=${TORCH_PYTHON:-/tmp/torchvenv/bin/python}

cargo build --release --quiet
bash scripts/build_web.sh > /dev/null

echo "## 1. Estimator throughput against the reference"
"$PYTHON" benches/reference_side_by_side.py --no-build

echo "## 2. A multi-GB dump end to end"
dir=$(mktemp -d "${TMPDIR:-/tmp}/infoplane-harness-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$PYTHON" benches/large_dump.py --write-only --dir "$dir" --tokens 40000 > /dev/null
node benches/browser_large_dump.mjs --dir "$dir" --tokens 40000 --wasm simd --workers 1,auto
node benches/browser_large_dump.mjs --dir "$dir" --tokens 40000 --wasm simd --workers auto --shuffles 0
node benches/browser_read.mjs "$dir/large.npz"
rm -rf "$dir"

echo "## 3. Forward passes"
"$TORCH_PYTHON" benches/forward_harness.py
