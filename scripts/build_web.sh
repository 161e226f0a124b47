#!/usr/bin/env bash
# Builds the page's wasm package into www/pkg: the library for wasm32, bound by the wasm-bindgen
# CLI of exactly the version Cargo.toml pins (installed here if missing); then the single-file
# page, dist/infoplane.html.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
    # The registry lacks a version that the CLI's own lockfile pins, so --locked can fail.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
        || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
cargo build --lib --release --locked --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir www/pkg \
    "$TARGET_DIR/wasm32-unknown-unknown/release/infoplane.wasm"
echo "built www/pkg ($(du -k www/pkg/infoplane_bg.wasm | cut -f1) KiB of wasm)"
python3 scripts/build_single.py
