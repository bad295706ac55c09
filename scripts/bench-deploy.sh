#!/usr/bin/env bash
# Benchmarks deploys (not a test): BENCH_N (10) instances of one tool deployed through agentbox, one after
# another, then the same number with `docker run -d`, in the same run, the image already pulled. Each clock
# starts at the request and stops when the container is running: for agentbox when the API reports the
# instance `running`, for docker when `docker inspect` reports State.Running. Prints each time, the total,
# mean and median per side, and their ratio. Loopback only.
#   BENCH_N                    instances per side (10)
#   BENCH_RECONCILE_INTERVAL   passed to `serve --reconcile-interval`; unset: the product default
#   BENCH_PORT_RANGE           host ports of agentbox's instances (30000-30999, clear of the tests' 29000-29999)
#   BENCH_SCRATCH_PATH         swift build's scratch path (.build)
#   BENCH_RESULT_FILE          also write the figures there as JSON (for scripts/bench.py)
# The test services (scripts/test-services.sh) are started if they do not run, and left running. The clocks
# run one after the other, so agentbox's times include waiting for the next reconcile pass.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-server.sh

n=${BENCH_N:-10}
interval=${BENCH_RECONCILE_INTERVAL:-}
port_range=${BENCH_PORT_RANGE:-30000-30999}
scratch=${BENCH_SCRATCH_PATH:-.build}
image=127.0.0.1:5000/agentbox-test/echo:1

