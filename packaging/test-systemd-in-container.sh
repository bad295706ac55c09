#!/usr/bin/env bash
# Runs inside the container of packaging/test-package.sh where systemd is PID 1: the package's own
# maintainer scripts enable, start, restart and stop the real, sandboxed agentbox.service.
# Checks the service as systemd runs it: user, sandbox (no new privileges, seccomp, no capabilities),
# the master key from the systemd credential in /etc/credstore, the Docker socket reached through the
# docker group despite ProtectSystem=strict, an offline command run through systemd-run, an upgrade
# (restart, data kept), remove (stopped, data kept) and purge.
# Environment: DEB, UPGRADE_DEB, VERSION; DOCKER_GID when the host's Docker socket is mounted.
set -euo pipefail

: "${DEB:?}" "${UPGRADE_DEB:?}" "${VERSION:?}"
state=/var/lib/agentbox
base=http://127.0.0.1:8420
checks=0

fail() {
  echo "  FAIL: $*" >&2
  echo "  journal of agentbox.service:" >&2
  journalctl -u agentbox --no-pager -n 30 >&2 || true
  exit 1
}
ok() { checks=$((checks + 1)); echo "  ok: $*"; }
step() { echo "-- $*"; }

wait_healthy() {
  for _ in $(seq 1 100); do
    if curl -sf "$base/healthz" >/tmp/healthz 2>/dev/null; then
      ok "agentbox.service answers /healthz: $(cat /tmp/healthz)"
      return
    fi
    sleep 0.2
  done
  fail "agentbox.service does not answer $base/healthz within 20 s ($(systemctl is-active agentbox))"
}

main_pid() { systemctl show -p MainPID --value agentbox; }

step "systemd is PID 1"
ok "systemctl is-system-running: $(systemctl is-system-running || true)"

step "before install: the master key as a systemd credential; local toolboxes off (the host's engine is only pinged)"
install -d -m 0700 /etc/credstore
(umask 077 && head -c 32 /dev/urandom | base64 >/etc/credstore/agentbox-master-key)
mkdir -p /etc/systemd/system/agentbox.service.d
printf '[Service]\nEnvironment=AGENTBOX_RECONCILE_INTERVAL=0\n' >/etc/systemd/system/agentbox.service.d/test.conf
docker=false
if [ -n "${DOCKER_GID:-}" ] && [ -S /var/run/docker.sock ]; then
  groupadd --system --gid "$DOCKER_GID" docker
  docker=true
  ok "the host's Docker socket is mounted; group docker has its gid $DOCKER_GID"
fi

step "dpkg -i $(basename "$DEB"): postinst enables and starts the service"
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i failed"; }
[ "$(systemctl is-enabled agentbox)" = enabled ] || fail "agentbox.service is $(systemctl is-enabled agentbox), not enabled"
ok "agentbox.service enabled"
wait_healthy
[ "$(systemctl is-active agentbox)" = active ] || fail "agentbox.service is $(systemctl is-active agentbox)"
ok "agentbox.service active"

verify=$(systemd-analyze verify --man=no /lib/systemd/system/agentbox.service 2>&1) || fail "systemd-analyze verify: $verify"
if [ -n "$verify" ]; then fail "systemd-analyze verify: $verify"; fi
ok "systemd-analyze verify of the installed unit: nothing to say"

step "the process as systemd runs it"
pid=$(main_pid)
[ "$(stat -c %U "/proc/$pid")" = agentbox ] || fail "the service runs as $(stat -c %U "/proc/$pid")"
ok "runs as user agentbox (pid $pid)"
grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" || fail "NoNewPrivs is not set"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$pid/status" || fail "no seccomp filter"
grep -q '^CapBnd:[[:space:]]*0*$' "/proc/$pid/status" || fail "capabilities remain: $(grep CapBnd "/proc/$pid/status")"
ok "NoNewPrivs 1, seccomp filter on, no capability in the bounding set"
journalctl -u agentbox --no-pager | grep 'vault unsealed' | grep -q 'systemd credential agentbox-master-key' \
  || fail "the vault was not unsealed with the systemd credential"
