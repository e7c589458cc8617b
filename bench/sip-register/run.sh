#!/usr/bin/env bash
# REGISTER against dialtone as deployed and against Kamailio in the same run:
# `dialtone serve` (the build in dist/) with Redis, on SQLite and on MariaDB,
# 10,000 extensions made by a bulk upload through the API and their SIP
# credentials read through the API (deployed.ts). The same sipp scenario steps
# the rate until a step has a failed registration or a retransmission; prints
# each step's p99 (first REGISTER to its 200) and CPU per registration, the
# best passing rates, their ratio to Kamailio's, and what each does at twice its
# ceiling. Before the climb every phone registers once (the first pass after a restart, printed apart).
# Loopback only.
# Usage: bench/sip-register/run.sh <redis-url>   (a Redis database of its own, e.g. redis://127.0.0.1:6379/9:
#        the daemon's keys there are deleted after each setup)
# BENCH_SETUPS: which daemons, e.g. "sqlite mariadb sqlite:1" (":n" adds n registrar workers).
# BENCH_RUNS: climbs per setup (default 1), each followed by Kamailio's climb; the import and the first pass happen once per setup.
# BENCH_DAEMON_ROOT: another checkout whose build runs (to compare two builds in the same minutes).
# MariaDB: a throwaway database on DIALTONE_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
redis="${1:?usage: run.sh <redis-url>}"
daemon_root="${BENCH_DAEMON_ROOT:-$root}"
setups=(${BENCH_SETUPS:-sqlite mariadb})
runs="${BENCH_RUNS:-1}"
seconds="${BENCH_STEP_SECONDS:-5}"
rates=(${BENCH_RATES:-1000 2000 3000 4000 5000 6000 7000 8000 9000 10000 12000 14000 16000 18000 20000 22000 25000})
work="$(mktemp -d)"
pids=()
forget_daemon_keys() { redis-cli -u "$redis" --scan --pattern 'dialtone:sip:*' | xargs -r -n 1000 redis-cli -u "$redis" del >/dev/null; }
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; forget_daemon_keys; rm -rf "$work"; }
trap cleanup EXIT

for bin in sipp kamailio node redis-cli; do command -v "$bin" >/dev/null || { echo "bench: $bin is not installed" >&2; exit 1; }; done
[ -f "$daemon_root/dist/daemon/cli/main.js" ] || (cd "$daemon_root" && npm run build >/dev/null)
# shellcheck source=lib.sh
. "$here/lib.sh"

# What a setup does at twice the rate it passed: registrations that got their 200, of those sent.
overload() {
  local name=$1 port=$2 best=$3 pid=$4
  [ "$best" -gt 0 ] || { echo "n/a"; return; }
  step "$port" $((best * 2)) "$name-overload" "$5" "" "$pid" | sed -E 's/^(pass|fail) //'
}

# Every phone registers once at a modest rate before the climb, as phones re-register in service; this
# first pass (a restart's: every identity read from the database, every binding new) is printed apart.
warm() {
  local r
  r="$(step "$2" 1000 "$1-first" "$4" 10000 "$3")"
  printf '%-16s %6s/s  %s  (first registration of all 10,000, not counted)\n' "$1" 1000 "$r" >&2
}

bench_users 10000 > "$work/kamailio-users.csv"

# "<name> <run>" rows: best rate, the 2000/s step, and Kamailio's best and 2000/s step in the same run.
at_2000() { grep -E " 2000/s" "$work/$1.steps" | sed -E 's/.*2000\/s +//' || true; }
summary=()
overloads=()
for setup in "${setups[@]}"; do
  kind="${setup%%:*}"
  workers=0
  [ "$kind" = "$setup" ] || workers="${setup#*:}"
  name="dialtone-$kind"
  [ "$workers" = 0 ] || name="$name+$workers"
  forget_daemon_keys
  node "$root/node_modules/.bin/ts-node-transpile-only" "$here/deployed.ts" "$kind" "$redis" "$workers" "$work/users.csv" "$daemon_root" > "$work/$name.ready" 2> "$work/$name.err" &
  helper=$!
  pids+=("$helper")
  until grep -q '^ready' "$work/$name.ready" 2>/dev/null; do
    kill -0 "$helper" 2>/dev/null || { cat "$work/$name.err" >&2; exit 1; }
    sleep 0.5
  done
  read -r _ port pid < "$work/$name.ready"
  cat "$work/$name.err" >&2
  wait_sip "$port"
  warm "$name" "$port" "$pid" "$work/users.csv"
  # A fresh Kamailio beside each setup (one left running through a second setup's import failed every registration),
  # so each run climbs dialtone and then Kamailio in the same minutes.
  start_kamailio
  warm "kamailio-$kind" "$kamailio_port" "$kamailio_pid" "$work/kamailio-users.csv"
  best=0
  for run in $(seq 1 "$runs"); do
    best="$(climb "$name-run$run" "$port" "$pid")"
    k_best="$(climb "kamailio-run$run-$kind" "$kamailio_port" "$kamailio_pid" "$work/kamailio-users.csv")"
    summary+=("$name|$run|$best|$(at_2000 "$name-run$run")|$k_best|$(at_2000 "kamailio-run$run-$kind")")
  done
  # Last, since what follows a collapse is not a fair start for another climb.
  overloads+=("$name|$(overload "$name" "$port" "$best" "$pid" "$work/users.csv")")
  overloads+=("kamailio (beside $name)|$(overload "kamailio-$kind" "$kamailio_port" "$k_best" "$kamailio_pid" "$work/kamailio-users.csv")")
  kill "$helper" "$kamailio_pid"; wait "$helper" "$kamailio_pid" 2>/dev/null || true
done
forget_daemon_keys

echo
echo "| registrar | run | best passing rate (/s) | Kamailio's in the same run | ratio | at 2000/s | Kamailio at 2000/s |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for row in "${summary[@]}"; do
  IFS='|' read -r name run best at2000 k_best k_2000 <<< "$row"
  ratio="$(awk -v d="$best" -v k="$k_best" 'BEGIN { if (k > 0) printf "%.2f", d / k; else print "n/a" }')"
  echo "| $name (Redis) | $run | $best | $k_best | $ratio | ${at2000:-not reached} | ${k_2000:-not reached} |"
done
echo
echo "| registrar | at twice its best |"
echo "| --- | --- |"
for row in "${overloads[@]}"; do
  IFS='|' read -r name over <<< "$row"
  echo "| $name | $over |"
done
