#!/usr/bin/env bash
# Seeded fault runs (docs/reliability.md, "Fault injection"): every scenario with a [faults]
# table, on every backend that applies here, for a bounded number of seeds (FAULT_SEEDS,
# default 0..25), within a time bound (FAULT_TIMEOUT seconds, default 600). A failure prints the
# seed, the schedule and the command that replays it. Then, as ci/test.sh does, checks that no
# process of the runs is left alive (Linux). Each run is also a test case of
# target/faults-junit.xml (for CI dashboards). Longer: FAULT_SEEDS=0..2000 bash ci/faults.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/leftovers.sh
seeds=${FAULT_SEEDS:-0..25}
limit=${FAULT_TIMEOUT:-600}
cargo build --locked --release -p procthread-harness --bin harness
mark="$$-$(date +%s%N)"
status=0
PROCTHREAD_SUITE_MARK="$mark" timeout --kill-after=10 "$limit" \
  target/release/harness run --faults "$seeds" --color never --junit target/faults-junit.xml || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "error: the fault runs (seeds $seeds) took longer than ${limit}s" >&2
fi
# shellcheck disable=SC2046
leftovers_report $(leftovers_wait PROCTHREAD_SUITE_MARK "$mark") || status=1
exit "$status"
