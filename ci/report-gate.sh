#!/usr/bin/env bash
# A quick report on this machine, then the performance gate against this OS's committed
# baseline (ci/baselines/<os>-<arch>.json), by ratios with the tolerances in ci/gate.toml.
# The report and the gate table land in target/ci-report/ (and in the step summary on GitHub).
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  MINGW* | MSYS* | CYGWIN*) os=windows ;;
  *) os=$(uname -s | tr '[:upper:]' '[:lower:]') ;;
esac
case "$(uname -m)" in
  arm64 | aarch64) arch=aarch64 ;;
  *) arch=$(uname -m) ;;
esac
out=target/ci-report
cargo build --release --locked -p procthread-harness
harness=target/release/harness
"$harness" report --quick --out "$out" > "$out.md" 2> "$out.log" || { cat "$out.log"; exit 1; }
baseline="ci/baselines/$os-$arch.json"
if [ ! -f "$baseline" ]; then
  # A runner class with no baseline yet gets the report only (no gate): the step summary still
  # shows it, and says how to start a baseline from it.
  echo "no baseline for $os-$arch yet: the report is in $out; create one with"
  echo "  $harness gate --report $out/report.json --baseline $baseline --update"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    { echo "### Performance gate"; echo; echo "No baseline for $os-$arch yet: report only, nothing gated."; echo;
      cat "$out/report.md"; } >> "$GITHUB_STEP_SUMMARY"
  fi
  exit 0
fi
status=0
rm -f "$out/gate.md"
"$harness" gate --report "$out/report.json" --baseline "$baseline" --config ci/gate.toml --summary "$out/gate.md" || status=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/gate.md" "$out/report.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
