#!/usr/bin/env bash
# The workspace builds with the oldest Rust it claims (`rust-version` in Cargo.toml).
# Needs that toolchain (the GitHub workflow installs it); where only one toolchain exists, clippy's
# `incompatible_msrv` lint in ci/lint.sh still flags standard-library APIs newer than it.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
if ! rustup run "$msrv" cargo --version >/dev/null 2>&1; then
  echo "Rust $msrv is not installed here; skipping the MSRV build (clippy's incompatible_msrv lint still applies)"
  exit 0
fi
rustup run "$msrv" cargo check --workspace --all-targets --locked
