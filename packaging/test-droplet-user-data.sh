#!/usr/bin/env bash
# Part of `make test-package`: a droplet's user-data, run for real in a clean Debian 12 container.
#
#   packaging/test-droplet-user-data.sh AGENTBOX IMAGE WORK
#
# AGENTBOX is the release binary of the package (Swift runtime linked statically), IMAGE the clean Debian 12 image
# of the package test, WORK a scratch folder. On this host, on loopback: `agentbox serve --tls` (the appliance, which
# serves its own binary as the agent package) and `agentbox-do-sim` (the DigitalOcean stand-in). A user creates a
# DigitalOcean toolbox; the user-data of its droplet is taken from the stand-in, and in the container (the host's
# network and Docker socket shared) its write_files are written and its runcmd runs as cloud-init would run it:
# the package is fetched over TLS pinned to the appliance's key with the single-use enrollment token, installed with
# apt-get, and the unit's ExecStart runs directly where the runcmd starts the unit (no systemd in the container;
# cloud-config's `packages` are left out: the image has curl, and the host's Docker engine stands in for docker.io).
# Passes when the toolbox turns active (the agent enrolled and sent its first heartbeat), the agent kept its toolbox
# token 0600 in its state folder, and its enrollment token no longer works.
set -euo pipefail
cd "$(dirname "$0")/.."

agentbox=$1
image=$2
work=$3
fail() { echo "test-droplet-user-data: FAIL: $*" >&2; exit 1; }
log() { echo "test-droplet-user-data: $*"; }

pids=()
container=agentbox-pkgtest-$$-droplet
cleanup() {
  local status=$?
  docker rm -f "$container" >/dev/null 2>&1 || true
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  exit "$status"
}
trap cleanup EXIT

# The stand-in: from the debug build that `make test` made, or built now.
swift build --product agentbox-do-sim >"$work/do-sim-build.log" 2>&1 || { tail -n 20 "$work/do-sim-build.log" >&2; fail "building agentbox-do-sim failed"; }
sim_binary=$(swift build --show-bin-path)/agentbox-do-sim

# Prints the port a server announced in its log ("... on http(s)://127.0.0.1:PORT"), waiting up to 30 s.
announced_port() {
  local log=$1 pid=$2
  for _ in $(seq 1 300); do
    if port=$(grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$log" | head -n 1 | cut -d: -f2) && [ -n "$port" ]; then echo "$port"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  cat "$log" >&2
  return 1
}

sim_token=sim-$RANDOM$RANDOM
"$sim_binary" --port 0 --token "$sim_token" --active-after 0.2 --ip-after 0.2 >"$work/do-sim.log" 2>&1 &
pids+=($!)
sim_port=$(announced_port "$work/do-sim.log" "$!") || fail "agentbox-do-sim did not start"

data=$work/appliance
admin=$("$agentbox" admin create root --json --data-dir "$data" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["token"])')
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$agentbox" serve --data-dir "$data" --port "$port" --tls --public-url "https://127.0.0.1:$port" --reconcile-interval 0 \
  --digitalocean-api "http://127.0.0.1:$sim_port" --dtma-heartbeat-interval 1 >"$work/serve.log" 2>&1 &
pids+=($!)
announced_port "$work/serve.log" "$!" >/dev/null || fail "agentbox serve did not start"
base=https://127.0.0.1:$port

# Sends METHOD PATH [BODY] with a token; prints the body; fails on a non-2xx answer.
api() {
  local token=$1 method=$2 path=$3 body=${4:-}
  local data=()
  [ -z "$body" ] || data=(-H 'Content-Type: application/json' --data "$body")
  curl --silent --show-error --fail-with-body --insecure -X "$method" -H @<(printf 'Authorization: Bearer %s\n' "$token") \
    "${data[@]}" "$base$path"
}
field() { /usr/bin/python3 -c "import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'v': v}))" "$1"; }

api "$admin" PUT /api/v1/admin/digitalocean/token "{\"token\": \"$sim_token\"}" >/dev/null || fail "setting the DigitalOcean token failed"
ada=$(api "$admin" POST /api/v1/users '{"name": "ada"}' | field 'v["token"]["token"]')
toolbox=$(api "$ada" POST /api/v1/toolboxes '{"name": "cloud", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"}' | field 'v["id"]')
log "toolbox $toolbox created; waiting for its droplet's user-data"

# The droplet's user-data, as DigitalOcean keeps it.
droplet=$work/droplet
mkdir -p "$droplet"
for _ in $(seq 1 100); do
  curl --silent --fail -H @<(printf 'Authorization: Bearer %s\n' "$sim_token") "http://127.0.0.1:$sim_port/_sim/state" >"$droplet/state.json" || true
  if /usr/bin/python3 - "$toolbox" "$droplet" <<'EOF'
import json, sys
toolbox, folder = sys.argv[1], sys.argv[2]
droplets = json.load(open(folder + "/state.json")).get("droplets", [])
mine = [d for d in droplets if "agentbox-toolbox-" + toolbox in d.get("tags", []) and d.get("user_data")]
if not mine:
    sys.exit(1)
open(folder + "/user-data", "w").write(mine[0]["user_data"])
EOF
  then break; fi
  sleep 0.2
done
[ -s "$droplet/user-data" ] || fail "the stand-in shows no droplet with user-data for toolbox $toolbox"

# cloud-init's part, as a script for the container: write_files, then runcmd with the unit's start replaced by its ExecStart.
/usr/bin/python3 - "$droplet/user-data" "$droplet/cloud-init.sh" <<'EOF'
import shlex, sys, yaml
text = open(sys.argv[1]).read()
assert text.startswith("#cloud-config\n"), "user-data is not cloud-config"
config = yaml.safe_load(text)
lines = ["set -eu"]
unit = None
for entry in config["write_files"]:
    path, content = entry["path"], entry["content"]
    lines.append(f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0])}")
    lines.append(f"printf '%s' {shlex.quote(content)} > {shlex.quote(path)}")
    lines.append(f"chmod {entry.get('permissions', '0644')} {shlex.quote(path)}")
    if path.endswith(".service"):
        unit = content
