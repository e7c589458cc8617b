# Shared by run.sh (the daemon as deployed) and harness.sh (the registrar alone):
# sipp steps at a fixed rate, the climb from rate to rate, and what each step cost.
# Expects: $here (this folder), $work (a scratch folder), $seconds, and the array rates.

# free_ports, wait_sip, sipp_stat and sipp_p99, shared with bench/sip-calls.
# shellcheck source=../sip-helpers.sh
. "$here/../sip-helpers.sh"

# A process and all its descendants (registrar workers, Kamailio's children).
descendants() { echo "$1"; local c; for c in $(pgrep -P "$1"); do descendants "$c"; done; }

# CPU clock ticks (user + system) that a process and its descendants have used.
tree_ticks() {
  local total=0 p t
  for p in $(descendants "$1"); do
    t="$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)"
    total=$((total + t))
  done
  echo "$total"
}

# One step: prints "pass p99=<ms> cpu=<µs per registration>" or "fail <counts>".
# Arguments: port, rate, name, [users file], [number of registrations], [pid whose CPU is counted].
step() {
  local port=$1 rate=$2 dir="$work/$3-$2" file="${4:-$work/users.csv}"
  mkdir -p "$dir"
  local calls="${5:-$((rate * seconds))}" pid="${6:-}"
  local ports ticks0=0 ticks1=0
  read -r -a ports <<< "$(free_ports 2)"
  [ -z "$pid" ] || ticks0="$(tree_ticks "$pid")"
  (cd "$dir" && sipp "127.0.0.1:$port" -sf "$here/register.xml" -inf "$file" -i 127.0.0.1 -p "${ports[0]}" -mp "${ports[1]}" \
      -t u1 -buff_size 4194304 -r "$rate" -m "$calls" -l $((rate * 2)) -timeout $((calls / rate * 4 + 10))s -timeout_error -nostdin \
      -trace_stat -stf stat.csv -fd 1 -trace_rtt -rtt_freq 1000 >/dev/null 2>&1) || true
  [ -z "$pid" ] || ticks1="$(tree_ticks "$pid")"
  local last header failed retrans ok
  header="$(head -1 "$dir/stat.csv" 2>/dev/null || true)"
  last="$(tail -1 "$dir/stat.csv" 2>/dev/null || true)"
  if [ -z "$last" ]; then echo "fail no-statistics"; return; fi
  col() { echo "$header" | tr ';' '\n' | grep -n -x "$1" | cut -d: -f1; }
  ok="$(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')")"
  failed="$(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')")"
  retrans="$(echo "$last" | cut -d';' -f"$(col 'Retransmissions(C)')")"
  # The response time of each registration (first REGISTER to the 200), by column name: the last column is the timer's number.
  local p99
  p99="$(sipp_p99 "$dir")"
  local cpu=""
  [ -z "$pid" ] || cpu=" cpu=$(awk -v t=$((ticks1 - ticks0)) -v n="${ok:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }')µs"
  if [ "$ok" = "$calls" ] && [ "$failed" = "0" ] && [ "$retrans" = "0" ]; then echo "pass p99=${p99}ms$cpu"; else echo "fail ok=$ok/$calls failed=$failed retransmissions=$retrans p99=${p99}ms$cpu"; fi
}

# Steps up the rates until one fails; every step's line goes to stderr and to $work/<name>.steps; prints the best passing rate.
# Arguments: name, port, [pid whose CPU is counted], [users file].
climb() {
  local name=$1 port=$2 pid="${3:-}" file="${4:-}" best=0
  for rate in "${rates[@]}"; do
    local r
    r="$(step "$port" "$rate" "$name" "$file" "" "$pid")"
    printf '%-16s %6s/s  %s\n' "$name" "$rate" "$r" | tee -a "$work/$name.steps" >&2
    case "$r" in pass*) best=$rate ;; *) break ;; esac
  done
  echo "$best"
}

# The bench users Kamailio and the harness know: user n, password pwn.
bench_users() { echo SEQUENTIAL; for u in $(seq 1000 $((999 + $1))); do echo "$u;[authentication username=$u password=pw$u]"; done; }

# Kamailio as the reference registrar, in the background; sets kamailio_pid and kamailio_port.
start_kamailio() {
  read -r kamailio_port <<< "$(free_ports 1)"
  sed "s/@PORT@/$kamailio_port/" "$here/kamailio.cfg.in" > "$work/kamailio.cfg"
  # Each step's sipp binds new ports, so every climb adds about ten contacts per user, kept for their hour:
  # with 256 MB of shared memory Kamailio failed most registrations from the fourth climb of a run on.
  kamailio -f "$work/kamailio.cfg" -DD -E -m 2048 -M 16 -P "$work/kamailio.pid" > "$work/kamailio.out" 2>&1 &
  kamailio_pid=$!
  pids+=("$kamailio_pid")
  wait_sip "$kamailio_port"
}
