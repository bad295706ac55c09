#!/usr/bin/env bash
# Benchmarks tool calls (not a test), in one run, loopback only:
#   1. execute through agentbox (POST /api/v1/toolbelt/{item}/execute: agent token, rights, ticket, hand-out with its
#      audit record, the request to the container, the call's audit record) beside the same request sent straight
#      to the container's published port; calls/s, p50, p99 and the latency agentbox adds. Release build.
#   2. hand-outs/s of POST /api/v1/dtma/credentials alone (Tests/ApplianceTests/Benchmarks/HandoutBenchmark.swift:
#      an in-process server, so it can mint tickets; debug build, the one the tests use).
# The tool is the contract test tool (Tests/Fixtures/contract-tool.sh, busybox sh, one process per request): its
# own time dominates both sides, so read the added milliseconds, not the ratio.
#   BENCH_SECONDS (10) per measurement   BENCH_CONNECTIONS (4) concurrent connections
#   BENCH_PORT_RANGE (31000-31099) host ports of the instance   BENCH_SCRATCH_PATH (.build) swift build's scratch path
# The test services (scripts/test-services.sh) are started if they do not run, and left running.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-server.sh

seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-4}
port_range=${BENCH_PORT_RANGE:-31000-31099}
scratch=${BENCH_SCRATCH_PATH:-.build}
image=127.0.0.1:5000/agentbox-test/contract-tool:1

fail() { echo "bench-calls: $*" >&2; exit 1; }
[[ $seconds =~ ^[1-9][0-9]*$ ]] || fail "BENCH_SECONDS must be a positive integer, not '$seconds'"
[[ $connections =~ ^[1-9][0-9]*$ ]] || fail "BENCH_CONNECTIONS must be a positive integer, not '$connections'"
[[ $port_range =~ ^[0-9]+-[0-9]+$ ]] || fail "BENCH_PORT_RANGE must look like 31000-31099, not '$port_range'"

scripts/install-deps.sh test
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
scripts/test-services.sh start
swift build -c release --product agentbox --scratch-path "$scratch"
agentbox=$scratch/release/agentbox

work=$(mktemp -d)
server=""
port=""
token=""
toolbox=""
tool_port=""
item=""
agent_token=""

