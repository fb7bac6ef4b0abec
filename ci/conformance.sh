#!/usr/bin/env bash
# The conformance matrix: every scenario on every backend this OS has, run by the reference and
# by CPython (python3 >= 3.11 on the PATH, or $PROCTHREAD_PYTHON; CPython has fork on Linux and
# macOS, spawn everywhere). The matrix lands in target/ci-report/conformance.json, where the
# report step (ci/report-gate.sh) renders it as the HTML report's conformance page, and its table
# in the step summary on GitHub. Fails when a run neither agrees with the reference nor diverges
# as its scenario declares (or a declared divergence did not happen).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/ci-report
mkdir -p "$out"
cargo build --release --locked -p procthread-harness
status=0
target/release/harness run --impl all --format json > "$out/conformance.json" 2> "$out/conformance.log" || status=$?
# The run's lines went to the log; the matrix is its end, from the table's header.
table=$(awk '/^scenario +backend/ { on = 1 } on' "$out/conformance.log")
if [ -z "$table" ]; then table=$(tail -n 40 "$out/conformance.log"); fi
printf '%s\n' "$table"
if [ "$status" -ne 0 ]; then grep -E '^ +(FAIL|GONE) ' -A 12 "$out/conformance.log" || true; fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  { echo "### Conformance matrix"; echo; echo '```'; printf '%s\n' "$table"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
