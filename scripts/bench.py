#!/usr/bin/env python3
"""make bench: agentbox against its ceilings and its peers, measured side by side in one run (not a test).

Starts what it needs on loopback (the test services: Docker engine and registry; agentbox's own servers; a
throwaway PostgreSQL cluster), runs each benchmark BENCH_RUNS (3) times for BENCH_SECONDS (10) with
BENCH_CONNECTIONS (4) connections, stops everything it started, and prints one table of medians: agentbox's
figure, the ceiling (or peer) measured in the same run, the ratio and the target. The table is also written as
JSON to results/bench-<time>.json. BENCH_ONLY=read,write,handout,call,heartbeat,deploy,startup picks rows.
"""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from harness import (ROOT, SCRIPTS, TEST_SERVICES, Appliance, docker_ids, free_port, http_status, release_binary,  # noqa: E402
                     remove_containers, run, services_up, tool_world, wait_until)
from harness import HarnessError as BenchError  # noqa: E402
ROWS = ["read", "write", "handout", "call", "heartbeat", "deploy", "startup"]


def setting(name, default, pattern=r"^[1-9][0-9]*$"):
    value = os.environ.get(name, str(default))
    if not re.match(pattern, value):
        raise BenchError(f"{name} must be a positive integer, not '{value}'")
    return value


SECONDS = int(setting("BENCH_SECONDS", 10))
RUNS = int(setting("BENCH_RUNS", 3))
CONNECTIONS = int(setting("BENCH_CONNECTIONS", 4))
SCRATCH = os.environ.get("BENCH_SCRATCH_PATH", ".build")
ONLY = [row for row in os.environ.get("BENCH_ONLY", ",".join(ROWS)).split(",") if row]
WRK_THREADS = 2


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# MARK: - wrk

