#!/usr/bin/env bash
# Installs dialtone from this checkout into /opt/dialtone as a systemd service running as user "dialtone".
#   scripts/install-systemd.sh               install (as root), then enable and start the unit
#   scripts/install-systemd.sh --print-unit  print the unit this machine's systemd would get, change nothing
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
dest=/opt/dialtone

# systemd 253 brought Type=notify-reload; before it, systemd sends no SIGHUP itself, so ExecReload does.
unit() {
  local version
  version="$(systemctl --version 2>/dev/null | awk 'NR==1 {print $2}')"
  if [ -n "$version" ] && [ "${version%%[!0-9]*}" -lt 253 ]; then
    sed -e 's/^Type=notify-reload$/Type=notify\nExecReload=\/bin\/kill -HUP $MAINPID/' "$src/systemd/dialtone.service"
  else
    cat "$src/systemd/dialtone.service"
  fi
}

if [ "${1:-}" = "--print-unit" ]; then
  unit
  exit 0
fi

id dialtone >/dev/null 2>&1 || useradd --system --home-dir /var/lib/dialtone --shell /usr/sbin/nologin dialtone
mkdir -p "$dest" /etc/dialtone
(cd "$src" && npm ci --no-audit --no-fund)
# Without the notify module systemd would wait for a READY=1 that never comes and stop the start.
if ! (cd "$src" && node -e "require('sd-notify')" 2>/dev/null); then
  echo "install-systemd: the sd-notify module did not build: install libsystemd-dev, python3, make and g++ (apt-get install libsystemd-dev python3 make g++), then run this again" >&2
  exit 1
fi
cp -a "$src/package.json" "$src/package-lock.json" "$src/README.md" "$src/dist" "$src/node_modules" "$src/provisioning-templates" "$dest/"
if [ ! -f /etc/dialtone/dialtone.env ]; then
  sed "s/^DIALTONE_SECRET_KEY=$/DIALTONE_SECRET_KEY=$(openssl rand -hex 32)/" "$src/systemd/dialtone.env.example" > /etc/dialtone/dialtone.env
  chmod 0640 /etc/dialtone/dialtone.env
  chgrp dialtone /etc/dialtone/dialtone.env
fi
unit > /etc/systemd/system/dialtone.service
chmod 0644 /etc/systemd/system/dialtone.service
systemctl daemon-reload
systemctl enable --now dialtone
echo "dialtone installed; settings in /etc/dialtone/dialtone.env; reload with: systemctl reload dialtone; logs with: journalctl -u dialtone"
