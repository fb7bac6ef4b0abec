#!/usr/bin/env bash
# The README's test command (with nextest's CI profile under CI).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi
cargo nextest run --workspace --locked --profile "$profile"
