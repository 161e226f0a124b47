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
# Two builds of one source: plain wasm32 (www/pkg/infoplane_bg.wasm) and one with the simd128
# instructions (www/pkg/infoplane_simd_bg.wasm). They share one target directory: cargo keeps
# dependencies built with other RUSTFLAGS apart and reuses the host-side ones (build scripts,
# proc macros), so only the final crate is rebuilt on each switch. The page loads the second
# where the browser has simd128 (www/wasm.js). Both export the same functions and import the
# same ones, so one set of bindings serves both; the script checks that.
WASM_OUT="$TARGET_DIR/wasm32-unknown-unknown/release/infoplane.wasm"
cargo build --lib --release --locked --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir www/pkg "$WASM_OUT"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
    cargo build --lib --release --locked --target wasm32-unknown-unknown
SIMD_OUT="$(mktemp -d)"
trap 'rm -rf "$SIMD_OUT"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$SIMD_OUT" "$WASM_OUT"
if ! cmp -s "$SIMD_OUT/infoplane.js" www/pkg/infoplane.js; then
    echo "build_web: the simd128 build's bindings differ from the plain build's" >&2
    exit 1
fi
mv "$SIMD_OUT/infoplane_bg.wasm" www/pkg/infoplane_simd_bg.wasm
echo "built www/pkg ($(du -k www/pkg/infoplane_bg.wasm | cut -f1) KiB of wasm, $(du -k www/pkg/infoplane_simd_bg.wasm | cut -f1) KiB with simd128)"
python3 scripts/build_single.py
