"""Soak drill: one real `agentbox serve` under mixed load at fixed rates (reads, heartbeats of simulated droplets,
credential hand-outs, tool calls) for 10 minutes: every request must succeed, and the server's memory and file
descriptors must level off after the warm-up.

The simulated toolboxes are DigitalOcean toolboxes made through the API, `serve --digitalocean-api` pointing at the
project's stand-in (whose droplets boot nothing): the drill reads each droplet's single-use enrollment token from
its user-data at the stand-in, enrolls with it for the toolbox token, and then plays that droplet's DTMA on the
call-home routes: heartbeats reporting every instance the appliance wants as running, long polls for calls, and for
each call the hand-out (the call's ticket redeemed at POST /api/v1/dtma/credentials) and the answer. A hand-out is
thus driven the way production drives it: an agent calls a tool on a droplet, the appliance mints the ticket. The
appliance's own DTMA manages only local toolboxes, so nothing fights over the droplets; a local toolbox runs the real
contract tool for the tool calls.
"""
import base64
import json
import math
import os
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import harness

V1 = "/api/v1"
# Requests per second of each scheduled kind; a hand-out is an agent's call to a droplet's tool, which the simulated
# DTMA serves by redeeming the call's ticket. About a quarter of what a 2-core machine serves, for headroom.
RATES = {"read": 20, "heartbeat": 10, "hand-out": 10, "tool call": 5}
DROPLETS = 4
POLLS_PER_DROPLET = 2
POLL_WAIT = 5
TIMEOUT = 15
WORKERS_PER_KIND = 16
# The bounds, from the first sample after the warm-up (the first minute, or a third of a shorter run) to the end: a
# leak-free server's memory levels off once its caches are warm. What still grows after the first minute is SQLite's
# page caches (2 MiB on each of the pool's 6 connections) filling as the audit log grows: about 10 MB more, flat after
# 2-3 minutes. The full run's ~40,000 requests after the warm-up (hand-outs add a poll's answer, the redemption and the
# answer to each call): a leak of 0.3 KB a request, or a descriptor in 4,000 requests, breaks them.
WARM_UP = 60
RSS_BOUND_MB = 24
FD_BOUND = 10