[ ! -e "$state/keys/master.key" ] || fail "a key file was created although the credential was given"
ok "vault unsealed with the systemd credential agentbox-master-key; no key file in $state"
expected_docker=unreachable
if [ "$docker" = true ]; then expected_docker=ok; fi
readyz=$(curl -s "$base/readyz")
if ! grep -q '"database":"ok"' <<<"$readyz" || ! grep -q '"vault":"ok"' <<<"$readyz"; then fail "/readyz: $readyz"; fi
grep -q "\"docker\":\"$expected_docker" <<<"$readyz" || fail "/readyz docker is not $expected_docker: $readyz"
ok "/readyz: $readyz"
security=$(systemd-analyze security agentbox --no-pager 2>&1 | grep 'Overall exposure level' || true)
ok "systemd-analyze security of the running unit: ${security#→ }"

step "an offline command through systemd-run, with the service's user and credential (service stopped)"
systemctl stop agentbox
systemd-run --quiet --wait --pipe -p User=agentbox -p LoadCredential=agentbox-master-key \
  /usr/bin/agentbox admin create alice --json >/tmp/admin.json 2>/tmp/admin.err \
  || { cat /tmp/admin.err >&2; fail "agentbox admin create through systemd-run failed"; }
token=$(sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' /tmp/admin.json)
[ -n "$token" ] || fail "no token in $(cat /tmp/admin.json)"
ok "agentbox admin create alice (systemd-run, user agentbox, credential agentbox-master-key)"
if [ -n "$(find "$state" ! -user agentbox -print -quit)" ]; then fail "files not owned by agentbox in $state"; fi
ok "every file in $state is owned by agentbox"
systemctl start agentbox
wait_healthy
curl -sf -H "Authorization: Bearer $token" "$base/api/v1/me" | grep -q '"alice"' || fail "GET /api/v1/me with alice's token failed"
ok "GET /api/v1/me as alice"

step "upgrade to $(basename "$UPGRADE_DEB"): postinst restarts the service, data kept"
pid=$(main_pid)
dpkg -i "$UPGRADE_DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "the upgrade failed"; }
[ "$(main_pid)" != "$pid" ] || fail "the service was not restarted on upgrade"
wait_healthy
ok "restarted (pid $pid -> $(main_pid))"
curl -sf -H "Authorization: Bearer $token" "$base/api/v1/me" | grep -q '"alice"' || fail "alice's token no longer works after the upgrade"
ok "alice's token still works"

step "dpkg -r: the service stops, the data stays"
dpkg -r agentbox >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -r failed"; }
if systemctl is-active --quiet agentbox; then fail "agentbox.service still runs after dpkg -r"; fi
if curl -sf "$base/healthz" >/dev/null 2>&1; then fail "something still answers on $base"; fi
ok "agentbox.service stopped"
[ -f "$state/agentbox.sqlite" ] || fail "dpkg -r deleted the database"
ok "data kept"

step "dpkg -P"
dpkg -P agentbox >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -P failed"; }
if [ -e "$state" ] || [ -e /etc/agentbox ]; then fail "purge left $state or /etc/agentbox"; fi
if [ -n "$(find /etc/systemd/system -name 'agentbox.service' -print -quit)" ]; then fail "enablement links remain after purge"; fi
ok "data, settings and enablement links gone"
[ -f /etc/credstore/agentbox-master-key ] || fail "purge deleted the administrator's credential"
ok "/etc/credstore/agentbox-master-key (the administrator's) kept"

step "README's way to a credential after the first start: copy the key file, restart, delete it"
rm /etc/credstore/agentbox-master-key
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i failed"; }
wait_healthy
[ -f "$state/keys/master.key" ] || fail "no key file was created without a credential"
ok "without a credential the key file $state/keys/master.key was created"
install -d -m 0700 /etc/credstore && install -m 0600 "$state/keys/master.key" /etc/credstore/agentbox-master-key
systemctl restart agentbox
rm "$state/keys/master.key"
systemctl restart agentbox
wait_healthy
journalctl -u agentbox --no-pager | grep 'vault unsealed' | tail -n 1 | grep -q 'systemd credential agentbox-master-key' \
  || fail "after the move the vault was not unsealed with the credential"
ok "after the move the vault unseals with the credential; no key file left"
dpkg -P agentbox >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -P failed"; }

echo "-- all $checks checks passed under systemd"
