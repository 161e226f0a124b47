#!/usr/bin/env bash
# The main job, from a fresh machine: builds the `infoplane` CLI and analyses the built-in sample
# dump (a synthetic 3-layer, d = 768 dump shipped with the tests), printing the JSON report.
# Pass other arguments to analyse something else, e.g. scripts/run.sh analyze my_dump.npz --orders 1,2
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
if [ "$#" -eq 0 ]; then
    set -- analyze tests/fixtures/golden/d768_bins100_seed0.npz
fi
exec target/release/infoplane "$@"
