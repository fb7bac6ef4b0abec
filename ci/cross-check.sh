#!/usr/bin/env bash
# The whole workspace, tests included, must build for macOS and Windows.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add aarch64-apple-darwin x86_64-pc-windows-gnu >/dev/null
cargo clippy --workspace --all-targets --locked --target aarch64-apple-darwin -- -D warnings
cargo clippy --workspace --all-targets --locked --target x86_64-pc-windows-gnu -- -D warnings
