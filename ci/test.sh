#!/usr/bin/env bash
# The README's test command (with nextest's CI profile under CI), then a check that the suite
# left no process alive: every process it starts inherits a marker in its environment, whatever
# process group or session it moves to, so any marked process still alive afterwards is a leak
# (listed, killed, and the script fails). The check needs /proc (Linux).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/leftovers.sh
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi
mark="$$-$(date +%s%N)"
status=0
PROCTHREAD_SUITE_MARK="$mark" cargo nextest run --workspace --locked --profile "$profile" || status=$?
# shellcheck disable=SC2046
leftovers_report $(leftovers_wait PROCTHREAD_SUITE_MARK "$mark") || status=1
exit "$status"
