#!/usr/bin/env bash
# Installs dialtone from this checkout into /opt/dialtone as a systemd service running as user "dialtone".
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
dest=/opt/dialtone

id dialtone >/dev/null 2>&1 || useradd --system --home-dir /var/lib/dialtone --shell /usr/sbin/nologin dialtone
mkdir -p "$dest" /etc/dialtone
(cd "$src" && npm ci --no-audit --no-fund)
cp -a "$src/package.json" "$src/package-lock.json" "$src/README.md" "$src/dist" "$src/node_modules" "$src/provisioning-templates" "$dest/"
if [ ! -f /etc/dialtone/dialtone.env ]; then
  sed "s/^DIALTONE_SECRET_KEY=$/DIALTONE_SECRET_KEY=$(openssl rand -hex 32)/" "$src/systemd/dialtone.env.example" > /etc/dialtone/dialtone.env
  chmod 0640 /etc/dialtone/dialtone.env
  chgrp dialtone /etc/dialtone/dialtone.env
fi
install -m 0644 "$src/systemd/dialtone.service" /etc/systemd/system/dialtone.service
systemctl daemon-reload
systemctl enable --now dialtone
echo "dialtone installed; settings in /etc/dialtone/dialtone.env, logs with: journalctl -u dialtone"