class Ledger:
    """Every request of the soak, by kind: latencies (from the time it was due) and errors, shared by all threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {}
        self.errors = {}
        self.problems = []
        self.more_problems = 0

    def measure(self, kind, due, check):
        """Runs `check` (None when the request went right, else what went wrong) and records it under `kind`."""
        try:
            problem = check()
        except Exception as error:  # a malformed answer is an error of the request, not of the drill
            problem = f"{type(error).__name__}: {error}"
        self.record(kind, time.monotonic() - due, problem)

    def record(self, kind, seconds, problem=None):
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.errors.setdefault(kind, 0)
            if problem:
                self.errors[kind] += 1
                if len(self.problems) < 40:
                    self.problems.append(f"{kind}: {problem}")
                else:
                    self.more_problems += 1

    def count(self, kind):
        with self.lock:
            return len(self.latencies.get(kind, []))

    def p(self, kind, quantile):
        """The `quantile` latency of `kind` in milliseconds (nearest rank)."""
        with self.lock:
            values = sorted(self.latencies.get(kind, []))
        return values[max(0, math.ceil(len(values) * quantile) - 1)] * 1000 if values else 0


def answered(status, body, expected=200):
    """None for the expected status and a JSON body, else what came instead."""
    if status != expected:
        return f"answered {status}: {body.decode(errors='replace')[:200]}" if status else "no answer (connection failed or timed out)"
    json.loads(body or b"null")
    return None


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Droplet:
    """A simulated droplet's DTMA: its toolbox token, heartbeats that report what the appliance wants as running, and
    long polls whose calls it serves by redeeming their ticket (the hand-out) and answering."""

    def __init__(self, app, toolbox, token, version):
        self.app, self.toolbox, self.token, self.version = app, toolbox, token, version
        self.desired = []
        self.secrets = {}  # agent id -> the api_key its owner stored, for checking hand-outs

    def heartbeat(self):
        """One beat; None when it was answered with this toolbox's desired state, else what went wrong."""
        beat = {"toolbox_id": self.toolbox, "agent_version": self.version, "sent_at": utc_now(),
                "health": {"load1": 0.1, "memory_available_bytes": 512 << 20, "disk_available_bytes": 10 << 30, "docker_reachable": True},
                "instances": [{"instance_id": i["instance_id"], "container_id": i["instance_id"].replace("-", "") * 2, "state": "running",
                               "host_port": i["host_port"], "version": i["version"]} for i in self.desired if i["desired"] == "running"]}
        status, _, body = self.app.request("POST", f"{V1}/dtma/heartbeat", self.token, beat, timeout=TIMEOUT)
        problem = answered(status, body)
        if problem:
            return f"toolbox {self.toolbox}: {problem}"
        answer = json.loads(body)
        if answer["desired"]["toolbox_id"].lower() != self.toolbox:  # the wire's UUIDs are Swift's, in capitals
            return f"toolbox {self.toolbox} was answered the desired state of {answer['desired']['toolbox_id']}"
        self.desired = answer["desired"]["instances"]
        self.version = answer["agent_release"]["version"]
        return None

    def serve_calls(self, ledger, stop):
        """Long polls until `stop`, serving each call it gets."""
        while not stop.is_set():
            status, _, body = self.app.request("GET", f"{V1}/dtma/calls?wait={POLL_WAIT}", self.token, timeout=POLL_WAIT + TIMEOUT)
            problem = answered(status, body)
            ledger.record("poll", 0, problem and f"toolbox {self.toolbox}: {problem}")
            if problem:
                stop.wait(1)
                continue
            for call in json.loads(body)["calls"]:
                self.serve(call, ledger)

    def serve(self, call, ledger):
        """Redeems the call's ticket, checks the hand-out is this call's with its agent's credentials, and answers
        with what the tool would: the input and the credentials it was given."""
        handout = {}

        def redeem():
            status, _, body = self.app.request("POST", f"{V1}/dtma/credentials", self.token, {"ticket": call["ticket"]}, timeout=TIMEOUT)
            problem = answered(status, body)
            if problem:
                return problem
            handout.update(json.loads(body))
            binding = {key: str(handout.get(key)).lower() for key in ("agent_id", "instance_id", "capability", "request_id")}
            if binding != {key: call[key].lower() for key in binding}:
                return f"the hand-out for call {call['call_id']} was for {binding}"
            if handout["credentials"] != {"api_key": self.secrets.get(call["agent_id"].lower())}:
                return f"the hand-out for call {call['call_id']} carried credentials other than agent {call['agent_id']}'s"
            return None

        ledger.measure("hand-out", time.monotonic(), redeem)
        if handout:
            tool_answer = {"received": {"request_id": call["request_id"], "input": json.loads(call["input"]), "credentials": handout["credentials"]}}
            relayed = {"answer": {"status": 200, "body": base64.b64encode(json.dumps(tool_answer).encode()).decode(), "duration_ms": 1}}
        else:
            relayed = {"failure": {"kind": "denied", "code": "handout_failed", "message": "the simulated DTMA got no hand-out"}}

        def answer():
            status, _, body = self.app.request("POST", f"{V1}/dtma/calls/{call['call_id']}/answer", self.token, relayed, timeout=TIMEOUT)
            return None if status == 204 else f"call {call['call_id']}: answered {status}: {body.decode(errors='replace')[:200]}"

        ledger.measure("answer", time.monotonic(), answer)


def enrolled_droplets(app, sim, owner_token, count):
    """`count` DigitalOcean toolboxes of the owner, each enrolled by hand with the token from its droplet's user-data."""
    ids = [app.api(owner_token, "POST", f"{V1}/toolboxes", {"name": f"soak-droplet-{n}", "provider": "digitalocean", "region": "nyc3",
                                                           "size": "s-1vcpu-1gb"})["id"] for n in range(count)]
    version = harness.run(app.agentbox, "--version").strip()
    droplets = []
    for toolbox in ids:
        harness.wait_until(lambda: isinstance(app.api(owner_token, "GET", f"{V1}/toolboxes/{toolbox}").get("droplet_id"), int), 60,
                           f"toolbox {toolbox} got no droplet at the stand-in within 60 s")
        user_data = next(d["user_data"] for d in sim.state()["droplets"] if f"agentbox-toolbox-{toolbox}" in (d.get("tags") or []))
        enrollment = re.search(r"abx_e_[A-Za-z0-9_-]{49}", user_data).group(0)
        status, _, body = harness.request(app.base, "POST", f"{V1}/dtma/enroll", enrollment)
        if status != 200:
            raise harness.HarnessError(f"enrolling toolbox {toolbox} answered {status}: {body[:300]}")
        droplets.append(Droplet(app, toolbox, json.loads(body)["token"], version))
    return droplets


