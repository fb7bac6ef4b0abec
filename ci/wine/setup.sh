#!/usr/bin/env bash
# Prepares this Linux machine to build and run the Windows (x86_64-pc-windows-gnu) test
# binaries under Wine: the Rust target, mingw-w64, Wine, and a Wine prefix of the project's own
# under target/ with a ProcessPrng stand-in (see processprng.c). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export WINEPREFIX="$root/target/wine-prefix" WINEDEBUG=-all

rustup target add x86_64-pc-windows-gnu >/dev/null
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 wine wine64 >/dev/null
fi

sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -d "$sys32" ]; then
  mkdir -p "$root/target"
  wineboot --init >/dev/null 2>&1 || true
  wineserver --wait || true
fi
dll="$sys32/bcryptprimitives.dll"
src="$root/ci/wine/processprng.c"
if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -o "$dll" "$src" -ladvapi32
fi
echo "wine prefix ready: $WINEPREFIX"
