#!/usr/bin/env bash
# Installs and starts what the test suite needs, idempotently, on a fresh
# Debian machine of the project's kind (go-svc). Safe to run again: every step
# checks first and does nothing when its tool or service is already there.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		log "need root to run: $*"; return 1
	fi
}

# Debian packages: promtool (prometheus), Alertmanager, net-snmp's snmptrap and
# snmptrapd, the NATS and PostgreSQL servers for the cluster/store tests, Chromium.
need_pkgs=()
command -v promtool >/dev/null || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need_pkgs+=(prometheus-alertmanager)
command -v snmptrap >/dev/null || need_pkgs+=(snmp)
command -v snmptrapd >/dev/null || [ -x /usr/sbin/snmptrapd ] || need_pkgs+=(snmptrapd)
[ -x /usr/sbin/nats-server ] || need_pkgs+=(nats-server)
command -v pg_ctlcluster >/dev/null || need_pkgs+=(postgresql)
# Headless Chromium and a font for the console's end-to-end test (e2e/console_test.go).
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_pkgs+=(fonts-dejavu-core)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing Debian packages: ${need_pkgs[*]}"
	as_root apt-get update -qq
	# policy-rc.d keeps package scripts from starting daemons we start ourselves.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL on 127.0.0.1:5432 with trust auth and a database "test".
if ! port_open 5432; then
	log "starting PostgreSQL"
	as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
if port_open 5432 && command -v psql >/dev/null; then
	psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 ||
		psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || log "could not create database test"
else
	log "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL store tests will fail under CI"
fi

# The machine's own NATS with JetStream on 127.0.0.1:4222 (external-NATS tests).
if ! port_open 4222; then
	log "starting nats-server on 127.0.0.1:4222"
	as_root mkdir -p /var/lib/nats-server
	as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
		-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
	for _ in $(seq 1 30); do port_open 4222 && break; sleep 1; done
fi

# Go modules through the module proxy (pinned in go.mod/go.sum).
log "downloading Go modules"
go mod download
log "ready"
