#!/usr/bin/env bash
# sipp against dialtone's registrar and against Kamailio, same scenario,
# stepping the rate until a step has a failed registration or a
# retransmission; prints both maximum passing rates and their ratio.
# Loopback only. Usage: bench/sip-register/run.sh [redis-url]
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

# Distinct free ports: all held open at once, so none is handed out twice.
free_ports() {
  node -e "const net=require('net');const n=+process.argv[1];const ss=[];let k=0;for(let i=0;i<n;i++){const s=net.createServer().listen(0,'127.0.0.1',()=>{if(++k===n){console.log(ss.map(x=>x.address().port).join(' '));ss.forEach(x=>x.close())}});ss.push(s)}" "$1"
}

users() { echo SEQUENTIAL; for u in $(seq 1000 $((999 + $1))); do echo "$u;[authentication username=$u password=pw$u]"; done; }
users 10000 > "$work/users.csv"
users "$bindings" > "$work/bindings.csv"

# One step: prints "pass <p99 ms>" or "fail <reason>". Optional: users file and number of calls.
step() {
  local port=$1 rate=$2 dir="$work/$3-$2" file="${4:-$work/users.csv}"
  mkdir -p "$dir"
  local calls="${5:-$((rate * seconds))}"
  local ports
  read -r -a ports <<< "$(free_ports 2)"
  (cd "$dir" && sipp "127.0.0.1:$port" -sf "$here/register.xml" -inf "$file" -i 127.0.0.1 -p "${ports[0]}" -mp "${ports[1]}" \
      -t u1 -buff_size 4194304 -r "$rate" -m "$calls" -l $((rate * 2)) -timeout $((calls / rate * 4 + 10))s -timeout_error -nostdin \
      -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1000 >/dev/null 2>&1) || true
  local last header failed retrans ok
  header="$(head -1 "$dir/stat.csv" 2>/dev/null || true)"
  last="$(tail -1 "$dir/stat.csv" 2>/dev/null || true)"
  if [ -z "$last" ]; then echo "fail no-statistics"; return; fi
  col() { echo "$header" | tr ';' '\n' | grep -n -x "$1" | cut -d: -f1; }
  ok="$(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')")"
  failed="$(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')")"
  retrans="$(echo "$last" | cut -d';' -f"$(col 'Retransmissions(C)')")"
  local p99
  p99="$(cat "$dir"/*_rtt.csv 2>/dev/null | grep -v '^Date' | cut -d';' -f3 | sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"} else {i=int(NR*0.99); if (i<1) i=1; print a[i]}}')"
  if [ "$ok" = "$calls" ] && [ "$failed" = "0" ] && [ "$retrans" = "0" ]; then echo "pass $p99"; else echo "fail ok=$ok/$calls failed=$failed retransmissions=$retrans p99=$p99"; fi
}

climb() {
  local name=$1 port=$2 best=0
  for rate in "${rates[@]}"; do
    local r
    r="$(step "$port" "$rate" "$name")"
    printf '%-9s %6s/s  %s\n' "$name" "$rate" "$r" >&2
    case "$r" in pass*) best=$rate ;; *) break ;; esac
  done
  echo "$best"
}

# Waits (bounded, 20 s) until something answers SIP on the port.
wait_sip() {
  node -e "
const s = require('dgram').createSocket('udp4');
let n = 0;
const probe = () => {
  if (++n > 100) process.exit(1);
  const m = ['OPTIONS sip:probe@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:' + s.address().port + ';branch=z9hG4bKprobe' + n,
    'From: <sip:probe@127.0.0.1>;tag=1', 'To: <sip:probe@127.0.0.1>', 'Call-ID: probe' + n, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  s.send(m, +process.argv[1], '127.0.0.1');
};
s.on('message', () => process.exit(0));
s.bind(0, '127.0.0.1', () => { probe(); setInterval(probe, 200); });" "$1"
}

read -r dport kport <<< "$(free_ports 2)"
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

sed "s/@PORT@/$kport/" "$here/kamailio.cfg.in" > "$work/kamailio.cfg"
kamailio -f "$work/kamailio.cfg" -DD -E -m 256 -M 16 -P "$work/kamailio.pid" > "$work/kamailio.out" 2>&1 &
pids+=($!)
wait_sip "$kport"
kamailio_best="$(climb kamailio "$kport")"

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
