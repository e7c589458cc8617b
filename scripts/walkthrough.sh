#!/usr/bin/env bash
# The README's walk-through as one script: from nothing to a phone registered. Run it from the checkout
# while `npm start` runs in another terminal (same folder, so the CLI reaches the same database).
# Needs curl, jq and sipp (Debian: curl jq sip-tester). Every id is kept in a shell variable.
set -euo pipefail
cd "$(dirname "$0")/.."

API=${DIALTONE_URL:-http://127.0.0.1:8080}/api/v1
RUN=${RUN:-$(date +%s | tail -c 7)}         # six digits that make names unique, so the script can run again
DOMAIN=acme$RUN.example.com
MAC=$(printf '0015650%05x' $((RUN % 1048576)))
dialtone() { node dist/daemon/cli/main.js "$@"; }
api() { curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
say() { printf '\n== %s\n' "$*"; }

say "1. A tenant (customer account) and its primary administrator, with an administrator token"
TENANT_JSON=$(dialtone tenant create --name "Acme $RUN" --domain "$DOMAIN" \
  --admin-first Ada --admin-last Lovelace --admin-email "ada@$DOMAIN")
TENANT=$(jq -r .tenant.id <<<"$TENANT_JSON")
TOKEN=$(jq -r .token <<<"$TENANT_JSON")
echo "tenant $TENANT, SIP domain $DOMAIN"

say "2. A site: its address is the emergency address of its users' extensions"
SITE=$(api "$API/sites" -d '{"name":"HQ","timezone":"America/Chicago","language":"en",
  "address":{"street":"1 Main St","city":"Springfield","region":"IL","postalCode":"62701","country":"US"}}' | jq -r .id)
echo "site $SITE"

say "3. A user profile (the username defaults to the email)"
USER_ID=$(api "$API/users" -d "{\"firstName\":\"Grace\",\"lastName\":\"Hopper\",\"email\":\"grace@$DOMAIN\",\"siteId\":\"$SITE\"}" | jq -r .id)
echo "user $USER_ID"

say "4. An extension for that user; caller ID and voicemail email come from the profile"
EXT=$(api "$API/extensions" -d "{\"number\":\"1001\",\"userId\":\"$USER_ID\",\"voicemail\":{\"pin\":\"480135\"}}" | jq -r .id)
echo "extension $EXT (1001)"

say "5. A phone entered by its MAC address, and the file it fetches at boot"
DEVICE=$(api "$API/devices" -d "{\"mac\":\"$MAC\",\"model\":\"T46S\",\"extensionId\":\"$EXT\"}" | jq -r .id)
echo "device $DEVICE ($MAC)"
curl -sS -A "Yealink SIP-T46S 66.85.0.5 $MAC" "${DIALTONE_URL:-http://127.0.0.1:8080}/prov/$MAC.cfg" | grep -E '^account\.1\.(user_name|sip_server|outbound_proxy)'

say "6. The extension's SIP credentials, as a softphone (or sipp) is given them"
CREDS=$(api "$API/extensions/$EXT/sip-credentials")
jq '{username, domain, registrar}' <<<"$CREDS"
SIP_USER=$(jq -r .username <<<"$CREDS")
SIP_PASSWORD=$(jq -r .password <<<"$CREDS")
REGISTRAR=$(jq -r .registrar <<<"$CREDS")

say "7. sipp stands in for the phone: REGISTER, 401 challenge, REGISTER with the digest, 200"
SCENARIO=$(mktemp --suffix=.xml)
trap 'rm -f "$SCENARIO"' EXIT
cat > "$SCENARIO" <<XML
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
      REGISTER sip:$DOMAIN SIP/2.0
      Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch];rport
      From: <sip:1001@$DOMAIN>;tag=[call_number]
      To: <sip:1001@$DOMAIN>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Contact: <sip:1001@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 600
      User-Agent: sipp walkthrough
      Content-Length: 0
  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:$DOMAIN SIP/2.0
      Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch];rport
      From: <sip:1001@$DOMAIN>;tag=[call_number]
      To: <sip:1001@$DOMAIN>
      Call-ID: [call_id]
      CSeq: [cseq] REGISTER
      Contact: <sip:1001@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 600
      User-Agent: sipp walkthrough
      [authentication username=$SIP_USER password=$SIP_PASSWORD]
      Content-Length: 0
  ]]></send>
  <recv response="200"/>
</scenario>
XML
sipp -sf "$SCENARIO" -m 1 -i 127.0.0.1 -timeout 10s -timeout_error -nostdin -trace_err -error_file /dev/stderr "$REGISTRAR" >/dev/null

say "8. The phone is registered: its contact, and the device's timeline"
api "$API/extensions/$EXT/registrations" | jq '{aor, items: [.items[] | {contact, transport, expiresIn}]}'
api "$API/devices/$DEVICE/events" | jq -r '.items[] | "\(.kind) \(.result) \(.detail // "")"'
test "$(api "$API/extensions/$EXT/registrations" | jq '.items | length')" -ge 1
echo
echo "done: extension 1001 of $DOMAIN is registered. Ids: TENANT=$TENANT SITE=$SITE USER_ID=$USER_ID EXT=$EXT DEVICE=$DEVICE"