fail() { echo "bench-deploy: $*" >&2; exit 1; }
[[ $n =~ ^[1-9][0-9]*$ ]] || fail "BENCH_N must be a positive integer, not '$n'"
[[ -z $interval || $interval =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "BENCH_RECONCILE_INTERVAL must be a number of seconds, not '$interval'"
[[ $port_range =~ ^[0-9]+-[0-9]+$ ]] || fail "BENCH_PORT_RANGE must look like 30000-30999, not '$port_range'"

scripts/install-deps.sh run
scripts/test-services.sh start
swift build -c release --product agentbox --scratch-path "$scratch"
agentbox=$scratch/release/agentbox

work=$(mktemp -d)
run_id=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
server=""
bench=""
pulled=""
port=""
token=""

# The benchmark toolbox's instances not yet being deleted, and whether any is left: "id..." lines, then "left N".
pending_instances() {
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/toolboxes/$1/instances?limit=200" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
for item in items:
    if item["status"] not in ("pending_delete", "deleting"): print(item["id"])
print("left", len(items))'
}

# Removes what this run made: the docker-run containers (by this run's label), the agentbox instances
# (deleted through the API and waited for; containers still labelled for this run's toolbox are
# force-removed once the server is stopped), the server, the image's tag if this run pulled it, the temporary folder.
cleanup() {
  local status=$? ids toolbox="" id left=1 answer
  set +e
  trap - INT TERM
  if [ -n "$bench" ]; then kill "$bench" 2>/dev/null && wait "$bench" 2>/dev/null; fi
  ids=$(docker ps -aq --filter "label=agentbox.bench-run=$run_id")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null && echo "cleanup: removed $(echo "$ids" | wc -l) docker-run container(s)"
  fi
  [ -s "$work/toolbox-id" ] && toolbox=$(cat "$work/toolbox-id")
  if [ -n "$toolbox" ] && [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    for _ in $(seq 1 600); do
      answer=$(pending_instances "$toolbox") || break
      for id in $(echo "$answer" | grep -v '^left '); do
        curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/instances/$id"
      done
      left=$(echo "$answer" | sed -n 's/^left //p')
      [ "$left" = 0 ] && [ -z "$(docker ps -aq --filter "label=agentbox.toolbox=$toolbox")" ] && break
      sleep 0.1
    done
    [ "$left" = 0 ] && echo "cleanup: deleted the agentbox instances through the API; their containers are gone"
  fi
  bench_stop_server 0 bench-deploy "$work"
  if [ -n "$toolbox" ]; then
    # Only this run's server knew this toolbox, and it is stopped: whatever is still labelled for it is ours.
    ids=$(docker ps -aq --filter "label=agentbox.toolbox=$toolbox")
    if [ -n "$ids" ]; then
      echo "cleanup: the API did not remove every instance's container; removing $(echo "$ids" | wc -l) by label" >&2
      # shellcheck disable=SC2086
      docker rm -f $ids >/dev/null
    fi
  fi
  [ -n "$pulled" ] && docker rmi "$image" >/dev/null
  bench_stop_server "$status" bench-deploy "$work"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The test services leave the image only in the registry, so that tests really pull: untag it again at the end.
docker image inspect "$image" >/dev/null 2>&1 || pulled=1
docker pull -q "$image" >/dev/null || fail "docker pull $image failed"

if [ -n "$interval" ]; then
  interval_note="$interval s (BENCH_RECONCILE_INTERVAL)"
  interval_args=(--reconcile-interval "$interval")
else
  default=$("$agentbox" serve --help | tr -s ' \n' ' ' | sed -n 's/.*reconcile-interval.*(env AGENTBOX_RECONCILE_INTERVAL; default \([0-9.]*\);.*/\1/p')
  interval_note="${default:-?} s (the product default)"
  interval_args=()
fi

bench_serve "$agentbox" "$work" --port-range "$port_range" "${interval_args[@]}"
readyz=$(curl -s "http://127.0.0.1:$port/readyz")
python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]).get("checks", {}).get("docker") != "ok")' "$readyz" \
  || fail "the server does not reach the Docker engine: /readyz says $readyz"

BENCH_PORT=$port BENCH_TOKEN=$token BENCH_COUNT=$n BENCH_IMAGE=$image BENCH_RUN=$run_id BENCH_WORK=$work \
  BENCH_INTERVAL_NOTE=$interval_note BENCH_AGENTBOX_PORTS=$port_range BENCH_SCRATCH=$scratch BENCH_RESULT_FILE=${BENCH_RESULT_FILE:-} python3 - <<'PY' &
import json, os, signal, socket, statistics, subprocess, sys, time, urllib.error, urllib.request
from datetime import datetime, timezone

signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
env = os.environ
base = f"http://127.0.0.1:{env['BENCH_PORT']}/api/v1"
token, n, image, run, work = env["BENCH_TOKEN"], int(env["BENCH_COUNT"]), env["BENCH_IMAGE"], env["BENCH_RUN"], env["BENCH_WORK"]
low, high = (int(p) for p in env["BENCH_AGENTBOX_PORTS"].split("-"))
POLL, TIMEOUT = 0.005, 60.0  # a short poll: the clocks should measure deploys, not the wait for the next poll

def fail(message):
    sys.exit(f"bench-deploy: {message}")

def api(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        fail(f"{method} {path} answered {error.code}: {error.read().decode(errors='replace')}")

def docker(*args):
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()

def started_at(text):
    """Docker's RFC 3339 time with nanoseconds, as nanoseconds since the epoch."""
    whole, _, rest = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=timezone.utc).timestamp()
    return int(seconds) * 10**9 + int((rest + "000000000")[:9])

def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not low <= port <= high:
            return port

def answers(port):
    """GET /health on the host port answers ok within 2 s (checked after the clock stopped)."""
    deadline = time.monotonic() + 2
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)

names = [f"agentbox-bench-{i}" for i in range(1, n + 1)]
taken = [name for name in names if subprocess.run(["docker", "inspect", name], capture_output=True).returncode == 0]
if taken:
    fail(f"containers named {', '.join(taken)} exist already (an interrupted run?); remove them with docker rm -f")

tool = api("POST", "/catalog", {"name": "bench-echo", "docker_image_url": image, "version": "1", "container_port": 8080,
                                "required_capabilities_schema": {"health": "answers GET /health"}})
toolbox = api("POST", "/toolboxes", {"name": f"bench-{run}", "provider": "local"})
with open(f"{work}/toolbox-id", "w") as f:
    f.write(toolbox["id"])

print(f"\nagentbox deploy benchmark: {n} instances per side, one after another, image {image} (already pulled), "
      f"loopback, release build ({env['BENCH_SCRATCH']}), {os.cpu_count()} cores")
