#!/usr/bin/env bash
# The real services the tests use (see ../shared/design/TESTENV.md), on loopback only:
#   scripts/test-services.sh start    a Docker engine (dockerd, unless one answers), two registries
#                                     (127.0.0.1:5000 open, 127.0.0.1:5001 with basic auth) and small
#                                     tool images pushed to them; idempotent
#   scripts/test-services.sh status   exit 0 when the engine and both registries answer
#   scripts/test-services.sh stop     stops what `start` started, and removes containers left by tests of this run
#   scripts/test-services.sh env      prints the variables the tests read, as shell assignments
#   scripts/test-services.sh engine-stop | engine-start
#                                     stops / starts again the engine that `start` started (the engine-outage
#                                     test); refuses to stop an engine it did not start
# State (pid files, logs, registry storage, the private registry's password) lives in
# ${AGENTBOX_TEST_SERVICES:-/tmp/agentbox-test-services}.
set -euo pipefail

state=${AGENTBOX_TEST_SERVICES:-/tmp/agentbox-test-services}
root=$(cd "$(dirname "$0")/.." && pwd)
socket=/var/run/docker.sock
open_registry=127.0.0.1:5000
private_registry=127.0.0.1:5001
registry_user=agentbox

log() { echo "test-services: $*"; }
fail() { echo "test-services: $*" >&2; exit 1; }

engine_answers() {
  [ -S "$socket" ] && [ "$(curl -s --max-time 5 --unix-socket "$socket" http://localhost/_ping 2>/dev/null)" = OK ]
}

# The HTTP status of a registry's /v2/ (200 open, 401 with auth), or 000 when nothing answers.
registry_status() {
  curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://$1/v2/" 2>/dev/null || true
}

# Whether the process of pid file $1 is alive.
alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# spawn LOG COMMAND...: starts a service in the background (its pid in $!) in its own session, so it outlives this
# script and no Ctrl-C meant for the tests reaches it, with its output in LOG and no inherited descriptor beyond
# 0-2: a service holding a pipe of whoever ran this script (make, a test's Process) would keep that caller waiting.
spawn() {
  local log=$1 fd
  shift
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@" >"$log" 2>&1 </dev/null
  ) &
}

start_engine() {
  if engine_answers; then
    log "docker engine: reused ($socket)"
    return
  fi
  command -v dockerd >/dev/null || fail "dockerd is missing: run scripts/install-deps.sh test (Debian package docker.io)"
  if alive "$state/dockerd.pid"; then
    fail "the dockerd started earlier (pid $(cat "$state/dockerd.pid")) does not answer on $socket; see $state/dockerd.log"
  fi
  spawn "$state/dockerd.log" dockerd
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 1 120); do
    engine_answers && { log "docker engine: started (pid $(cat "$state/dockerd.pid"), log $state/dockerd.log)"; return; }
    alive "$state/dockerd.pid" || break
    sleep 0.5
  done
  tail -n 20 "$state/dockerd.log" >&2 || true
  fail "dockerd did not answer GET /_ping on $socket within 60 s (log: $state/dockerd.log)"
}

# start_registry NAME ADDRESS EXPECTED_STATUS [htpasswd file]
start_registry() {
  local name=$1 address=$2 expected=$3 htpasswd=${4:-}
  local status
  status=$(registry_status "$address")
  if [ "$status" = "$expected" ]; then
    log "registry $name on $address: reused"
    return
  elif [ "$status" != 000 ]; then
    fail "$address answers /v2/ with HTTP $status, not $expected: something else holds the port"
  fi
  command -v docker-registry >/dev/null || fail "docker-registry is missing: run scripts/install-deps.sh test"
  mkdir -p "$state/$name/storage"
  {
    echo "version: 0.1"
    echo "log: {level: warn, accesslog: {disabled: true}}"
    echo "storage: {filesystem: {rootdirectory: $state/$name/storage}, delete: {enabled: true}}"
    echo "http: {addr: $address, secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
    if [ -n "$htpasswd" ]; then
      echo "auth: {htpasswd: {realm: agentbox-test, path: $htpasswd}}"
    fi
  } >"$state/$name/config.yml"
  spawn "$state/$name.log" docker-registry serve "$state/$name/config.yml"
  echo $! >"$state/$name.pid"
  for _ in $(seq 1 100); do
    [ "$(registry_status "$address")" = "$expected" ] && { log "registry $name on $address: started (pid $(cat "$state/$name.pid"))"; return; }
    alive "$state/$name.pid" || break
    sleep 0.1
  done
  cat "$state/$name.log" >&2 || true
  fail "the registry $name did not answer on $address within 10 s"
}