def keep_beating(droplets, ledger, stop):
    """Heartbeats of every droplet twice a second until `stop` (during the set-up, before the fixed-rate beats)."""
    while not stop.wait(0.5):
        for droplet in droplets:
            problem = droplet.heartbeat()
            if problem:
                ledger.record("set-up heartbeat", 0, problem)


def at_fixed_rate(rate, seconds, start, stop, pool, job):
    """Submits job(n, due) to `pool` at start + n/rate for `seconds` (or until `stop`), late or not: an open loop."""
    n = 0
    while n / rate < seconds:
        due = start + n / rate
        if stop.wait(max(0.0, due - time.monotonic())):
            return
        pool.submit(job, n, due)
        n += 1


def resources(pid):
    """The resident memory (MB) and the open file descriptors of process `pid`."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def sample_resources(pid, start, seconds, interval, samples, stop):
    """Appends (seconds since start, RSS MB, fds) to `samples` every `interval` from the start to the end of the load."""
    n = 0
    while start + n * interval <= start + seconds + 0.001:
        if stop.wait(max(0.0, start + n * interval - time.monotonic())):
            return
        samples.append((time.monotonic() - start, *resources(pid)))
        n += 1


def reads(droplet, remote, local):
    """The read requests, round robin: (path, check of the JSON answer returning what is wrong or None)."""

    def items(n):
        return lambda answer: None if len(answer["items"]) == n else f"listed {len(answer['items'])} items, not {n}"

    def field(name, value):
        return lambda answer: None if answer.get(name) == value else f"{name} is {answer.get(name)!r}, not {value!r}"

    return [
        ("/me", lambda answer: None),
        ("/toolboxes", items(DROPLETS + 1)),
        (f"/toolboxes/{droplet.toolbox}", lambda answer: field("status", "active")(answer) or field("reachability", "reachable")(answer)),
        (f"/toolboxes/{droplet.toolbox}/instances", items(1)),
        (f"/instances/{remote['instance']}", field("status", "running")),
        (f"/instances/{local['instance']}", field("status", "running")),
        ("/agents", items(DROPLETS + 1)),
        (f"/agents/{remote['agent']}/toolbelt", items(1)),
        ("/catalog?limit=100", items(1)),
        (f"/instances/{local['instance']}/events?limit=20", lambda answer: None),
        ("/audit?limit=20", items(20)),
    ]


def tool_answer_problem(status, body, nonce, secret):
    """What is wrong with a tool call's answer: it must be the tool's 200 echoing this call's input and credentials."""
    problem = answered(status, body)
    if problem:
        return problem
    received = json.loads(body).get("received") or {}
    if (received.get("input") or {}).get("nonce") != nonce:
        return f"the answer echoes another input: {received.get('input')!r}, not nonce {nonce}"
    if received.get("credentials") != {"api_key": secret}:
        return "the tool received credentials other than the calling agent's"
    return None


