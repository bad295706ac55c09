#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against its own OpenAPI description, on loopback only,
# for a bounded time (FUZZ_SECONDS, default 120), as a normal user. Fails on any 5xx or any
# answer that breaks the spec.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-120}
scripts/install-deps.sh test
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check schemathesis \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages schemathesis
swift build --product agentbox

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

agentbox=./.build/debug/agentbox
admin=$("$agentbox" admin create fuzz-admin --json --data-dir "$work/data" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Loopback only: the DigitalOcean API is pointed at a closed local port, so no fuzzed request reaches the internet;
# the local DTMA is off, so the API is fuzzed whether or not a Docker engine runs here.
"$agentbox" serve --data-dir "$work/data" --port "$port" --log-level warning --digitalocean-api http://127.0.0.1:9 \
  --reconcile-interval 0 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

api() { curl -sf -X "$1" "http://127.0.0.1:$port$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+-d "$4"}; }
user=$(api POST /api/v1/users "$admin" '{"name": "fuzz-user"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["token"])')

status=0
schemathesis run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --header "Authorization: Bearer $user" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-time "$seconds" --workers 2 --request-timeout 10 --suppress-health-check all \
  --exclude-path /readyz || status=$?
# /readyz answers 503 by design when a dependency (the Docker engine) is down; its own tests cover it.

if grep -q "request failed" "$work/serve.log"; then
  echo "the server logged failed requests:" >&2
  grep "request failed" "$work/serve.log" | head -20 >&2
  status=1
fi
exit $status
