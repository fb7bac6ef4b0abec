# Sourced by ci/test.sh and ci/windows-wine.sh: finds processes a test suite left alive.
# Linux only (it reads /proc); elsewhere it finds nothing.

# leftovers_now NAME VALUE [CMDLINE-SUBSTRING]: the live processes (one pid a line, zombies
# excluded) whose environment holds NAME=VALUE and, if given, whose command line contains
# CMDLINE-SUBSTRING (case-insensitively).
leftovers_now() {
  local name=$1 value=$2 cmd=${3:-} f pid state
  for f in $(grep -lzxF "$name=$value" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    if [ -n "$cmd" ]; then
      { tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qiF "$cmd"; } 2>/dev/null || continue
    fi
    # The state follows the command name, which may hold spaces: take what follows the last ')'.
    state=$({ sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1; } 2>/dev/null)
    if [ -n "$state" ] && [ "$state" != Z ]; then echo "$pid"; fi
  done
}

# leftovers_wait NAME VALUE [CMDLINE-SUBSTRING]: the same, after waiting up to 10 s for them to
# go (a process of the suite still being cleaned up is not a leak yet).
leftovers_wait() {
  [ -r /proc/self/environ ] || return 0
  local left until=$((SECONDS + 10))
  while :; do
    left=$(leftovers_now "$@")
    if [ -z "$left" ] || [ "$SECONDS" -ge "$until" ]; then break; fi
    sleep 0.2
  done
  echo "$left"
}

# leftovers_report PIDS...: shows them and kills them; returns 1 if there were any.
leftovers_report() {
  [ $# -eq 0 ] && return 0
  echo "error: the test suite left $# process(es) alive (killed now):" >&2
  ps -o pid,ppid,pgid,sid,etime,args -p "$(echo "$@" | tr ' ' ',')" >&2 || true
  kill -9 "$@" 2>/dev/null || true
  return 1
}