def soak(app, droplets, local, remote, owner_token, seconds, ledger):
    """The fixed-rate load for `seconds`, with the server's resources sampled; the samples."""
    paths = reads(droplets[0], remote[0], local)

    def read(n, due):
        path, check = paths[n % len(paths)]

        def go():
            status, _, body = app.request("GET", V1 + path, owner_token, timeout=TIMEOUT)
            problem = answered(status, body) or check(json.loads(body))
            return problem and f"GET {path}: {problem}"
        ledger.measure("read", due, go)

    def beat(n, due):
        ledger.measure("heartbeat", due, droplets[n % len(droplets)].heartbeat)

    def call(world, kind):
        def job(n, due):
            nonce = secrets.token_hex(8)
            status, _, body = app.request("POST", f"{V1}/toolbelt/{world['item']}/execute", world["agent_token"],
                                          {"capability": "echo", "input": {"nonce": nonce}}, timeout=TIMEOUT)
            ledger.measure(kind, due, lambda: tool_answer_problem(status, body, nonce, world["secret"]))
        return job

    handout_calls = [call(world, "relayed call") for world in remote]
    jobs = {"read": read, "heartbeat": beat, "hand-out": lambda n, due: handout_calls[n % len(handout_calls)](n, due),
            "tool call": call(local, "tool call")}
    stop = threading.Event()
    samples = []
    interval = min(10, seconds / 4)
    start = time.monotonic() + 0.2
    pools = {kind: ThreadPoolExecutor(WORKERS_PER_KIND, thread_name_prefix=f"soak-{kind}") for kind in RATES}
    threads = [threading.Thread(target=at_fixed_rate, args=(RATES[kind], seconds, start, stop, pools[kind], jobs[kind])) for kind in RATES]
    threads.append(threading.Thread(target=sample_resources, args=(app.process.pid, start, seconds, interval, samples, stop)))
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for pool in pools.values():
            pool.shutdown(wait=True)
    return samples


def stop_threads(stop, threads):
    stop.set()
    for thread in threads:
        thread.join(timeout=POLL_WAIT + TIMEOUT + 5)


def drill(context):
    seconds = float(os.environ.get("DRILLS_SOAK_SECONDS") or context.size(600, 20))
    ledger = Ledger()
    app = sim = local_box = None
    droplets = []
    stop_dtmas = threading.Event()
    dtma_threads = []
    try:
        app = harness.Appliance(context.agentbox, options=["--local-toolboxes", "everyone", "--log-format", "json"])
        sim = harness.StandIn(context.agentbox, app.folder, ["--active-after", "0.2", "--ip-after", "0.2"])
        app.options += ["--digitalocean-api", sim.base, "--public-url", app.base]
        app.start()
        app.api(app.admin_token, "PUT", f"{V1}/admin/digitalocean/token", {"token": sim.token})
        _, owner = app.user("soak-owner")
        with harness.docker_lock():
            context.log(f"soak: setting up {DROPLETS} simulated droplets and a local contract tool")
            droplets = enrolled_droplets(app, sim, owner, DROPLETS)
            setup_done = threading.Event()
            dtma_threads = [threading.Thread(target=keep_beating, args=(droplets, ledger, setup_done))]
            dtma_threads += [threading.Thread(target=d.serve_calls, args=(ledger, stop_dtmas)) for d in droplets for _ in range(POLLS_PER_DROPLET)]
            for thread in dtma_threads:
                thread.start()
            try:
                remote = []
                for n, droplet in enumerate(droplets):
                    secret = f"sk-soak-remote-{n}-{secrets.token_hex(8)}"
                    world = harness.tool_world(app, owner, f"soak-remote-{n}", secret, catalog_token=app.admin_token, toolbox=droplet.toolbox)
                    droplet.secrets[world["agent"]] = secret
                    remote.append({**world, "secret": secret})
                local_box = app.api(owner, "POST", f"{V1}/toolboxes", {"name": "soak-local-box", "provider": "local"})["id"]
                secret = f"sk-soak-local-{secrets.token_hex(8)}"
                local = {**harness.tool_world(app, owner, "soak-local", secret, catalog_token=app.admin_token, toolbox=local_box), "secret": secret}
            finally:
                setup_done.set()
            context.log(f"soak: {seconds:g} s of load at {sum(RATES.values())} requests/s")
            samples = soak(app, droplets, local, remote, owner, seconds, ledger)
            # The droplets' instances run on their droplets: the appliance's own engine must hold none of their containers.
            strays = {toolbox: ids for toolbox, ids in ((d.toolbox, harness.docker_ids(d.toolbox)) for d in droplets) if ids}
        stop_threads(stop_dtmas, dtma_threads)
        app.stop()  # before reading its log, so that the shutdown's lines are judged too
        return verdict(ledger, samples, seconds, app.log_path, strays)
    finally:
        stop_threads(stop_dtmas, dtma_threads)
        if app:
            app.stop()
        if sim:
            sim.stop()
        for toolbox in [local_box] + [d.toolbox for d in droplets]:
            if toolbox:
                harness.remove_containers(toolbox)
        if app:
            app.remove()


