#!/usr/bin/env bash
# The package test (`make test-package`): builds the .deb (packaging/build-deb.sh, with lintian), installs
# it in clean Debian 12 containers and checks what an administrator relies on.
#  1. On this host: `systemd-analyze verify` of the unit and its `systemd-analyze security` score.
#  2. A container without systemd (packaging/test-in-container.sh): files, owners and modes; the conffile;
#     the agentbox user; the service enabled; `agentbox version`; `agentbox serve` as user agentbox on the
#     fresh state folder answering /healthz; `agentbox doctor`; the trigger that puts agentbox in group
#     docker when Docker comes later; an upgrade to a newer package version keeping data, key, a changed
#     setting; `dpkg -r`
#     keeping data; a reinstall using it again; `dpkg -P` deleting data, settings and enablement.
#  3. A container where systemd is PID 1 (packaging/test-systemd-in-container.sh): the maintainer scripts
#     start, restart and stop the real sandboxed service; the master key from /etc/credstore; the host's
#     Docker socket reached through the sandbox (only pinged); an offline command through systemd-run.
#  4. A droplet's user-data (packaging/test-droplet-user-data.sh): its install steps in a clean container, with the
#     host's network and Docker socket, against this build serving --tls; its `agentbox dtma` enrolls and beats.
#     It needs --cap-add SYS_ADMIN (systemd mounts namespaces for the sandbox); where the engine refuses
#     that, or with AGENTBOX_PKGTEST_SYSTEMD=0, this part is skipped and says so.
#
# The clean system is `debootstrap --variant=minbase bookworm` from the host's Debian mirror, cached as a
# tarball and a Docker image (agentbox-pkgtest-bookworm:<hash>) under $AGENTBOX_PACKAGE_TEST_STATE
# (/tmp/agentbox-package-test), so reruns skip it. Needs root (debootstrap) and a Docker engine (when
# none answers, scripts/test-services.sh starts one and stops it at the end). Containers are named
# agentbox-pkgtest-* and removed on exit; they have no network (the checks use loopback only).
set -euo pipefail
cd "$(dirname "$0")/.."

state=${AGENTBOX_PACKAGE_TEST_STATE:-/tmp/agentbox-package-test}
suite=bookworm
# The run-time libraries of the package, curl for the /healthz checks, adduser for postinst, systemd and
# dbus (as on any Debian 12 server; systemd is PID 1 only in the third part, where systemd-run needs dbus).
include=adduser,curl,dbus,libcurl4,libsodium23,libsqlite3-0,systemd
containers=()
work=""
services_started=false
started=$(date +%s)

fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
log() { echo "test-package: $*"; }
elapsed() { echo "$(($(date +%s) - $1)) s"; }

