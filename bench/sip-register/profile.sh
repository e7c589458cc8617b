#!/usr/bin/env bash
# Where the CPU goes at one fixed registration rate, in the registrar alone
# (harness.sh's registrar-under-test.mjs, no database): the same sipp scenario
# as run.sh against dialtone's registrar, printing the CPU time (user and
# system, from /proc) that dialtone, Redis and sipp each spent per
# registration. With PROFILE_DIR set, dialtone also writes a V8 CPU profile
# there (node --cpu-prof). Loopback only.
# Usage: bench/sip-register/profile.sh <rate> <seconds> [redis-url]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rate="${1:?rate}"
seconds="${2:?seconds}"
redis="${3:-}"
work="$(mktemp -d)"
pid=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
[ -f "$root/dist/daemon/sip/registrar/registrar.js" ] || (cd "$root" && npm run build >/dev/null)

{ echo SEQUENTIAL; for u in $(seq 1000 10999); do echo "$u;[authentication username=$u password=pw$u]"; done; } > "$work/users.csv"
read -r port sipp_port media_port <<< "$(node -e "const net=require('net');const ss=[0,1,2].map(()=>net.createServer().listen(0,'127.0.0.1'));setTimeout(()=>{console.log(ss.map(s=>s.address().port).join(' '));ss.forEach(s=>s.close())},100)")"
node ${PROFILE_DIR:+--cpu-prof --cpu-prof-dir="$PROFILE_DIR"} "$here/registrar-under-test.mjs" "$port" ${redis:+"$redis"} > "$work/dialtone.out" 2>&1 &
pid=$!
until grep -q '^ready' "$work/dialtone.out" 2>/dev/null; do sleep 0.2; done
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
redis_pid="$([ -n "$redis" ] && pgrep -x redis-server | head -1 || true)"
read -r du0 ds0 <<< "$(ticks "$pid")"
[ -z "$redis_pid" ] || read -r ru0 rs0 <<< "$(ticks "$redis_pid")"
calls=$((rate * seconds))
start=$(date +%s%N)
(cd "$work" && exec sipp "127.0.0.1:$port" -sf "$here/register.xml" -inf "$work/users.csv" -i 127.0.0.1 -p "$sipp_port" -mp "$media_port" -t u1 \
  -buff_size 4194304 -r "$rate" -m "$calls" -l $((rate * 2)) -timeout $((seconds * 4 + 10))s -nostdin -trace_stat -stf stat.csv -fd 1 >/dev/null 2>&1) &
sipp_pid=$!
sipp_cpu=0
while kill -0 "$sipp_pid" 2>/dev/null; do
  sipp_cpu="$(awk '{print $14 + $15}' "/proc/$sipp_pid/stat" 2>/dev/null || echo "$sipp_cpu")"
  sleep 0.2
done
wait "$sipp_pid" || true
read -r du1 ds1 <<< "$(ticks "$pid")"
[ -z "$redis_pid" ] || read -r ru1 rs1 <<< "$(ticks "$redis_pid")"
header="$(head -1 "$work/stat.csv")"
last="$(tail -1 "$work/stat.csv")"
col() { echo "$header" | tr ';' '\n' | grep -n -x "$1" | cut -d: -f1; }
hz="$(getconf CLK_TCK)"
per() { awk -v t="$1" -v n="$calls" -v hz="$hz" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }'; }
echo "rate ${rate}/s for ${seconds}s: $(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')") registered, $(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')") failed, $(echo "$last" | cut -d';' -f"$(col 'Retransmissions(C)')") retransmissions"
echo "CPU per registration (µs): dialtone $(per $((du1 - du0))) user + $(per $((ds1 - ds0))) system"
[ -z "$redis_pid" ] || echo "                            Redis    $(per $((ru1 - ru0))) user + $(per $((rs1 - rs0))) system"
echo "                            sipp     $(per "$sipp_cpu") (user + system)"
kill -INT "$pid"
wait "$pid" 2>/dev/null || true
pid=""
[ -z "$redis" ] || redis-cli -u "$redis" --scan --pattern 'dialtone:bench:*' | xargs -r -n 1000 redis-cli -u "$redis" del >/dev/null
