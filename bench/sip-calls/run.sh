#!/usr/bin/env bash
# Calls through an edge proxy, with sipp as the PBX and as the phones, against
# Kamailio and against dialtone as deployed (`dialtone serve` with its
# database, and Redis when given), the same scenarios in one run:
#   out: phones call the PBX (INVITE, 407, INVITE with credentials, relayed to the PBX);
#   in:  the PBX calls registered phones (relayed to each phone's registration).
# Each direction steps the call rate until a step has a failed call or a
# retransmission, and prints the highest passing rate of each proxy and their
# ratio. Loopback only. Usage: bench/sip-calls/run.sh [redis-url]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
redis="${1:-${DIALTONE_REDIS_URL:-}}"
seconds="${BENCH_STEP_SECONDS:-5}"
hold="${BENCH_HOLD_MS:-1000}"
phones="${BENCH_PHONES:-1000}"
rates=(${BENCH_RATES:-50 100 200 300 400 500 600 800 1000 1200 1500 2000 2500 3000})
targets=(${BENCH_TARGETS:-kamailio dialtone})
work="$(mktemp -d)"
# shellcheck source=../sip-helpers.sh
. "$here/../sip-helpers.sh"
pids=()
stop() { for p in "$@"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
# The seeded phones' bindings would otherwise stay in Redis until they expire.
forget_bindings() { [ -z "$redis" ] || redis-cli -u "$redis" --scan --pattern 'dialtone:sip:{r*}:reg:*xbench@bench.example.net' | xargs -r -n 1000 redis-cli -u "$redis" del >/dev/null; }
cleanup() { stop "${pids[@]}"; forget_bindings; rm -rf "$work"; }
trap cleanup EXIT

for bin in sipp kamailio node; do command -v "$bin" >/dev/null || { echo "bench: $bin is not installed" >&2; exit 1; }; done
# dialtone runs as deployed, from dist/: built now, so the run measures this checkout.
(cd "$root" && npm run build >/dev/null)

# The seeded extensions' credentials (bench/seed.ts): username <number>xbench, password pw<number>.
{ echo SEQUENTIAL; for n in $(seq 10000 $((9999 + phones))); do echo "${n}xbench;[authentication username=${n}xbench password=pw${n}]"; done; } > "$work/users.csv"

# One step of calls from a sipp UAC at a rate; prints "pass <p99 ms>" or "fail <why>".
# Usage: step <proxy port> <rate> <scenario> <dir name> [local port]
step() {
  local port=$1 rate=$2 scenario=$3 dir="$work/$4-$2" local_port="${5:-}"
  mkdir -p "$dir"
  local calls=$((rate * seconds)) ports
  read -r -a ports <<< "$(free_ports 2)"
  (cd "$dir" && sipp "127.0.0.1:$port" -sf "$here/$scenario" -inf "$work/users.csv" -i 127.0.0.1 -p "${local_port:-${ports[0]}}" -mp "${ports[1]}" \
      -t u1 -buff_size 4194304 -r "$rate" -m "$calls" -l $((rate * (hold / 1000 + 4))) -d "$hold" \
      -timeout $((seconds * 4 + hold / 1000 + 20))s -timeout_error -nostdin -trace_err \
      -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 50 >/dev/null 2>&1) || true
  local ok failed retrans p99
  ok="$(sipp_stat "$dir/stat.csv" 'SuccessfulCall(C)')"
  failed="$(sipp_stat "$dir/stat.csv" 'FailedCall(C)')"
  retrans="$(sipp_stat "$dir/stat.csv" 'Retransmissions(C)')"
  p99="$(sipp_p99 "$dir")"
  if [ "$ok" = "$calls" ] && [ "$failed" = "0" ] && [ "$retrans" = "0" ]; then echo "pass $p99"; return; fi
  # What sipp said of the first failed call (an unexpected answer, a timeout), so a failure can be told from a limit.
  local why
  why="$(grep -h -m1 -E 'Aborting|unexpected|timeout' "$dir"/*_errors.log 2>/dev/null | head -1 | cut -c1-200)"
  echo "fail ok=$ok/$calls failed=$failed retransmissions=$retrans p99=$p99${why:+ first error: $why}"
}

climb() {
  local name=$1 port=$2 scenario=$3 local_port="${4:-}" best=0
  for rate in "${rates[@]}"; do
    local r
    r="$(step "$port" "$rate" "$scenario" "$name" "$local_port")"
    printf '%-16s %6s calls/s  %s\n' "$name" "$rate" "$r" >&2
    case "$r" in pass*) best=$rate ;; *) break ;; esac
  done
  echo "$best"
}