def milliseconds(text, label):
    match = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        raise BenchError("wrk printed no latency distribution:\n" + text)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url, script=None, environment=None, headers=(), connections=CONNECTIONS):
    """One wrk run against a loopback URL: {rate, p50_ms, p99_ms, requests}; any non-2xx answer or socket error fails it."""
    threads = min(WRK_THREADS, connections)  # wrk needs a connection per thread
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{SECONDS}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", os.path.join(SCRIPTS, "bench", script)]
    env = dict(os.environ, BENCH_THREADS=str(threads), **(environment or {}))
    text = subprocess.run(command + [url], capture_output=True, text=True, env=env).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if errors or re.search(r"Socket errors: .*", text):
        raise BenchError(f"{url} answered errors under load:\n{text}")
    requests = re.search(r"(\d+) requests in", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not requests or not rate:
        raise BenchError(f"wrk failed against {url}:\n{text}")
    return {"rate": float(rate.group(1)), "p50_ms": milliseconds(text, "50"), "p99_ms": milliseconds(text, "99"), "requests": int(requests.group(1))}


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def summary(runs):
    """The median of each figure over the runs, and the runs themselves."""
    keys = [key for key in runs[0] if isinstance(runs[0][key], (int, float))]
    return {**{key: median(runs, key) for key in keys}, "runs": runs}


# MARK: - The bench server (`agentbox bench serve`) and its world

class BenchServer:
    """`agentbox bench serve` over a seeded world: the real router on 127.0.0.1, commands on its standard input."""

    def __init__(self, agentbox, folder, toolboxes, instances_per_toolbox, agents):
        self.folder = folder
        self.data = os.path.join(folder, "data")
        self.world_path = os.path.join(folder, "world.json")
        run(agentbox, "bench", "seed", "--data-dir", self.data, "--world", self.world_path, "--toolboxes", str(toolboxes),
            "--instances-per-toolbox", str(instances_per_toolbox), "--agents", str(agents))
        with open(self.world_path) as f:
            self.world = json.load(f)
        self.process = subprocess.Popen([agentbox, "bench", "serve", "--data-dir", self.data, "--world", self.world_path], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(folder, "serve.log"), "w"),
                                        text=True)
        self.port = self.answer()["port"]
        self.base = f"http://127.0.0.1:{self.port}"

    def answer(self):
        line = self.process.stdout.readline()
        if not line:
            with open(os.path.join(self.folder, "serve.log")) as f:
                raise BenchError("agentbox bench serve stopped:\n" + f.read()[-2000:])
        answer = json.loads(line)
        if "error" in answer:
            raise BenchError("agentbox bench serve: " + answer["error"])
        return answer

    def command(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.answer()

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def read_row(server):
    token = server.world["user_token"]
    runs = [{"list": wrk(server.base + "/api/v1/toolboxes?limit=20", headers=[f"Authorization: Bearer {token}"]),
             "trivial": wrk(server.base + "/healthz")} for _ in range(RUNS)]
    agentbox, ceiling = summary([r["list"] for r in runs]), summary([r["trivial"] for r in runs])
    return row("API read: list 20 toolboxes", "req/s", agentbox, "GET /api/v1/toolboxes?limit=20 (token check, SQLite, 20 rows of 50)",
               ceiling, "GET /healthz, a trivial route of the same server", target=(0.5, "list >= 50% of trivial, p99 < 10 ms"),
               met=lambda a, c: a["rate"] >= 0.5 * c["rate"] and a["p99_ms"] < 10)


def write_row(server):
    toolbox, tool = server.world["toolboxes"][0]["id"], server.world["tools"][0]["id"]
    environment = {"BENCH_TOKEN": server.world["user_token"], "BENCH_TOOLBOX": toolbox, "BENCH_TOOL": tool}
    runs = []
    for number in range(RUNS):
        agentbox = wrk(server.base + "/api/v1/toolboxes", script="write.lua", environment={**environment, "BENCH_RUN": str(number)})
        runs.append({"route": agentbox, "raw": {"rate": server.command(f"raw-writes {SECONDS}")["rate"]}})
    return row("API write: create + delete instance rows", "req/s", summary([r["route"] for r in runs]),
               "POST /api/v1/toolboxes/{id}/instances and DELETE /api/v1/instances/{id} (checks, port lease, audit, FULL sync)",
               summary([r["raw"] for r in runs]), "the same rows inserted and deleted through Storage, one transaction each")


def handout_row(server, peer):
    runs = []
    tickets = os.path.join(server.folder, "tickets.txt")
    for _ in range(RUNS):
        # Fresh tickets for each run (they expire in 30 s), more than the fastest run could redeem.
        server.command(f"tickets {15_000 * SECONDS} {tickets}")
        agentbox = wrk(server.base + "/api/v1/dtma/credentials", script="handout.lua", environment={"BENCH_REQUESTS": tickets})
        runs.append({"handout": agentbox, "vault": {"rate": server.command(f"vault-opens {min(SECONDS, 3)}")["rate"]}})
    result = row("credential hand-out", "per s", summary([r["handout"] for r in runs]),
                 "POST /api/v1/dtma/credentials (toolbox token, ticket, every rule, vault open, audit record; FULL sync)",
                 summary([r["vault"] for r in runs]), "vault open alone, in a loop (no HTTP, checks or audit)")
    if peer:
        result["peer"] = peer
        result["peer_ratio"] = result["agentbox"]["rate"] / peer["rate"]
        result["target"] = "hand-outs >= 1.5x the PostgreSQL peer, p99 < 5 ms"
        result["met"] = result["peer_ratio"] >= 1.5 and result["agentbox"]["p99_ms"] < 5
    return result


def postgres_peer(server):
    """The stack agentbox replaces, seeded with the same world, driven by pgbench with the same client count."""
    answer = json.loads(run(os.path.join(SCRIPTS, "bench", "postgres-peer.py"), "--world", server.world_path, "--clients", str(CONNECTIONS),
                            "--seconds", str(SECONDS), "--runs", str(RUNS)))
    return {**summary(answer["runs"]), "label": f"{answer['peer']}: one PL/pgSQL function (checks, pgcrypto decrypt, audit insert) "
                                                f"under pgbench, {CONNECTIONS} clients, no HTTP"}


def heartbeat_row(server):
    beats = os.path.join(server.folder, "beats.txt")
    with open(beats, "w") as f:
        for beat in server.world["heartbeats"]:
            f.write(beat["token"] + "\t" + beat["body"] + "\n")
    runs = [wrk(server.base + "/api/v1/dtma/heartbeat", script="heartbeat.lua", environment={"BENCH_REQUESTS": beats}) for _ in range(RUNS)]
    toolboxes = len(server.world["toolboxes"])
    per = len(server.world["instances"]) // toolboxes
    return row(f"heartbeat ingestion: {toolboxes} toolboxes x {per} instances", "beats/s", summary(runs),
               "POST /api/v1/dtma/heartbeat (toolbox token, every instance's report)", None, None,
               target=(None, "at least 2,000 beats/s"), met=lambda a, c: a["rate"] >= 2000)


# MARK: - A real `agentbox serve` with Docker: tool calls

def call_row(agentbox):
    app = Appliance(agentbox, options=["--port-range", "31000-31099"])
    world = None
    try:
        app.start()
        world = tool_world(app, app.admin_token, "bench", "sk-bench-0123456789")
        direct = {"request_id": "bench", "agent_id": world["agent"], "capability": "echo", "input": {"n": 1},
                  "credentials": {"api_key": "sk-bench-0123456789"}}
        bodies = {"direct": direct, "execute": {"capability": "echo", "input": {"n": 1}}}
        for name, body in bodies.items():
            with open(os.path.join(app.folder, name + ".json"), "w") as f:
                json.dump(body, f)
        tool_url = f"http://127.0.0.1:{world['host_port']}/execute"
        straight_env = {"BENCH_BODY_FILE": os.path.join(app.folder, "direct.json"), "BENCH_BEARER": ""}
        through_env = {"BENCH_BODY_FILE": os.path.join(app.folder, "execute.json"), "BENCH_BEARER": world["agent_token"]}
        through_url = f"{app.base}/api/v1/toolbelt/{world['item']}/execute"
        runs = []
        for _ in range(RUNS):
            # Throughput with the run's connections; the latency a call gains, with one connection (under load
            # the tool's own processes and agentbox share the cores, and the difference measures that too).
            runs.append({"through": wrk(through_url, script="post.lua", environment=through_env),
                         "straight": wrk(tool_url, script="post.lua", environment=straight_env),
                         "through_1": wrk(through_url, script="post.lua", environment=through_env, connections=1),
                         "straight_1": wrk(tool_url, script="post.lua", environment=straight_env, connections=1)})
        app.api(app.admin_token, "DELETE", f"/api/v1/instances/{world['instance']}")
        wait_until(lambda: not docker_ids(world["toolbox"]), 30, "the benchmark instance's container was not removed within 30 s")
    finally:
        if world:
            remove_containers(world["toolbox"])
        app.remove()
    through, straight = summary([r["through"] for r in runs]), summary([r["straight"] for r in runs])
    result = row("tool call (contract tool: busybox sh, a process per call)", "calls/s", through,
                 "POST /api/v1/toolbelt/{item}/execute (agent token, rights, ticket, hand-out, audit, the call, audit)", straight,
                 "the same request straight to the container's published port")
    result["added_p50_ms"] = statistics.median(r["through_1"]["p50_ms"] - r["straight_1"]["p50_ms"] for r in runs)
    result["added_p99_ms"] = statistics.median(r["through_1"]["p99_ms"] - r["straight_1"]["p99_ms"] for r in runs)
    result["loaded_added_p50_ms"] = statistics.median(r["through"]["p50_ms"] - r["straight"]["p50_ms"] for r in runs)
    result["single_connection"] = {"through": summary([r["through_1"] for r in runs]), "straight": summary([r["straight_1"] for r in runs])}
    result["target"] = "adds < 1 ms at p50"
    result["met"] = result["added_p50_ms"] < 1
    return result


# MARK: - Deploys, start-up, size

def deploy_row():
    runs = []
    for _ in range(RUNS):
        with tempfile.NamedTemporaryFile(suffix=".json") as result:
            run(os.path.join(SCRIPTS, "bench-deploy.sh"), env=dict(os.environ, BENCH_RESULT_FILE=result.name, BENCH_SCRATCH_PATH=SCRATCH))
            runs.append(json.load(open(result.name)))
    agentbox = summary([{"seconds": r["agentbox_total_s"], "median_s": r["agentbox_median_s"]} for r in runs])
    docker = summary([{"seconds": r["docker_total_s"], "median_s": r["docker_median_s"]} for r in runs])
    count = runs[0]["count"]
    result = row(f"deploy {count} instances, one after another", "s", agentbox,
                 "POST .../instances, clock stops when the API says running (after the tool answers GET /health)", docker,
                 "docker run -d of the same image, clock stops when docker inspect says running", lower_is_better=True)
    result["target"] = "agentbox/docker run <= 1.0"
    result["met"] = result["ratio"] <= 1.0
    return result


def startup_row(agentbox):
    folder = tempfile.mkdtemp(prefix="agentbox-bench-startup-")
    try:
        data = os.path.join(folder, "data")
        run(agentbox, "bench", "seed", "--data-dir", data, "--world", os.path.join(folder, "world.json"), "--toolboxes", "500",
            "--instances-per-toolbox", "20", "--agents", "20")
        runs = []
        for _ in range(RUNS):
            port = free_port()
            environment = {k: v for k, v in os.environ.items() if not k.startswith("AGENTBOX_")}
            start = time.monotonic()
            process = subprocess.Popen([agentbox, "serve", "--data-dir", data, "--port", str(port), "--log-level", "warning"], cwd=ROOT,
                                       env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while http_status(f"http://127.0.0.1:{port}/readyz") != 200:
                    if process.poll() is not None or time.monotonic() - start > 30:
                        raise BenchError("agentbox serve did not turn ready within 30 s on the 10,000-instance database")
                    time.sleep(0.002)
                ready_ms = (time.monotonic() - start) * 1000
                time.sleep(3)
                # RSS counts the clean, file-backed pages of the binary and the Swift runtime it touched too (shared,
                # reclaimable); RssAnon is the process's own memory: heap, stacks, SQLite's caches.
                with open(f"/proc/{process.pid}/status") as f:
                    status = f.read()
                rss, anon = (int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) / 1024 for field in ("VmRSS", "RssAnon"))
                runs.append({"ready_ms": ready_ms, "idle_rss_mb": rss, "idle_anon_mb": anon})
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=15)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    stripped = os.path.join(tempfile.gettempdir(), f"agentbox-stripped-{os.getpid()}")
    run("strip", "-o", stripped, agentbox)
    size = os.path.getsize(stripped) / 1e6
    os.unlink(stripped)
    figures = summary(runs)
    return {"benchmark": "start-up to ready (key-file vault, 10,000 instances), idle RSS, stripped binary", "unit": "ms, MB",
            "agentbox": {**figures, "stripped_binary_mb": size},
            "target": "ready < 300 ms, idle RSS < 40 MB", "met": figures["ready_ms"] < 300 and figures["idle_rss_mb"] < 40}