cleanup() {
  local status=$?
  local name
  for name in "${containers[@]}"; do docker rm -f "$name" >/dev/null 2>&1 || true; done
  if [ -n "$work" ]; then rm -rf "$work"; fi
  if [ "$services_started" = true ]; then scripts/test-services.sh stop || true; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || fail "run as root: debootstrap needs it"
for tool in debootstrap docker systemd-analyze; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/install-deps.sh package-test"
done
# A Docker engine: the one that answers, or the test services' (started here, stopped on exit).
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers: starting the test services (scripts/test-services.sh start)"
  scripts/test-services.sh start
  services_started=true
fi

mkdir -p "$state"
work=$(mktemp -d "$state/run.XXXXXX")

# 1. The packages: this build, and the same binary under a higher version for the upgrade.
phase=$(date +%s)
AGENTBOX_DEB_DIR="$work/debs" packaging/build-deb.sh
deb=$(ls "$work"/debs/agentbox_*.deb)
version=$(dpkg-deb -f "$deb" Version)
AGENTBOX_DEB_DIR="$work/debs" AGENTBOX_DEB_VERSION="$version+pkgtest1" packaging/build-deb.sh --no-build --no-lintian
# A stand-in for docker.io, to show agentbox's trigger on dockerd: the file, and docker.io's way of
# making the group in its postinst.
stand_in=$work/docker-stand-in
mkdir -p "$stand_in/DEBIAN" "$stand_in/usr/sbin"
printf '#!/bin/sh\necho "a stand-in for dockerd"\n' >"$stand_in/usr/sbin/dockerd"
cat >"$stand_in/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && ! getent group docker >/dev/null; then addgroup --system docker; fi
EOF
chmod 0755 "$stand_in/usr/sbin/dockerd" "$stand_in/DEBIAN/postinst"
printf 'Package: agentbox-pkgtest-docker\nVersion: 1\nArchitecture: all\nMaintainer: agentbox tests <tests@localhost>\nDescription: stand-in for docker.io in the agentbox package test\n' \
  >"$stand_in/DEBIAN/control"
dpkg-deb --root-owner-group --build "$stand_in" "$work/debs/docker-stand-in.deb" >/dev/null
log "packages built in $(elapsed "$phase")"

# 2. The unit, on this host (systemd need not run: verify and the offline security check read files).
phase=$(date +%s)
extracted=$work/extracted
dpkg-deb -x "$deb" "$extracted"
# --root: the package's files (ExecStart=, the man page of Documentation=) beside this host's units
# (the targets the unit names); the unit is checked there, not in this host's /lib.
cp -a /lib/systemd/system/. "$extracted/lib/systemd/system/"
unit=$extracted/lib/systemd/system/agentbox.service
# It prints nothing for a sound unit; any line naming agentbox (also mere warnings) fails the test.
verify_output=$(MANPATH=$extracted/usr/share/man systemd-analyze verify --root="$extracted" "$unit" 2>&1) \
  || { echo "$verify_output" >&2; fail "systemd-analyze verify failed"; }
if echo "$verify_output" | grep -i agentbox; then
  fail "systemd-analyze verify complains about the unit (above)"
fi
log "systemd-analyze verify: ok"
security_output=$(systemd-analyze security --offline=true --root="$extracted" "$unit" 2>&1) \
  || { echo "$security_output" >&2; fail "systemd-analyze security failed"; }
exposure=$(echo "$security_output" | grep -E '^→ Overall exposure level' || true)
[ -n "$exposure" ] || { echo "$security_output" >&2; fail "systemd-analyze security printed no overall exposure level"; }
echo "$security_output" | grep -E '^✗' || true
log "systemd-analyze security: ${exposure#→ } (the ✗ lines above are what stays exposed)"
log "unit checks in $(elapsed "$phase")"

# 3. The clean Debian 12 image, built once per mirror and package list.
phase=$(date +%s)
# The host's Debian mirror: the first URI of a deb822 .sources file or a one-line .list entry that ends
# in /debian (not the security archive).
mirror=$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *//p' | tr ' ' '\n' || true
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -nE 's/^deb +(\[[^]]*\] +)?([^ ]+).*/\2/p' || true
  } | grep -E '^https?://.*/debian/?$' | head -n 1 || true
)
mirror=${mirror:-http://deb.debian.org/debian}
key=$(printf '%s %s %s minbase' "$suite" "$mirror" "$include" | sha256sum | cut -c1-12)
image=agentbox-pkgtest-$suite:$key
tarball=$state/$suite-minbase-$key.tar
if ! docker image inspect "$image" >/dev/null 2>&1; then
  if [ ! -s "$tarball" ]; then
    log "debootstrap --variant=minbase --include=$include $suite from $mirror"
    rootfs=$work/rootfs
    if ! debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
      tail -n 30 "$work/debootstrap.log" >&2
      fail "debootstrap failed (log above)"
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*_Packages
    tar -C "$rootfs" --numeric-owner -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  fi
  docker import --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
  log "image $image imported from $tarball"
else
  log "image $image: reused"
fi
log "clean system ready in $(elapsed "$phase")"

# 4. The install test, in a container of that image without systemd.
phase=$(date +%s)
arch=$(dpkg-deb -f "$deb" Architecture)
upgrade_deb=agentbox_${version}+pkgtest1_$arch.deb
cp packaging/test-in-container.sh packaging/test-systemd-in-container.sh "$work/debs/"
container=agentbox-pkgtest-$$-plain
containers+=("$container")
docker run -d --name "$container" --network none -v "$work/debs:/debs:ro" "$image" sleep infinity >/dev/null
docker exec -e "DEB=/debs/$(basename "$deb")" -e "UPGRADE_DEB=/debs/$upgrade_deb" -e "VERSION=$version" \
  -e DOCKER_DEB=/debs/docker-stand-in.deb "$container" bash /debs/test-in-container.sh || fail "the install test in the container failed (above)"
docker rm -f "$container" >/dev/null
log "install test (no systemd) in $(elapsed "$phase")"

# Whether systemd in container $1 finished booting (running, or degraded: some unit of a container
# failed), within 30 s; its state goes to $work/systemd-run.log otherwise.
systemd_up() {
  local status=""
  for _ in $(seq 1 60); do
    status=$(docker exec "$1" systemctl is-system-running 2>/dev/null || true)
    case $status in running | degraded) return 0 ;; esac
    sleep 0.5
  done
  { echo "systemctl is-system-running: ${status:-no answer}"; docker logs --tail 20 "$1" 2>&1; } >>"$work/systemd-run.log"
  return 1
}

# 5. The same package under systemd as PID 1. systemd needs / shared for its per-service mounts
# (credentials), a writable /run, and SYS_ADMIN to set up the sandbox's namespaces; the cgroup tree is
# read-only. The host's Docker socket is mounted so that the sandboxed service shows it can reach it
# (local toolboxes stay off: the engine is only pinged).
systemd_result="skipped (AGENTBOX_PKGTEST_SYSTEMD=0)"
if [ "${AGENTBOX_PKGTEST_SYSTEMD:-1}" != 0 ]; then
  phase=$(date +%s)
  container=agentbox-pkgtest-$$-systemd
  containers+=("$container")
  docker_socket=/var/run/docker.sock
  if docker run -d --name "$container" --network none --cap-add SYS_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
    -v "$work/debs:/debs:ro" -v "$docker_socket:$docker_socket" \
    "$image" bash -c 'mount --make-rshared / && exec /lib/systemd/systemd' >"$work/systemd-run.log" 2>&1 \
    && systemd_up "$container"; then
    docker exec -e "DEB=/debs/$(basename "$deb")" -e "UPGRADE_DEB=/debs/$upgrade_deb" -e "VERSION=$version" \
      -e "DOCKER_GID=$(stat -c %g "$docker_socket")" "$container" bash /debs/test-systemd-in-container.sh \
      || fail "the install test under systemd failed (above)"
    systemd_result="passed"
    docker rm -f "$container" >/dev/null
    log "install test (systemd) in $(elapsed "$phase")"
  else
    systemd_result="SKIPPED: this Docker engine cannot run systemd in a container ($(tr '\n' ' ' <"$work/systemd-run.log"))"
    log "install test under systemd $systemd_result"
  fi
fi

# 6. A droplet's user-data run in a clean container: the agent package from the appliance, then `agentbox dtma` enrolls.
phase=$(date +%s)
bash packaging/test-droplet-user-data.sh "$extracted/usr/bin/agentbox" "$image" "$work" || fail "the droplet user-data test failed (above)"
log "droplet user-data test in $(elapsed "$phase")"

log "passed in $(elapsed "$started"); ${exposure#→ }; under systemd: $systemd_result"