# The tool images: a static busybox folder imported with a command, identical on every run.
build_images() {
  local busybox=/bin/busybox
  [ -x "$busybox" ] || fail "$busybox is missing: run scripts/install-deps.sh test (Debian package busybox-static)"
  local rootfs="$state/rootfs"
  local name version command recipe
  # The tools' scripts are part of the recipe: an image built from another version is rebuilt.
  recipe=$(cat "$root/Tests/Fixtures/contract-tool.sh" "$root/Tests/Fixtures/mcp-tool.sh" | sha256sum | cut -c1-16)
  for name in echo:1 echo:2 broken:1 contract-tool:1 mcp-tool:1; do
    if [ "$(docker image inspect --format '{{ index .Config.Labels "agentbox-test.recipe" }}' "agentbox-test/$name" 2>/dev/null)" = "$recipe" ]; then
      log "image agentbox-test/$name: reused"
      continue
    fi
    rm -rf "$rootfs" && mkdir -p "$rootfs/bin" "$rootfs/www/cgi-bin" "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $("$busybox" --list); do
      [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
    done
    version=${name#*:}
    printf 'ok\n' >"$rootfs/www/health"
    printf 'agentbox-test/%s\n' "$name" >"$rootfs/www/version"
    if [ "$name" = broken:1 ]; then
      command='["/bin/sh", "-c", "echo broken on purpose >&2; exit 1"]'
    elif [ "$name" = contract-tool:1 ] || [ "$name" = mcp-tool:1 ]; then
      cp "$root/Tests/Fixtures/${name%:*}.sh" "$rootfs/bin/tool"
      command='["/bin/nc", "-ll", "-p", "8080", "-e", "/bin/tool"]'
    else
      command='["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]'
    fi
    # Fixed times and owners: a rebuild has the same content.
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -c . \
      | docker import --change "CMD $command" --change "EXPOSE 8080/tcp" \
          --change "LABEL org.opencontainers.image.version=$version" --change "LABEL agentbox-test.recipe=$recipe" \
          - "agentbox-test/$name" >/dev/null
    log "image agentbox-test/$name: built"
  done
  rm -rf "$rootfs"
}

# push LOCAL REMOTE: pushes under the remote name, then drops that name so that tests really pull.
push() {
  docker tag "$1" "$2"
  if ! docker push "$2" >"$state/push.log" 2>&1; then
    cat "$state/push.log" >&2
    docker rmi "$2" >/dev/null 2>&1 || true
    fail "docker push $2 failed"
  fi
  docker rmi "$2" >/dev/null
  log "pushed $2"
}

push_images() {
  local name
  for name in echo:1 echo:2 broken:1 contract-tool:1 mcp-tool:1; do
    push "agentbox-test/$name" "$open_registry/agentbox-test/$name"
  done
  # The CLI's credentials go to a throw-away config folder, never to ~/.docker; the engine keeps none.
  export DOCKER_CONFIG="$state/docker-config"
  mkdir -p "$DOCKER_CONFIG"
  docker login --username "$registry_user" --password-stdin "$private_registry" <"$state/registry-password" >/dev/null 2>&1 \
    || fail "docker login to $private_registry failed: is it a registry started with another password? stop it, or remove $state"
  push "agentbox-test/echo:1" "$private_registry/agentbox-test/private-echo:1"
  docker logout "$private_registry" >/dev/null 2>&1 || true
  rm -rf "$DOCKER_CONFIG"
  unset DOCKER_CONFIG
}

start() {
  command -v docker >/dev/null || fail "the docker CLI is missing: run scripts/install-deps.sh test (Debian package docker.io)"
  command -v htpasswd >/dev/null || fail "htpasswd is missing: run scripts/install-deps.sh test (Debian package apache2-utils)"
  [ -f "$state/run-id" ] || head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/run-id"
  if [ ! -s "$state/registry-password" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$state/registry-password")
  fi
  (umask 077 && htpasswd -Bin "$registry_user" <"$state/registry-password" >"$state/htpasswd" 2>/dev/null)

  start_engine
  start_registry registry-open "$open_registry" 200
  start_registry registry-private "$private_registry" 401 "$state/htpasswd"
  build_images
  push_images
}

stop() {
  if [ -f "$state/run-id" ] && engine_answers; then
    local leftovers
    leftovers=$(docker ps -aq --filter "label=agentbox.test-run=$(cat "$state/run-id")")
    if [ -n "$leftovers" ]; then
      # shellcheck disable=SC2086
      docker rm -f $leftovers >/dev/null
      log "removed $(echo "$leftovers" | wc -l) container(s) left by tests of this run"
    fi
  fi
  local name pid
  for name in registry-private registry-open dockerd; do
    if alive "$state/$name.pid"; then
      pid=$(cat "$state/$name.pid")
      kill "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && { log "$name (pid $pid) did not stop in 30 s: killing it"; kill -9 "$pid" || true; }
      log "$name: stopped (pid $pid)"
    fi
    rm -f "$state/$name.pid"
  done
  rm -f "$state/run-id"
}

engine_stop() {
  alive "$state/dockerd.pid" || fail "no Docker engine started by this script runs; refusing to stop one it did not start"
  local pid
  pid=$(cat "$state/dockerd.pid")
  kill "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && fail "dockerd (pid $pid) did not stop within 30 s"
  rm -f "$state/dockerd.pid"
  log "docker engine: stopped (pid $pid)"
}

status() {
  engine_answers && [ "$(registry_status "$open_registry")" = 200 ] && [ "$(registry_status "$private_registry")" = 401 ]
}

print_env() {
  echo "export AGENTBOX_TEST_REGISTRY=$open_registry"
  echo "export AGENTBOX_TEST_PRIVATE_REGISTRY=$private_registry"
  echo "export AGENTBOX_TEST_REGISTRY_USER=$registry_user"
  echo "export AGENTBOX_TEST_REGISTRY_PASSWORD_FILE=$state/registry-password"
  [ -f "$state/run-id" ] && echo "export AGENTBOX_TEST_RUN_ID=$(cat "$state/run-id")"
  # The engine-outage test may stop and start only an engine this script started.
  alive "$state/dockerd.pid" && echo "export AGENTBOX_TEST_ENGINE_CONTROL=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
  return 0
}

mkdir -p "$state"
chmod 700 "$state"
case ${1:-} in
  start | stop)
    # One start or stop at a time per state folder.
    exec 9>"$state/lock"
    flock 9
    "$1"
    ;;
  engine-stop)
    exec 9>"$state/lock"
    flock 9
    engine_stop
    ;;
  engine-start)
    exec 9>"$state/lock"
    flock 9
    start_engine
    ;;
  status) status ;;
  env) print_env ;;
  *) fail "usage: $0 start|stop|status|env|engine-stop|engine-start" ;;
esac