print(f"agentbox: POST /api/v1/toolboxes/{{id}}/instances, then GET /api/v1/instances/{{id}} every {POLL*1000:.0f} ms until running; "
      f"reconcile interval {env['BENCH_INTERVAL_NOTE']}")
print(f"docker:   docker run -d -p 127.0.0.1:<port>:8080, then docker inspect every {POLL*1000:.0f} ms until State.Running\n")

agentbox, container_up, agentbox_ports = [], [], []
for i in range(1, n + 1):
    wall0, t0 = time.time_ns(), time.perf_counter_ns()
    instance = api("POST", f"/toolboxes/{toolbox['id']}/instances", {"tool_id": tool["id"], "name": f"bench-{i}"})
    while instance["status"] != "running":
        if instance["status"] == "error":
            fail(f"instance bench-{i} went to error: {instance.get('status_detail', '(no status_detail)')}")
        if time.perf_counter_ns() - t0 > TIMEOUT * 1e9:
            fail(f"instance bench-{i} is still {instance['status']} after {TIMEOUT:.0f} s")
        time.sleep(POLL)
        instance = api("GET", f"/instances/{instance['id']}")
    elapsed = (time.perf_counter_ns() - t0) / 1e9
    agentbox.append(elapsed)
    agentbox_ports.append(instance["port_mapping"]["host_port"])
    # Outside the clock: when Docker says the container started, to show where the time went.
    container = docker("ps", "-q", "--filter", f"label=agentbox.instance={instance['id']}")
    up = (started_at(docker("inspect", "-f", "{{.State.StartedAt}}", container)) - wall0) / 1e9
    container_up.append(up)
    print(f"agentbox   {i:>3}/{n}  {elapsed:7.3f} s   (container started {up:6.3f} s after the request)", flush=True)

docker_times, docker_ports = [], []
for i, name in enumerate(names, start=1):
    port = free_port()
    docker_ports.append(port)
    t0 = time.perf_counter_ns()
    docker("run", "-d", "--name", name, "--label", "agentbox.bench=1", "--label", f"agentbox.bench-run={run}",
           "-p", f"127.0.0.1:{port}:8080", image)
    while docker("inspect", "-f", "{{.State.Running}}", name) != "true":
        if time.perf_counter_ns() - t0 > TIMEOUT * 1e9:
            fail(f"container {name} is not running after {TIMEOUT:.0f} s")
        time.sleep(POLL)
    elapsed = (time.perf_counter_ns() - t0) / 1e9
    docker_times.append(elapsed)
    print(f"docker run {i:>3}/{n}  {elapsed:7.3f} s", flush=True)

# Outside the clock: every container of both sides answers on its host port.
silent = [p for p in agentbox_ports + docker_ports if not answers(p)]
if silent:
    fail(f"no answer to GET /health on 127.0.0.1 port(s) {silent}")

def row(label, times):
    print(f"{label:<12} {sum(times):9.3f} {statistics.mean(times):9.3f} {statistics.median(times):9.3f}")

print(f"\n{'':<12} {'total s':>9} {'mean s':>9} {'median s':>9}")
row("agentbox", agentbox)
row("docker run", docker_times)
print(f"\nratio agentbox/docker run: {sum(agentbox) / sum(docker_times):.2f}x total, "
      f"{statistics.median(agentbox) / statistics.median(docker_times):.2f}x median")
print(f"agentbox containers started a median {statistics.median(container_up):.3f} s after the request; "
      f"every container of both sides answered GET /health ({len(agentbox_ports)} + {len(docker_ports)})\n")
if env["BENCH_RESULT_FILE"]:
    with open(env["BENCH_RESULT_FILE"], "w") as f:
        json.dump({"count": n, "agentbox_total_s": sum(agentbox), "agentbox_median_s": statistics.median(agentbox),
                   "docker_total_s": sum(docker_times), "docker_median_s": statistics.median(docker_times),
                   "container_started_median_s": statistics.median(container_up)}, f)
PY
# In the background so that a signal reaches the trap at once: the trap stops it first.
bench=$!
wait "$bench"
bench=""
