#!/usr/bin/env bash
# Runs inside the clean Debian 12 container of packaging/test-package.sh, as root, without systemd:
# installs, upgrades, removes, reinstalls and purges the package and checks each step.
# Environment: DEB (the package), UPGRADE_DEB (the same binary under a higher version), VERSION,
# DOCKER_DEB (a stand-in for docker.io: /usr/sbin/dockerd, and a postinst that makes the docker group).
set -euo pipefail

: "${DEB:?}" "${UPGRADE_DEB:?}" "${VERSION:?}" "${DOCKER_DEB:?}"
state=/var/lib/agentbox
conf=/etc/agentbox/agentbox.conf
wants=/etc/systemd/system/multi-user.target.wants/agentbox.service
server=""
checks=0

fail() { echo "  FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "  ok: $*"; }
step() { echo "-- $*"; }

# expect_stat PATH "OWNER:GROUP MODE"
expect_stat() {
  local actual
  actual=$(stat -c '%U:%G %a' "$1") || fail "$1 is missing"
  [ "$actual" = "$2" ] || fail "$1 is $actual, expected $2"
  ok "$1 $2"
}

# Starts `agentbox serve` the way the unit does (as agentbox, settings from the conffile, data in the
# state folder) and waits for /healthz on the port of the settings.
start_server() {
  local port
  port=$(sed -n 's/^AGENTBOX_PORT=//p' "$conf")
  port=${port:-8420}
  # setpriv execs (runuser would stay as the parent and answer SIGTERM itself).
  setpriv --reuid=agentbox --regid=agentbox --init-groups -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin AGENTBOX_DATA_DIR="$state" \
    bash -c "set -a && . $conf && exec /usr/bin/agentbox serve --reconcile-interval 0" >/tmp/serve.log 2>&1 &
  server=$!
  base=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    if curl -sf "$base/healthz" >/tmp/healthz 2>/dev/null; then
      grep -q '"status":"ok"' /tmp/healthz || fail "/healthz answered $(cat /tmp/healthz)"
      ok "agentbox serve (pid $server, user agentbox) answers $base/healthz: $(cat /tmp/healthz)"
      return
    fi
    kill -0 "$server" 2>/dev/null || { cat /tmp/serve.log >&2; fail "agentbox serve exited (log above)"; }
    sleep 0.2
  done
  cat /tmp/serve.log >&2
  fail "agentbox serve did not answer /healthz within 20 s"
}

stop_server() {
  kill -TERM "$server"
  local status=0
  wait "$server" || status=$?
  [ "$status" -eq 0 ] || { cat /tmp/serve.log >&2; fail "agentbox serve exited with $status on SIGTERM"; }
  server=""
  ok "agentbox serve stopped cleanly on SIGTERM"
}

# The admin token created after the first install must still work: the data survived.
expect_data() {
  local name
  name=$(curl -sf -H "Authorization: Bearer $(cat /root/admin-token)" "$base/api/v1/me") \
    || fail "GET /api/v1/me with the admin token made before failed: the data did not survive"
  grep -q '"alice"' <<<"$name" || fail "GET /api/v1/me answered $name, not the admin alice"
  ok "the admin alice created earlier is still there (GET /api/v1/me)"
}

key_digest() { sha256sum "$state/keys/master.key" | cut -d' ' -f1; }

step "install $(basename "$DEB") on a clean Debian 12 (no docker group yet)"
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i failed"; }
[ "$(dpkg-query -W -f='${Status} ${Version}' agentbox)" = "install ok installed $VERSION" ] || fail "dpkg does not report agentbox $VERSION installed"
ok "dpkg -i: install ok installed $VERSION"

step "files, owners and modes"
expect_stat /usr/bin/agentbox "root:root 755"
expect_stat /lib/systemd/system/agentbox.service "root:root 644"
expect_stat "$conf" "root:root 644"
expect_stat "$state" "agentbox:agentbox 700"
for file in /usr/share/doc/agentbox/copyright /usr/share/doc/agentbox/changelog.gz /usr/share/man/man1/agentbox.1.gz \
  /usr/share/lintian/overrides/agentbox; do
  expect_stat "$file" "root:root 644"
done
dpkg-query -W -f='${Conffiles}\n' agentbox | grep -q "^ $conf " || fail "$conf is not a conffile"
ok "$conf is a conffile"
[ "$(readlink "$wants")" = /lib/systemd/system/agentbox.service ] || fail "$wants does not link to the unit: not enabled"
ok "agentbox.service enabled ($wants)"
if ldd /usr/bin/agentbox | grep 'not found'; then fail "libraries missing (above)"; fi
if ldd /usr/bin/agentbox | grep -E 'libswift|libFoundation|libdispatch'; then fail "the Swift runtime is linked dynamically (above)"; fi
ok "ldd: every library found, the Swift runtime is inside the binary"

step "the agentbox user"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd agentbox) || fail "no user agentbox"
[ "$uid" -lt 1000 ] || fail "agentbox has uid $uid: not a system user"
[ "$(getent group agentbox | cut -d: -f3)" = "$gid" ] || fail "the primary group of agentbox is not the group agentbox"
if [ "$home" != "$state" ] || [ "$shell" != /usr/sbin/nologin ]; then fail "agentbox has home $home and shell $shell"; fi
ok "system user agentbox (uid $uid, group agentbox, home $home, shell $shell)"
if id -nG agentbox | grep -qw docker; then fail "agentbox is in a docker group that does not exist"; fi

