#!/usr/bin/env bash
# A diagnostic, not the benchmark (that is run.sh, the daemon as deployed):
# dialtone's registrar alone, identities answered from memory with no
# database, against Kamailio, same scenario, stepping the rate until a step
# has a failed registration or a retransmission; prints both maximum passing
# rates and their ratio, and memory with many live bindings.
# Loopback only. Usage: bench/sip-register/harness.sh [redis-url]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
redis="${1:-${DIALTONE_REDIS_URL:-}}"
seconds="${BENCH_STEP_SECONDS:-5}"
rates=(${BENCH_RATES:-500 1000 2000 3000 4000 5000 6000 7000 8000 9000 10000 12000 14000 16000 18000 20000 22000 25000 28000 30000 35000 40000})
# The memory phase: this many distinct users registered, at this rate, into a fresh daemon.
bindings="${BENCH_BINDINGS:-100000}"
bindings_rate="${BENCH_BINDINGS_RATE:-2000}"
work="$(mktemp -d)"
pids=()
# Bindings the bench stored (all under dialtone:bench:) would otherwise stay in Redis for an hour and slow the next run.
forget_bench_keys() { [ -z "$redis" ] || redis-cli -u "$redis" --scan --pattern 'dialtone:bench:*' | xargs -r -n 1000 redis-cli -u "$redis" del >/dev/null; }
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; forget_bench_keys; rm -rf "$work"; }
trap cleanup EXIT

for bin in sipp kamailio node; do command -v "$bin" >/dev/null || { echo "bench: $bin is not installed" >&2; exit 1; }; done
[ -f "$root/dist/daemon/sip/registrar/registrar.js" ] || (cd "$root" && npm run build >/dev/null)
# shellcheck source=lib.sh
. "$here/lib.sh"

bench_users 10000 > "$work/users.csv"
bench_users "$bindings" > "$work/bindings.csv"

read -r dport <<< "$(free_ports 1)"
node "$here/registrar-under-test.mjs" "$dport" ${redis:+"$redis"} > "$work/dialtone.out" 2>&1 &
pids+=($!)
wait_sip "$dport"
dialtone_best="$(climb dialtone "$dport")"
rss="$(grep '^rss' "$work/dialtone.out" | tail -1 | cut -d' ' -f2)"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
forget_bench_keys

# Memory with many live bindings, in a fresh daemon so the climb's peak does not count.
node "$here/registrar-under-test.mjs" "$dport" ${redis:+"$redis"} > "$work/bindings.out" 2>&1 &
pids+=($!)
wait_sip "$dport"
redis_before="$([ -n "$redis" ] && redis-cli -u "$redis" info memory | sed -nE 's/^used_memory:([0-9]+).*/\1/p' || echo 0)"
bindings_result="$(step "$dport" "$bindings_rate" bindings "$work/bindings.csv" "$bindings")"
sleep 2
bindings_rss="$(grep '^rss' "$work/bindings.out" | tail -1 | cut -d' ' -f2)"
redis_after="$([ -n "$redis" ] && redis-cli -u "$redis" info memory | sed -nE 's/^used_memory:([0-9]+).*/\1/p' || echo 0)"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
forget_bench_keys

# The same climb with registrar workers sharing the socket (Redis only: workers share bindings through it).
workers="${BENCH_WORKERS:-1}"
workers_best=""
if [ -n "$redis" ] && [ "$workers" -gt 0 ]; then
  BENCH_WORKERS="$workers" node "$here/registrar-under-test.mjs" "$dport" "$redis" > "$work/workers.out" 2>&1 &
  pids+=($!)
  wait_sip "$dport"
  workers_best="$(climb "dialtone+$workers" "$dport")"
  workers_rss="$(grep '^rss' "$work/workers.out" | tail -1 | cut -d' ' -f2)"
  kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
  forget_bench_keys
fi

start_kamailio
kamailio_best="$(climb kamailio "$kamailio_port")"

echo
store="in-process store"; [ -n "$redis" ] && store="Redis"
echo "dialtone ($store): $dialtone_best registrations/s, resident memory ${rss:-?} MB after the run"
echo "dialtone with $bindings live bindings (registered at $bindings_rate/s: $bindings_result): resident memory ${bindings_rss:-?} MB"
[ -n "$redis" ] && awk -v a="$redis_after" -v b="$redis_before" -v n="$bindings" 'BEGIN { printf "Redis memory for them: %.0f MB, %.0f bytes per binding\n", (a - b) / 1048576, (a - b) / n }'
[ -z "$redis" ] && node --expose-gc "$here/store-cost.mjs"
[ -n "$workers_best" ] && echo "dialtone with $workers registrar worker(s): $workers_best registrations/s, resident memory of all its processes ${workers_rss:-?} MB after the run"
echo "kamailio: $kamailio_best registrations/s"
if [ "$kamailio_best" -gt 0 ]; then
  awk -v d="$dialtone_best" -v k="$kamailio_best" 'BEGIN { printf "ratio dialtone/kamailio: %.2f\n", d / k }'
  [ -n "$workers_best" ] && awk -v d="$workers_best" -v k="$kamailio_best" -v w="$workers" 'BEGIN { printf "ratio dialtone with %d worker(s)/kamailio: %.2f\n", w, d / k }'
fi