assert unit, "user-data writes no systemd unit"
settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line)
start = "systemctl enable --now " + [e["path"] for e in config["write_files"] if e["path"].endswith(".service")][0].rsplit("/", 1)[1]
launch = (f"set -a; . {settings['EnvironmentFile']}; set +a; export STATE_DIRECTORY=/var/lib/{settings['StateDirectory']}; "
          f"mkdir -p -m 0700 $STATE_DIRECTORY; exec {settings['ExecStart']}")
for command in config["runcmd"]:
    script = command[2] if isinstance(command, list) and command[:2] == ["sh", "-c"] else None
    assert script is not None, f"unexpected runcmd entry {command!r}"
    assert start in script, f"the runcmd does not start the unit with '{start}'"
    lines.append("sh -c " + shlex.quote(script.replace(start, launch)))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF

docker run -d --name "$container" --network host -v /var/run/docker.sock:/var/run/docker.sock -v "$droplet:/droplet:ro" \
  "$image" bash /droplet/cloud-init.sh >/dev/null
log "the droplet's cloud-init runs in container $container"
status=""
for _ in $(seq 1 150); do
  status=$(api "$ada" GET "/api/v1/toolboxes/$toolbox" | field 'v["status"] + " " + str(v.get("agent_version"))') || true
  case $status in active\ *) break ;; esac
  docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null | grep -q true || break
  sleep 0.4
done
case $status in
  active\ *) ;;
  *) docker logs --tail 40 "$container" >&2 || true; tail -n 20 "$work/serve.log" >&2; fail "the toolbox did not turn active (last: $status)" ;;
esac
version=$("$agentbox" version | awk '{print $2}')
[ "$status" = "active $version" ] || fail "the toolbox's agent reports '$status', not active $version"
mode=$(docker exec "$container" stat -c '%a %s' /var/lib/agentbox-dtma/toolbox-token) || fail "the agent kept no toolbox token in its state folder"
[ "${mode%% *}" = 600 ] || fail "the toolbox token file has mode ${mode%% *}, not 600"
[ "$(docker exec "$container" dpkg-query -W -f '${Version}' agentbox)" = "$version" ] || fail "the agent package is not installed at version $version"
enrollment=$(grep -m1 -oE 'abx_e_[A-Za-z0-9_-]+' "$droplet/user-data" | head -n 1)
code=$(curl --silent --insecure -o /dev/null -w '%{http_code}' -X POST -H @<(printf 'Authorization: Bearer %s\n' "$enrollment") "$base/api/v1/dtma/enroll")
[ "$code" = 401 ] || fail "the enrollment token still answered $code after the agent enrolled"
log "passed: the package installed, the agent enrolled and beats (toolbox active, agent $version, token 0600, enrollment token spent)"