def row(name, unit, agentbox, agentbox_label, ceiling, ceiling_label, target=None, met=None, lower_is_better=False):
    """One row of the table; the ratio is agentbox's figure over the ceiling's (times: the other way round is worse)."""
    key = "seconds" if lower_is_better else "rate"
    result = {"benchmark": name, "unit": unit, "agentbox": {**agentbox, "label": agentbox_label}}
    if ceiling:
        result["ceiling"] = {**ceiling, "label": ceiling_label}
        result["ratio"] = agentbox[key] / ceiling[key]
    if target:
        result["target"] = target[1]
        result["met"] = met(agentbox, ceiling)
    return result


# MARK: - The table

def figure(result, side):
    values = result.get(side)
    if not values:
        return "-"
    if "rate" in values:
        text = f"{values['rate']:,.0f}"
        if "p50_ms" in values:
            text += f" (p50 {values['p50_ms']:.2f}, p99 {values['p99_ms']:.2f} ms)"
        return text
    if "seconds" in values:
        return f"{values['seconds']:.3f} s (median {values['median_s']:.3f} s each)"
    if "ready_ms" in values:
        return (f"ready {values['ready_ms']:.0f} ms, RSS {values['idle_rss_mb']:.1f} MB (anonymous {values['idle_anon_mb']:.1f} MB), "
                f"binary {values['stripped_binary_mb']:.1f} MB")
    return "-"


