# shellcheck shell=bash
# Sourced by the benchmark scripts: a release `agentbox serve` of their own on a free loopback port.
#   bench_serve AGENTBOX WORK [serve options...]   creates an admin in WORK/data, starts the server (log in
#       WORK/serve.log) and waits for /healthz; sets $server (pid), $port and $token (the admin's). The caller's
#       AGENTBOX_* settings are cleared, so they cannot change what is measured.
#   bench_stop_server STATUS NAME WORK             stops it; on a failed run (STATUS not 0) shows the log's end.
# Needs a `fail` function in the caller.

bench_serve() {
  local agentbox=$1 work=$2
  shift 2
  # shellcheck disable=SC2034 # read by the sourcing script
  token=$("$agentbox" admin create bench --json --data-dir "$work/data" 2>"$work/admin.log" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || { cat "$work/admin.log" >&2; fail "agentbox admin create failed"; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env -u AGENTBOX_RECONCILE_INTERVAL -u AGENTBOX_PORT_RANGE -u AGENTBOX_LOCAL_TOOLBOXES -u AGENTBOX_LOG_LEVEL \
    "$agentbox" serve --data-dir "$work/data" --host 127.0.0.1 --port "$port" --log-level warning "$@" >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    kill -0 "$server" 2>/dev/null || fail "agentbox serve exited at start"
    sleep 0.1
  done
  fail "agentbox serve did not answer /healthz on 127.0.0.1:$port within 10 s"
}

bench_stop_server() {
  local status=$1 name=$2 work=$3
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  if [ "$status" -ne 0 ] && [ -s "$work/serve.log" ]; then
    echo "$name: the server's log ends with:" >&2
    tail -n 20 "$work/serve.log" >&2
  fi
  return 0
}