# Deletes the instance through the API and waits for its container to go, stops the server, removes what is
# still labelled for this run's toolbox, and the temporary folder.
cleanup() {
  local status=$? id
  set +e
  if [ -n "$toolbox" ] && [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    for id in $(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/toolboxes/$toolbox/instances" \
      | python3 -c 'import json,sys; print(" ".join(i["id"] for i in json.load(sys.stdin)["items"]))'); do
      curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/instances/$id"
    done
    for _ in $(seq 1 100); do
      [ -z "$(docker ps -aq --filter "label=agentbox.toolbox=$toolbox")" ] && break
      sleep 0.1
    done
  fi
  bench_stop_server "$status" bench-calls "$work"
  if [ -n "$toolbox" ]; then
    ids=$(docker ps -aq --filter "label=agentbox.toolbox=$toolbox")
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f $ids >/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_serve "$agentbox" "$work" --port-range "$port_range"

# The world, through the API: the tool, a toolbox, a running instance, an agent with the item, a permission and a credential.
eval "$(BENCH_BASE="http://127.0.0.1:$port/api/v1" BENCH_TOKEN=$token BENCH_IMAGE=$image BENCH_WORK=$work python3 - <<'PY'
import json, os, sys, time, urllib.error, urllib.request
base, admin = os.environ["BENCH_BASE"], os.environ["BENCH_TOKEN"]

def api(method, path, body=None, token=admin):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        sys.exit(f"bench-calls: {method} {path} answered {error.code}: {error.read().decode(errors='replace')}")

tool = api("POST", "/catalog", {"name": "bench-contract", "docker_image_url": os.environ["BENCH_IMAGE"], "version": "1", "container_port": 8080,
                                "required_capabilities_schema": {"echo": {"description": "Answer with the request", "input_schema": {"type": "object"}}},
                                "required_secrets_schema": {"type": "object", "required": ["api_key"]}})
toolbox = api("POST", "/toolboxes", {"name": "bench", "provider": "local"})
print(f"toolbox={toolbox['id']}")
instance = api("POST", f"/toolboxes/{toolbox['id']}/instances", {"tool_id": tool["id"], "name": "bench"})
deadline = time.monotonic() + 120
while (current := api("GET", f"/instances/{instance['id']}"))["status"] != "running":
    if current["status"] == "error" or time.monotonic() > deadline:
        sys.exit(f"bench-calls: the instance did not run: {current}")
    time.sleep(0.2)
agent = api("POST", "/agents", {"name": "bench-agent"})
agent_token = api("POST", f"/agents/{agent['id']}/tokens", {"name": "bench"})["token"]
api("POST", f"/agents/{agent['id']}/toolboxes", {"toolbox_id": toolbox["id"]})
item = api("POST", f"/agents/{agent['id']}/toolbelt", {"instance_id": instance["id"]})
api("PUT", f"/toolbelt/{item['id']}/permissions/echo", {"is_allowed": True})
api("POST", f"/toolbelt/{item['id']}/credentials", {"credential_type": "api_key", "credentials": {"api_key": "sk-bench-0123456789"}})
direct = {"request_id": "bench", "agent_id": agent["id"], "capability": "echo", "input": {"n": 1}, "credentials": {"api_key": "sk-bench-0123456789"}}
with open(os.environ["BENCH_WORK"] + "/direct.json", "w") as f:
    json.dump(direct, f)
print(f"agent_token={agent_token} item={item['id']} tool_port={current['port_mapping']['host_port']}")
PY
)"

cat >"$work/post.lua" <<'LUA'
-- A POST with the body and the optional bearer token from the environment.
wrk.method = "POST"
local file = io.open(os.getenv("BENCH_BODY_FILE"), "r")
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_BEARER") ~= "" then wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER") end
LUA
echo '{"capability": "echo", "input": {"n": 1}}' >"$work/execute.json"

# Prints "requests/s p50_ms p99_ms" for POSTs of a body file to a URL.
measure() {
  BENCH_BODY_FILE=$2 BENCH_BEARER=$3 wrk -t 2 -c "$connections" -d "${seconds}s" --latency -s "$work/post.lua" "$1" | scripts/wrk-summary.py
}
summary=$(measure "http://127.0.0.1:$tool_port/execute" "$work/direct.json" "") || fail "straight to the container: $summary"
read -r d_rps d_p50 d_p99 <<<"$summary"
summary=$(measure "http://127.0.0.1:$port/api/v1/toolbelt/$item/execute" "$work/execute.json" "$agent_token") || fail "through agentbox: $summary"
read -r a_rps a_p50 a_p99 <<<"$summary"

printf '\nagentbox tool-call benchmark: %s s per side, %s connections, loopback, release build (%s), %s cores\n' "$seconds" "$connections" "$scratch" "$(nproc)"
printf 'tool: %s (busybox sh, one process per request)\n\n' "$image"
printf '%-58s %9s %9s %9s\n' "" "calls/s" "p50 ms" "p99 ms"
printf '%-58s %9s %9s %9s\n' "POST /execute straight to the container's port" "$d_rps" "$d_p50" "$d_p99"
printf '%-58s %9s %9s %9s\n' "POST /api/v1/toolbelt/{item}/execute through agentbox" "$a_rps" "$a_p50" "$a_p99"
python3 -c "
d_rps, d_p50, d_p99, a_rps, a_p50, a_p99 = map(float, '$d_rps $d_p50 $d_p99 $a_rps $a_p50 $a_p99'.split())
print(f'{\"added by agentbox\":<58} {a_rps / d_rps:8.2f}x {a_p50 - d_p50:+9.2f} {a_p99 - d_p99:+9.2f}')"

echo
echo "hand-outs alone (in-process server, debug build):"
swift build --build-tests --scratch-path "$scratch" 2>&1 | tail -n 1
AGENTBOX_BENCH=1 BENCH_SECONDS=$seconds BENCH_CONNECTIONS=8 swift test --skip-build --scratch-path "$scratch" --filter HandoutBenchmark 2>&1 \
  | sed -n '/credential hand-out benchmark/,/per second \/ vault/p'