def print_table(results, header):
    print("\n" + header + "\n")
    print("| benchmark | agentbox | ceiling in the same run | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for result in results:
        ratio = f"{result['ratio']:.2f}" if "ratio" in result else "-"
        if "added_p50_ms" in result:
            ratio += (f"; adds {result['added_p50_ms']:+.2f} ms p50, {result['added_p99_ms']:+.2f} ms p99 with one connection, "
                      f"{result['loaded_added_p50_ms']:+.2f} ms p50 with {CONNECTIONS}")
        ceiling = figure(result, "ceiling")
        if "peer" in result:
            ceiling += f"; peer {figure(result, 'peer')}, agentbox/peer {result['peer_ratio']:.2f}"
        if "error" in result:
            print(f"| {result['benchmark']} | failed: {result['error']} | - | - | - | NO |")
            continue
        met = {True: "yes", False: "NO"}.get(result.get("met"), "-")
        print(f"| {result['benchmark']} ({result['unit']}) | {figure(result, 'agentbox')} | {ceiling} | {ratio} | {result.get('target', '-')} | {met} |")
    print()
    for result in results:
        for side in ("agentbox", "ceiling", "peer"):
            if result.get(side, {}).get("label"):
                print(f"  {result['benchmark']}, {side}: {result[side]['label']}")
    print()


def main():
    unknown = [row for row in ONLY if row not in ROWS]
    if unknown:
        raise BenchError(f"BENCH_ONLY names unknown rows {unknown}; use some of {','.join(ROWS)}")
    run(os.path.join(SCRIPTS, "install-deps.sh"), "bench")
    log(f"release build ({SCRATCH})")
    agentbox = release_binary(SCRATCH)
    services_were_up = services_up()
    needs_docker = any(r in ONLY for r in ("call", "deploy", "startup"))
    if needs_docker and not services_were_up:
        log("starting the test services (Docker engine, registries)")
        run(TEST_SERVICES, "start")
    results = []

    def measure(name, label, function, *arguments):
        """Runs one row; a row that fails is reported in the table (and fails the command) without losing the others."""
        if name not in ONLY:
            return
        log(label)
        try:
            results.append(function(*arguments))
        except BenchError as error:
            log(f"{label} failed: {error}")
            results.append({"benchmark": label, "unit": "-", "error": str(error).splitlines()[0], "met": False})

    try:
        if any(r in ONLY for r in ("read", "write", "handout", "heartbeat")):
            folder = tempfile.mkdtemp(prefix="agentbox-bench-")
            server = None
            try:
                log("seeding the world: 50 toolboxes x 20 instances, 20 agents with credentials")
                server = BenchServer(agentbox, folder, toolboxes=50, instances_per_toolbox=20, agents=20)
                measure("read", "API read", read_row, server)
                measure("handout", "credential hand-out beside the PostgreSQL peer", lambda: handout_row(server, postgres_peer(server)))
                measure("heartbeat", "heartbeats", heartbeat_row, server)
                measure("write", "API write", write_row, server)
            finally:
                if server:
                    server.stop()
                shutil.rmtree(folder, ignore_errors=True)
        measure("call", "tool calls", call_row, agentbox)
        measure("deploy", "deploys", deploy_row)
        measure("startup", "start-up, RSS, size", startup_row, agentbox)
    finally:
        if needs_docker and not services_were_up:
            subprocess.run([TEST_SERVICES, "stop"], capture_output=True)
    header = (f"agentbox benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: median of {RUNS} runs of {SECONDS} s, "
              f"{CONNECTIONS} connections, loopback, release build, {os.cpu_count()} cores")
    print_table(results, header)
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    path = os.path.join(ROOT, "results", f"bench-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json")
    with open(path, "w") as f:
        json.dump({"header": header, "seconds": SECONDS, "runs": RUNS, "connections": CONNECTIONS, "rows": results}, f, indent=2)
    print(f"written to {os.path.relpath(path, ROOT)}")
    failed = [result["benchmark"] for result in results if "error" in result]
    if failed:
        raise BenchError(f"{len(failed)} row(s) could not be measured: {', '.join(failed)} (the reason is in the table)")


if __name__ == "__main__":
    try:
        main()
    except BenchError as error:
        sys.exit(f"bench: {error}")
    except KeyboardInterrupt:
        sys.exit(130)
