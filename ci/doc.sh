#!/usr/bin/env bash
# The API docs build with warnings denied (broken links, stray HTML in doc comments).
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