def log_problems(log_path):
    """The server log's records at level error or critical, and its lines that are no log record (a crash's output)."""
    bad = []
    with open(log_path, errors="replace") as f:
        for line in f:
            try:
                level = json.loads(line).get("level")
            except ValueError:
                level = "not a record"
            if level in ("error", "critical", "not a record"):
                bad.append(line.strip())
    return bad


def verdict(ledger, samples, seconds, log_path, strays):
    """The drill's result: one case per request and per whole-run check, a failure per error and per check that failed."""
    problems = list(ledger.problems)
    if ledger.more_problems:
        problems.append(f"... and {ledger.more_problems} more errors")
    failures = sum(ledger.errors.values())
    cases = sum(len(v) for v in ledger.latencies.values())
    # Every request the schedule asked for was sent and recorded.
    for kind, recorded_as in (("read", "read"), ("heartbeat", "heartbeat"), ("hand-out", "relayed call"), ("tool call", "tool call")):
        cases += 1
        if ledger.count(recorded_as) != math.ceil(RATES[kind] * seconds):
            failures += 1
            problems.append(f"{ledger.count(recorded_as)} {recorded_as} requests were recorded, not the {math.ceil(RATES[kind] * seconds)} scheduled")
    # Every relayed call is served by exactly one hand-out.
    cases += 1
    if ledger.count("hand-out") != ledger.count("relayed call"):
        failures += 1
        problems.append(f"{ledger.count('relayed call')} relayed calls were served by {ledger.count('hand-out')} hand-outs")
    warm_up = min(WARM_UP, seconds / 3)
    warm = next((s for s in samples if s[0] >= warm_up - 0.5), None)
    end = samples[-1] if samples else None
    cases += 2
    if warm is None or end is None or end[0] < seconds - 1:
        failures += 2
        problems.append(f"the resource samples do not cover the run: {samples}")
        rss_text = fd_text = "not sampled"
    else:
        rss_growth, fd_growth = end[1] - warm[1], end[2] - warm[2]
        rss_text = f"RSS {warm[1]:.0f}->{end[1]:.0f} MB after the {warm_up:.0f} s warm-up (bound +{RSS_BOUND_MB}; {samples[0][1]:.0f} at start)"
        fd_text = f"fds {warm[2]}->{end[2]} (bound +{FD_BOUND}; {samples[0][2]} at start)"
        if rss_growth > RSS_BOUND_MB:
            failures += 1
            problems.append(f"RSS grew by {rss_growth:.1f} MB from {warm[0]:.0f} s to {end[0]:.0f} s (bound {RSS_BOUND_MB} MB): "
                            + ", ".join(f"{s[0]:.0f}s {s[1]:.0f}" for s in samples))
        if fd_growth > FD_BOUND:
            failures += 1
            problems.append(f"open fds grew by {fd_growth} from {warm[0]:.0f} s to {end[0]:.0f} s (bound {FD_BOUND}): "
                            + ", ".join(f"{s[0]:.0f}s {s[2]}" for s in samples))
    cases += 1
    if strays:
        failures += 1
        problems.append(f"the appliance ran containers of droplet toolboxes on its own Docker engine: {strays}")
    cases += 1
    bad_lines = log_problems(log_path)
    if bad_lines:
        failures += 1
        problems.append(f"the server logged {len(bad_lines)} error lines, first: {bad_lines[0][:300]}")
    kinds = ["read", "heartbeat", "hand-out", "relayed call", "tool call"]
    counts = ", ".join(f"{kind} {ledger.count(kind):,} (p99 {ledger.p(kind, 0.99):.0f} ms)" for kind in kinds)
    errors = sum(ledger.errors.values())
    figures = f"{seconds:g} s at {sum(RATES.values())} scheduled req/s: {counts}; {errors} errors; {rss_text}; {fd_text}"
    return {"cases": cases, "failures": failures, "figures": figures, "problems": problems,
            "samples": [{"second": round(s[0]), "rss_mb": round(s[1], 1), "fds": s[2]} for s in samples]}
