#!/usr/bin/env bash
# Every test, from a fresh machine: installs what is missing, then formatting, lints (native and
# wasm32), and the whole test suite. The last thing it prints is the test runner's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi

echo "== fmt"
cargo fmt --all --check
echo "== clippy (native)"
cargo clippy --all-targets --locked -- -D warnings
echo "== clippy (wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown --locked -- -D warnings
echo "== docs"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --quiet
echo "== tests"
cargo nextest run --locked --no-fail-fast --failure-output final