step "agentbox version"
[ "$(/usr/bin/agentbox version)" = "agentbox ${VERSION%%+*}" ] || fail "agentbox version printed '$(/usr/bin/agentbox version)'"
ok "$(/usr/bin/agentbox version)"
ok "agentbox --help runs ($(/usr/bin/agentbox --help | wc -l) lines)"

step "first admin (offline, as agentbox) and agentbox serve as user agentbox on the fresh state folder"
[ -z "$(ls -A "$state")" ] || fail "$state is not empty after install: $(ls -A "$state")"
runuser -u agentbox -- agentbox admin create alice --json --data-dir "$state" >/tmp/admin.json \
  || fail "agentbox admin create failed"
sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' /tmp/admin.json >/root/admin-token
[ -s /root/admin-token ] || fail "no token in $(cat /tmp/admin.json)"
ok "agentbox admin create alice (as agentbox)"
start_server
expect_data
expect_stat "$state" "agentbox:agentbox 700"
expect_stat "$state/agentbox.sqlite" "agentbox:agentbox 600"
expect_stat "$state/keys/master.key" "agentbox:agentbox 600"
stop_server
doctor=$(runuser -u agentbox -- agentbox doctor --data-dir "$state" 2>&1) || true
while IFS= read -r line; do printf '    doctor| %s\n' "$line"; done <<<"$doctor"
# A here-string, not echo into grep -q: bash writes echo line by line, and pipefail would see the SIGPIPE.
grep -q '^ok  *data_directory' <<<"$doctor" || fail "doctor does not find the data directory sound"
if echo "$doctor" | grep '^FAIL' | grep -v '^FAIL  *docker'; then
  fail "doctor fails on more than Docker (no engine in this container)"
fi
ok "agentbox doctor: every check ok but Docker (no engine here)"
digest=$(key_digest)

step "Docker installed after agentbox (a stand-in package with /usr/sbin/dockerd whose postinst makes the group)"
dpkg -i "$DOCKER_DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i of the Docker stand-in failed"; }
grep -q '^Processing triggers for agentbox' /tmp/dpkg.log || { cat /tmp/dpkg.log >&2; fail "agentbox's trigger on dockerd did not run"; }
id -nG agentbox | grep -qw docker || fail "agentbox did not join the docker group through its trigger"
ok "agentbox's trigger on dockerd ran: agentbox joined the docker group ($(id -nG agentbox))"

