#!/usr/bin/env bash
# The main job, from a fresh machine: builds the wasm package (and the single-file page
# dist/infoplane.html), then serves the page on http://127.0.0.1:8000/ and opens it with the
# built-in sample (`?sample`) in the desktop's browser when there is one. Any static file server
# works; the page makes no other request. PORT=8080 scripts/run.sh serves on another port.
# `scripts/run.sh analyze FILE...` builds and runs the CLI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then
    cargo build --release --locked --quiet
    exec "${CARGO_TARGET_DIR:-target}/release/infoplane" "$@"
fi
bash scripts/build_web.sh
PORT="${PORT:-8000}"
URL="http://127.0.0.1:$PORT/?sample"
echo "serving the page at $URL (Ctrl-C stops)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null; then
    (sleep 1 && xdg-open "$URL" >/dev/null 2>&1) &
elif [ "$(uname)" = Darwin ]; then
    (sleep 1 && open "$URL") &
fi
exec python3 -m http.server "$PORT" --bind 127.0.0.1
