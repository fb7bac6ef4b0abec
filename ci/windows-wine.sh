#!/usr/bin/env bash
# Runs the test suite as Windows binaries under Wine (Linux only): see ci/wine/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/wine/setup.sh
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
export WINEPREFIX="$PWD/target/wine-prefix" WINEDEBUG=-all
# No Windows CPython inside the Wine prefix: its runs are skipped here (the workflow's Windows job has one).
export PROCTHREAD_PYTHON=none
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT
profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi
cargo nextest run --workspace --locked --profile "$profile" --target x86_64-pc-windows-gnu
