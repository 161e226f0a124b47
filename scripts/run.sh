#!/usr/bin/env bash
# The main job, from a fresh machine: builds the wasm package and the CLI, then serves the page on
# http://127.0.0.1:8000/ (any static file server works; the page makes no other request).
# Drop a dump on it, e.g. tests/fixtures/golden/d768_bins100_seed0.npz.
# `scripts/run.sh analyze FILE...` runs the CLI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
if [ "$#" -gt 0 ]; then
    exec "${CARGO_TARGET_DIR:-target}/release/infoplane" "$@"
fi
bash scripts/build_web.sh
PORT="${PORT:-8000}"
echo "serving the page at http://127.0.0.1:$PORT/ (Ctrl-C stops)"
exec python3 -m http.server "$PORT" --bind 127.0.0.1