step "upgrade to $(basename "$UPGRADE_DEB"), with a changed setting"
sed -i 's/^AGENTBOX_PORT=.*/AGENTBOX_PORT=18421/' "$conf"
dpkg -i "$UPGRADE_DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "the upgrade failed"; }
[ "$(dpkg-query -W -f='${Version}' agentbox)" = "$VERSION+pkgtest1" ] || fail "dpkg does not report $VERSION+pkgtest1"
ok "dpkg -i upgraded to $VERSION+pkgtest1"
grep -qx 'AGENTBOX_PORT=18421' "$conf" || fail "the upgrade lost the change to $conf"
ok "the changed conffile was kept"
id -nG agentbox | grep -qw docker || fail "agentbox left the docker group on upgrade"
ok "agentbox is still in the docker group"
[ "$(key_digest)" = "$digest" ] || fail "the master key changed"
ok "the master key is unchanged"
start_server
[ "$base" = http://127.0.0.1:18421 ] || fail "serve did not use the port of the settings"
expect_data
stop_server

step "dpkg -r: the program goes, data and settings stay"
dpkg -r agentbox >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -r failed"; }
[ "$(dpkg-query -W -f='${Status}' agentbox)" = "deinstall ok config-files" ] || fail "after dpkg -r the package is $(dpkg-query -W -f='${Status}' agentbox)"
[ ! -e /usr/bin/agentbox ] || fail "/usr/bin/agentbox is still there"
[ ! -e /lib/systemd/system/agentbox.service ] || fail "the unit is still there"
ok "dpkg -r: deinstall ok config-files, program and unit gone"
if [ ! -f "$state/agentbox.sqlite" ] || [ "$(key_digest)" != "$digest" ]; then fail "dpkg -r deleted data"; fi
expect_stat "$state" "agentbox:agentbox 700"
ok "data kept: $(find "$state" -mindepth 1 -printf '%P ')"
grep -qx 'AGENTBOX_PORT=18421' "$conf" || fail "dpkg -r deleted or reset $conf"
ok "$conf kept"

step "reinstall after dpkg -r: the kept data is used again"
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "the reinstall failed"; }
ok "dpkg -i $VERSION again (the same binary as $VERSION+pkgtest1)"
start_server
expect_data
stop_server

step "dpkg -P: data, settings and enablement go"
dpkg -P agentbox >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -P failed"; }
if dpkg-query -W -f='${Status}' agentbox 2>/dev/null | grep -q installed; then fail "dpkg still knows agentbox after purge"; fi
ok "dpkg -P: the package is gone"
for path in "$state" /etc/agentbox "$wants" /usr/bin/agentbox; do
  if [ -e "$path" ] || [ -L "$path" ]; then fail "$path is still there after purge"; fi
done
ok "gone: $state /etc/agentbox $wants /usr/bin/agentbox"
getent passwd agentbox >/dev/null || fail "the user agentbox was deleted"
ok "the system user agentbox stays (Debian habit: no reuse of its uid by files left behind)"
if [ -n "$(find / -xdev -user agentbox -print -quit 2>/dev/null)" ]; then fail "files owned by agentbox remain after purge"; fi
ok "no file owned by agentbox remains"

step "agentbox and Docker in one apt run, agentbox configured first (as apt did with docker.io as a Recommends)"
dpkg -P agentbox-pkgtest-docker >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "purging the Docker stand-in failed"; }
delgroup --quiet docker
dpkg --unpack "$DOCKER_DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "unpacking the Docker stand-in failed"; }
dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i failed"; }
id -nG agentbox | grep -qw docker || fail "agentbox is not in group docker although dockerd was unpacked"
dpkg --configure agentbox-pkgtest-docker >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "configuring the Docker stand-in failed"; }
id -nG agentbox | grep -qw docker || fail "agentbox left group docker when Docker was configured"
ok "agentbox made group docker for the unpacked dockerd and joined it; Docker's postinst kept it"
dpkg -P agentbox agentbox-pkgtest-docker >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -P failed"; }

echo "-- all $checks checks passed"
