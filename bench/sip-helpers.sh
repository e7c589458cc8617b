# Shell helpers of the SIP benchmarks (sourced): ports, readiness, sipp statistics.

# n distinct free TCP/UDP-usable ports on loopback, all held open at once so none is handed out twice.
free_ports() {
  node -e "const net=require('net');const n=+process.argv[1];const ss=[];let k=0;for(let i=0;i<n;i++){const s=net.createServer().listen(0,'127.0.0.1',()=>{if(++k===n){console.log(ss.map(x=>x.address().port).join(' '));ss.forEach(x=>x.close())}});ss.push(s)}" "$1"
}

# Waits (bounded, 60 s) until something answers SIP over UDP on the loopback port.
wait_sip() {
  node -e "
const s = require('dgram').createSocket('udp4');
let n = 0;
const probe = () => {
  if (++n > 300) process.exit(1);
  const m = ['OPTIONS sip:probe@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:' + s.address().port + ';branch=z9hG4bKprobe' + n,
    'From: <sip:probe@127.0.0.1>;tag=1', 'To: <sip:probe@127.0.0.1>', 'Call-ID: probe' + n, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  s.send(m, +process.argv[1], '127.0.0.1');
};
s.on('message', () => process.exit(0));
s.bind(0, '127.0.0.1', () => { probe(); setInterval(probe, 200); });" "$1"
}

# A column of the last line of a sipp statistics file (-trace_stat), or "-" when it has none.
sipp_stat() {
  local header last
  header="$(head -1 "$1" 2>/dev/null || true)"
  last="$(tail -1 "$1" 2>/dev/null || true)"
  [ -n "$last" ] || { echo "-"; return; }
  echo "$last" | cut -d';' -f"$(echo "$header" | tr ';' '\n' | grep -n -x "$2" | cut -d: -f1)"
}

# The 99th percentile of the response times in the sipp -trace_rtt files of a folder, in ms, or n/a. The
# column is found by its name: the third is sipp's timer number (rtd_no), always 1, not a time.
sipp_p99() {
  local col
  col="$(head -1 "$(ls "$1"/*_rtt.csv 2>/dev/null | head -1)" 2>/dev/null | tr ';' '\n' | grep -n -x 'response_time_ms' | cut -d: -f1 || true)"
  [ -n "$col" ] || { echo "n/a"; return; }
  cat "$1"/*_rtt.csv | grep -v '^Date' | cut -d';' -f"$col" | sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"} else {i=int(NR*0.99); if (i<1) i=1; print a[i]}}'
}
