#!/usr/bin/env bash
# Calls through dialtone, as the README's "Calls" section walks through them: two phones on two
# extensions of one tenant and a PBX stand-in, all sipp. Phone A calls the PBX (407, then relayed),
# the PBX calls phone B (it rings and answers), each call ends with a BYE (from A, from the PBX);
# a call to an extension with no phone gets 302 to its forwarding rule, or 480 without one;
# 911 from A reaches the PBX with the site's address as PIDF-LO. Run it from the checkout while
# `npm start` runs (same folder). Needs curl, jq and sipp (Debian: curl jq sip-tester).
set -euo pipefail
cd "$(dirname "$0")/.."

URL=${DIALTONE_URL:-http://127.0.0.1:8080}
API=$URL/api/v1
RUN=${RUN:-$(date +%s | tail -c 7)}
DOMAIN=calls$RUN.example.com
PBX_PORT=${PBX_PORT:-5070}
SCENARIOS=scripts/calls
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
dialtone() { node dist/daemon/cli/main.js "$@"; }
api() { curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
say() { printf '\n== %s\n' "$*"; }
sippx() { sipp -i 127.0.0.1 -m 1 -timeout 20s -timeout_error -nostdin -trace_err -error_file "$WORK/errors.log" "$@" >/dev/null 2>&1 || { cat "$WORK/errors.log" >&2; return 1; }; }

say "1. A tenant, a site (the emergency address), and extensions 2001 (phone A), 2002 (phone B),"
say "   2003 (no phone, forwarded to 5550100 when not registered) and 2004 (no phone, no rule)"
TENANT_JSON=$(dialtone tenant create --name "Calls $RUN" --domain "$DOMAIN" --admin-first Ada --admin-last Lovelace --admin-email "ada@$DOMAIN")
TENANT=$(jq -r .tenant.id <<<"$TENANT_JSON")
ADMIN=$(jq -r .admin.id <<<"$TENANT_JSON")
TOKEN=$(jq -r .token <<<"$TENANT_JSON")
SITE=$(api "$API/sites" -d '{"name":"HQ","timezone":"America/Chicago",
  "address":{"street":"233 S Wacker Dr","city":"Chicago","region":"IL","postalCode":"60606","country":"US"}}' | jq -r .id)
declare -A EXT USER PASS
for n in 2001 2002 2003 2004; do
  body="{\"number\":\"$n\",\"userId\":\"$ADMIN\",\"siteId\":\"$SITE\"}"
  [ "$n" = 2003 ] && body="{\"number\":\"$n\",\"userId\":\"$ADMIN\",\"forwarding\":[{\"condition\":\"notRegistered\",\"destination\":\"5550100\"}]}"
  EXT[$n]=$(api "$API/extensions" -d "$body" | jq -r .id)
  CREDS=$(api "$API/extensions/${EXT[$n]}/sip-credentials")
  USER[$n]=$(jq -r .username <<<"$CREDS")
  PASS[$n]=$(jq -r .password <<<"$CREDS")
  REGISTRAR=$(jq -r .registrar <<<"$CREDS")
  # sipp reads a phone's number and credentials from an injection file.
  printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' "$n" "${USER[$n]}" "${PASS[$n]}" > "$WORK/$n.csv"
done
echo "tenant $TENANT ($DOMAIN), registrar $REGISTRAR"

say "2. The tenant's PBX: a sipp stand-in on 127.0.0.1:$PBX_PORT (an operator sets it; DIALTONE_PBX_URI is every tenant's default)"
OPERATOR=$(dialtone token create --operator --label "calls walk-through" | jq -r .token)
curl -sS --fail-with-body -X PUT -H "Authorization: Bearer $OPERATOR" -H 'content-type: application/json' \
  "$API/tenants/$TENANT/pbx" -d "{\"uri\":\"sip:127.0.0.1:$PBX_PORT;transport=udp\",\"kind\":\"other\"}" | jq -c .
sleep 0.5
pbx_answers() { (sippx -sf $SCENARIOS/answer.xml -p "$PBX_PORT" -trace_msg -message_file "$WORK/pbx-$1.log") & PIDS+=($!); PBX=$!; sleep 0.5; }

say "3. Phone A registers and calls 5551234: challenged (407), relayed to the PBX, which answers; A hangs up"
pbx_answers out
sippx -sf $SCENARIOS/phone-calls.xml -inf "$WORK/2001.csv" -key tp udp -key domain "$DOMAIN" -key dialed 5551234 "$REGISTRAR"
wait "$PBX"
grep -m1 '^P-Asserted-Identity' "$WORK/pbx-out.log"
echo "the call reached the PBX and ended with A's BYE"

say "4. Phone B registers; the PBX calls 2002 through dialtone; B rings and answers; the PBX hangs up"
(sippx -sf $SCENARIOS/phone-waits.xml -oocsf $SCENARIOS/answer.xml -inf "$WORK/2002.csv" -key tp udp -key domain "$DOMAIN" "$REGISTRAR" -timeout 40s) & PIDS+=($!)
until [ "$(api "$API/extensions/${EXT[2002]}/registrations" | jq '.items | length')" -ge 1 ]; do sleep 0.2; done
sippx -sf $SCENARIOS/pbx-calls.xml -p "$PBX_PORT" -key number 2002 -key domain "$DOMAIN" "$REGISTRAR"
echo "the PBX's call reached phone B and ended with the PBX's BYE"

say "5. The PBX calls 2003 and 2004, which have no phone: 302 to the forwarding rule, and 480"
for n in 2003 2004; do
  sippx -sf $SCENARIOS/pbx-expects.xml -p "$PBX_PORT" -key number $n -key domain "$DOMAIN" -trace_msg -message_file "$WORK/pbx-$n.log" "$REGISTRAR"
  printf '%s: %s %s\n' $n "$(grep -m1 -o 'SIP/2.0 [0-9]\{3\} [A-Za-z ]*' "$WORK/pbx-$n.log")" "$(grep -o '<sip:5550100@[^>]*>' "$WORK/pbx-$n.log" | head -1)"
done

say "6. Phone A dials 911: the PBX gets the call with the site's address as PIDF-LO"
pbx_answers 911
sippx -sf $SCENARIOS/phone-calls.xml -inf "$WORK/2001.csv" -key tp udp -key domain "$DOMAIN" -key dialed 911 "$REGISTRAR"
wait "$PBX"
grep -m1 '^Geolocation:' "$WORK/pbx-911.log"
grep -o '<ca:A3>[^<]*</ca:A3>\|<ca:RD>[^<]*</ca:RD>\|<ca:PC>[^<]*</ca:PC>' "$WORK/pbx-911.log" | head -3
grep -q 'application/pidf+xml' "$WORK/pbx-911.log"
echo
echo "done: calls of $DOMAIN went both ways through dialtone"