# Both directions against the proxy on <port>; writes "<out best> <in best>" to $work/<name>.result.
directions() {
  local name=$1 port=$2 ports out in
  # Phones call the PBX: the PBX answers on its port.
  read -r -a ports <<< "$(free_ports 3)"
  mkdir -p "$work/$name-pbx" "$work/$name-phones"
  (cd "$work/$name-pbx" && exec sipp -sf "$here/answer.xml" -i 127.0.0.1 -p "$pbx_port" -mp "${ports[0]}" -t u1 -buff_size 4194304 -nostdin >/dev/null 2>&1) &
  local pbx_pid=$!
  pids+=("$pbx_pid")
  out="$(climb "$name out" "$port" phone-uac.xml)"
  stop "$pbx_pid"
  # The PBX calls the phones: they register from one socket, which answers the calls relayed to it.
  (cd "$work/$name-phones" && exec sipp "127.0.0.1:$port" -sf "$here/phone-register.xml" -oocsf "$here/answer.xml" -inf "$work/users.csv" \
      -i 127.0.0.1 -p "${ports[1]}" -mp "${ports[2]}" -t u1 -buff_size 4194304 -r 500 -m "$phones" -l "$phones" -d 3600000 \
      -nostdin -trace_stat -stf stat.csv -fd 1 >/dev/null 2>&1) &
  local phones_pid=$!
  pids+=("$phones_pid")
  sleep $((phones / 500 + 3))
  echo "$name: $(sipp_stat "$work/$name-phones/stat.csv" 'CurrentCall') of $phones phones registered and waiting for calls" >&2
  in="$(climb "$name in" "$port" pbx-uac.xml "$pbx_port")"
  stop "$phones_pid"
  echo "$out $in" > "$work/$name.result"
}

read -r kport dport pbx_port <<< "$(free_ports 3)"
declare -A out in
for target in "${targets[@]}"; do
  case "$target" in
    kamailio)
      sed -e "s/@PORT@/$kport/" -e "s/@PBX_PORT@/$pbx_port/" "$here/kamailio.cfg.in" > "$work/kamailio.cfg"
      kamailio -f "$work/kamailio.cfg" -DD -E -m 256 -M 16 -P "$work/kamailio.pid" > "$work/kamailio.out" 2>&1 &
      pid=$!; pids+=("$pid")
      wait_sip "$kport"
      directions kamailio "$kport"
      read -r out[kamailio] in[kamailio] < "$work/kamailio.result"
      stop "$pid"
      ;;
    dialtone)
      (cd "$root" && node_modules/.bin/ts-node-transpile-only bench/sip-calls/dialtone-under-test.ts "$dport" "$pbx_port" "$phones" ${redis:+"$redis"}) > "$work/dialtone.out" 2>&1 &
      pid=$!; pids+=("$pid")
      until grep -q '^ready' "$work/dialtone.out" 2>/dev/null; do kill -0 "$pid" 2>/dev/null || { cat "$work/dialtone.out" >&2; exit 1; }; sleep 0.5; done
      wait_sip "$dport"
      directions dialtone "$dport"
      read -r out[dialtone] in[dialtone] < "$work/dialtone.result"
      rss="$(grep '^rss' "$work/dialtone.out" | tail -1 | cut -d' ' -f2)"
      stop "$pid"
      forget_bindings
      ;;
    *) echo "bench: unknown target $target (kamailio, dialtone)" >&2; exit 1 ;;
  esac
done

echo
store="in-process store"; [ -n "$redis" ] && store="Redis"
for target in "${targets[@]}"; do
  extra=""; [ "$target" = dialtone ] && extra=" ($store, resident memory ${rss:-?} MB after the run)"
  echo "$target: phones → PBX ${out[$target]} calls/s, PBX → phones ${in[$target]} calls/s$extra"
done
if [ -n "${out[kamailio]:-}" ] && [ -n "${out[dialtone]:-}" ]; then
  awk -v d="${out[dialtone]}" -v k="${out[kamailio]}" 'BEGIN { if (k > 0) printf "ratio dialtone/kamailio, phones → PBX: %.2f\n", d / k }'
  awk -v d="${in[dialtone]}" -v k="${in[kamailio]}" 'BEGIN { if (k > 0) printf "ratio dialtone/kamailio, PBX → phones: %.2f\n", d / k }'
fi
