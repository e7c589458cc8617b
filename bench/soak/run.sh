#!/usr/bin/env bash
# The soak: two `dialtone serve` nodes on one MariaDB database and one Redis
# (a redis-server of its own), SOAK_PHONES (10,000) phones set up as deployed
# (cluster.ts), and for SOAK_SECONDS (3600):
#   registrations  every phone re-REGISTERs every 60 s at its node (register.xml), half the phones on each;
#   resyncs        every phone fetches its file once an hour from its node, digest and User-Agent (fetch.ts);
#   calls          SOAK_CALL_RATE (20) calls/s, half from phones to the PBX through their node with digest
#                  (bench/sip-calls/phone-uac.xml), half from the PBX to phones, each through either node
#                  (pbx-calls.xml), held SOAK_HOLD_MS (10,000);
#   sampling       each node's RSS, heap, event-loop delay and CPU every 30 s (sample.ts).
# Prints the failures of each kind of traffic and the memory and loop figures, keeps everything in
# SOAK_WORK (a fresh folder by default), and exits non-zero on any failure.
# Needs sipp, redis-server, and MariaDB at DIALTONE_TEST_MYSQL_URL.
#   SOAK_SECONDS=300 bench/soak/run.sh       # a five-minute check
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${SOAK_SECONDS:-3600}"
phones="${SOAK_PHONES:-10000}"
call_rate="${SOAK_CALL_RATE:-20}"
hold="${SOAK_HOLD_MS:-10000}"
work="${SOAK_WORK:-$(mktemp -d /tmp/dialtone-soak.XXXXXX)}"
mkdir -p "$work"
ts_node="$root/node_modules/.bin/ts-node-transpile-only"
# shellcheck source=../sip-helpers.sh
. "$here/../sip-helpers.sh"

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

for bin in sipp redis-server node; do command -v "$bin" >/dev/null || { echo "soak: $bin is not installed" >&2; exit 1; }; done
(cd "$root" && npm run build >/dev/null)
export SOAK_PHONES="$phones"

read -r redis_port pbx_port pbx_media reg_a reg_a_media reg_b reg_b_media out_a out_a_media out_b out_b_media <<< "$(free_ports 11)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
pids+=($!)
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.2; done

echo "soak: setting up $phones phones on two nodes (work folder $work)…"
(cd "$root" && exec "$ts_node" bench/soak/cluster.ts "$work" "redis://127.0.0.1:$redis_port/" "$pbx_port") > "$work/cluster.out" 2> "$work/cluster.err" &
cluster=$!
pids+=("$cluster")
until grep -q '^ready' "$work/cluster.out" 2>/dev/null; do
  kill -0 "$cluster" 2>/dev/null || { cat "$work/cluster.err" >&2; exit 1; }
  sleep 1
done
cat "$work/cluster.err"
node_port() { node -e "const n = require(process.argv[1]).find((n) => n.name === process.argv[2]); console.log(n[process.argv[3]])" "$work/nodes.json" "$1" "$2"; }
sip_a="$(node_port a sip)"; sip_b="$(node_port b sip)"
wait_sip "$sip_a"; wait_sip "$sip_b"

# One sipp, in its own folder under $work, in the background. Usage: run_sipp <name> <sipp arguments…>
run_sipp() {
  local name=$1
  shift
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec sipp "$@" -i 127.0.0.1 -t u1 -buff_size 4194304 -nostdin -trace_err -trace_stat -stf stat.csv -fd 1 >/dev/null 2>&1) &
  pids+=($!)
  last_sipp=$!
}

started=$(date +%s)
echo "soak: $(date -u +%H:%M:%S) UTC, ${seconds} s of traffic"
(cd "$root" && exec "$ts_node" bench/soak/sample.ts "$work" "$seconds") 2> "$work/sample.err" &
sampler=$!; pids+=("$sampler")
(cd "$root" && exec "$ts_node" bench/soak/fetch.ts "$work" "$seconds") 2> "$work/fetch.err" &
fetcher=$!; pids+=("$fetcher")

# Each node's phones register over the first minute, then every minute; they answer the calls relayed to them.
half_a=$(( (phones + 1) / 2 )); half_b=$(( phones / 2 ))
run_sipp register-a "127.0.0.1:$sip_a" -sf "$here/register.xml" -oocsf "$here/../sip-calls/answer.xml" -inf "$work/phones-a.csv" \
  -p "$reg_a" -mp "$reg_a_media" -r "$half_a" -rp 60000 -m "$half_a" -l $(( half_a + 1000 )) -trace_counts
phones_a=$last_sipp
run_sipp register-b "127.0.0.1:$sip_b" -sf "$here/register.xml" -oocsf "$here/../sip-calls/answer.xml" -inf "$work/phones-b.csv" \
  -p "$reg_b" -mp "$reg_b_media" -r "$half_b" -rp 60000 -m "$half_b" -l $(( half_b + 1000 )) -trace_counts
phones_b=$last_sipp
sleep 65

# Calls once every phone has registered, ending well before the phones do: the PBX's calls last, since it answers the phones'.
in_rate=$(( call_rate / 2 )); out_rate=$(( (call_rate - in_rate) / 2 ))
in_seconds=$(( seconds - 65 - hold / 1000 - 40 ))
out_seconds=$(( in_seconds - 10 ))
[ "$out_seconds" -gt 0 ] || { echo "soak: SOAK_SECONDS=$seconds leaves no time for calls" >&2; exit 1; }
open_calls() { echo $(( $1 * (hold / 1000 + 40) )); }
run_sipp pbx "127.0.0.1:$sip_a" -sf "$here/pbx-calls.xml" -oocsf "$here/../sip-calls/answer.xml" -inf "$work/pbx.csv" \
  -p "$pbx_port" -mp "$pbx_media" -r "$in_rate" -m $(( in_rate * in_seconds )) -l "$(open_calls "$call_rate")" -d "$hold" \
  -timeout $(( in_seconds + hold / 1000 + 30 ))s -timeout_error
callers=("$last_sipp")
for n in a b; do
  port_var="sip_$n"; local_var="out_$n"; media_var="out_${n}_media"
  run_sipp "calls-$n" "127.0.0.1:${!port_var}" -sf "$here/../sip-calls/phone-uac.xml" -inf "$work/phones-$n.csv" \
    -p "${!local_var}" -mp "${!media_var}" -r "$out_rate" -m $(( out_rate * out_seconds )) -l "$(open_calls "$out_rate")" -d "$hold" \
    -timeout $(( out_seconds + hold / 1000 + 30 ))s -timeout_error
  callers+=("$last_sipp")
done

for p in "${callers[@]}" "$fetcher"; do wait "$p" || true; done
# The phones' loops never end: they are stopped when the sampler has taken its last sample.
wait "$sampler" || true
for p in "$phones_a" "$phones_b"; do kill -INT "$p" 2>/dev/null || true; done
for p in "$phones_a" "$phones_b"; do wait "$p" || true; done
echo "soak: traffic ended $(( $(date +%s) - started )) s after it began"

# What each sipp saw; a phone sipp's calls are its registrations' loops plus the calls it answered.
failures=0
echo
printf '%-12s %10s %8s %11s %12s %14s %8s %10s\n' sipp successful failed unexpected max-retrans recv-timeouts retrans dead-call
for name in register-a register-b calls-a calls-b pbx; do
  f="$work/$name/stat.csv"
  ok="$(sipp_stat "$f" 'SuccessfulCall(C)')"; failed="$(sipp_stat "$f" 'FailedCall(C)')"
  unexpected="$(sipp_stat "$f" 'FailedUnexpectedMessage(C)')"; maxretrans="$(sipp_stat "$f" 'FailedMaxUDPRetrans(C)')"
  timeouts="$(sipp_stat "$f" 'FailedTimeoutOnRecv(C)')"; retrans="$(sipp_stat "$f" 'Retransmissions(C)')"; dead="$(sipp_stat "$f" 'DeadCallMsgs(C)')"
  printf '%-12s %10s %8s %11s %12s %14s %8s %10s\n' "$name" "$ok" "$failed" "$unexpected" "$maxretrans" "$timeouts" "$retrans" "$dead"
  [ "$failed" = "0" ] || failures=$((failures + 1))
done
for n in a b; do
  counts="$(ls "$work/register-$n"/*_counts.csv 2>/dev/null | head -1)"
  [ -z "$counts" ] || echo "register-$n: $(node -e "
const [h, ...rows] = require('fs').readFileSync(process.argv[1], 'utf8').trim().split('\n');
const cols = h.split(';'); const last = rows[rows.length - 1].split(';');
const at = (re) => cols.reduce((sum, c, i) => re.test(c) ? sum + Number(last[i]) : sum, 0);
console.log(at(/_200_Recv\$/) + ' registrations answered 200, ' + at(/_401_Recv\$/) + ' 401s received (late ones absorbed included)');" "$counts")"
done
echo
echo "HTTP resyncs: $(cat "$work/fetch.json")"
node -e "const f = require(process.argv[1]); process.exit(Object.keys(f.failures).length === 0 && f.fetches > 0 ? 0 : 1)" "$work/fetch.json" || failures=$((failures + 1))
echo
node -e "
for (const n of require(process.argv[1])) console.log('node ' + n.node + ': RSS start ' + n.rssMb.start + ' MB, min ' + n.rssMb.min + ', max ' + n.rssMb.max + ', end ' + n.rssMb.end
  + '; slope after the first ' + n.warmupSeconds + ' s ' + n.rssSlopeMbPerHourAfterWarmup + ' MB/h (heap ' + n.heapSlopeMbPerHourAfterWarmup + ' MB/h); event-loop delay p99 per interval median '
  + n.loopP99Ms.median + ' ms, max ' + n.loopP99Ms.max + ' ms, longest ' + n.loopMaxMs + ' ms; CPU ' + n.cpuSeconds + ' s');" "$work/memory.json"
echo "samples: $work/samples.csv"
[ "$failures" = 0 ] || { echo "soak: failures in $failures kinds of traffic (see $work)" >&2; exit 1; }
