"""The engine-faults drill: the Docker engine stopped and started mid-run, the registry down during a pull, the disk of
the data directory full. The appliance must stay up, answer 503 with a clear error where it cannot write, lose
nothing it acknowledged, and converge afterwards.

Each scenario runs its own appliance; the quick size runs the disk-full scenario only (it needs no Docker).
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager

import harness

V1 = "/api/v1"


class Checks:
    """The checks of one scenario: how many were made, and one line for each that failed."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.cases = 0
        self.problems = []

    def check(self, ok, problem):
        """Counts a check; records `problem` (what went wrong) when `ok` is false. Returns `ok`."""
        self.cases += 1
        if not ok:
            self.problems.append(f"{self.scenario}: {problem}")
        return bool(ok)


def answer(status, body):
    """A short readable form of an HTTP answer for problem lines."""
    return f"{status} {body.decode(errors='replace')[:300]}" if status is not None else "no answer (connection failed)"


def error_code(body):
    """The `error.code` (or top-level `code`) of a JSON error body, or None."""
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    return error.get("code") if isinstance(error, dict) else document.get("code")


def poll(condition, seconds, interval=0.25):
    """Calls `condition` until it returns something true or `seconds` pass; its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def alive_and_healthy(checks, app, moment):
    """Checks that the server process still runs and /healthz answers 200."""
    checks.check(app.process is not None and app.process.poll() is None, f"the appliance process died {moment} (log: {app.log_path})")
    status = app.request("GET", "/healthz", timeout=5)[0]
    checks.check(status == 200, f"/healthz answered {status} {moment}")


def wait_all(conditions, seconds):
    """Polls every condition until all hold or `seconds` pass; (seconds taken, names of the conditions that never held)."""
    started = time.monotonic()
    deadline = started + seconds
    pending = dict(conditions)
    while True:
        pending = {name: condition for name, condition in pending.items() if not condition()}
        if not pending or time.monotonic() > deadline:
            return time.monotonic() - started, sorted(pending)
        time.sleep(0.25)


def health(port):
    """The status of the tool's GET /health on its host port, or None."""
    return harness.request(f"http://127.0.0.1:{port}", "GET", "/health", timeout=3)[0] if port else None


def containers(instance):
    """(id, running) of each container labelled for `instance`, running or not."""
    listed = subprocess.run(["docker", "ps", "-a", "--filter", f"label=agentbox.instance={instance}", "--format", "{{.ID}} {{.State}}"],
                            capture_output=True, text=True).stdout.split("\n")
    return [(line.split()[0], line.split()[1] == "running") for line in listed if line.strip()]


def one_running_container(instance):
    """True when exactly one container is labelled for `instance` and it runs."""
    found = containers(instance)
    return len(found) == 1 and found[0][1]


def runs(app, token, instance, version=None):
    """Whether the instance is `running` (at `version`, with no upgrade pending) and its tool answers GET /health."""
    status, _, body = app.request("GET", f"{V1}/instances/{instance}", token)
    if status != 200:
        return False
    current = json.loads(body)
    return (current["status"] == "running" and health(current["port_mapping"]["host_port"]) == 200
            and (version is None or (current["version"] == version and current.get("previous_version") is None)))


def instance_state(app, token, instance):
    """The instance as the API shows it (a dict; {} when it does not answer 200)."""
    status, _, body = app.request("GET", f"{V1}/instances/{instance}", token)
    return json.loads(body) if status == 200 else {}


def deploy(app, token, toolbox, tool, name):
    """Creates an instance; its id, or a HarnessError naming the answer."""
    return app.api(token, "POST", f"{V1}/toolboxes/{toolbox}/instances", {"tool_id": tool, "name": name})["id"]


def add_tool(app, name, image, version):
    """A catalog entry for the contract tool under `image`; its id."""
    return app.api(app.admin_token, "POST", f"{V1}/catalog", {
        "name": name, "docker_image_url": image, "version": version, "container_port": 8080,
        "required_capabilities_schema": {"echo": {"description": "Answer with the request", "input_schema": {"type": "object"}}}})["id"]


@contextmanager
def sigterm_unwinds():
    """While held, SIGTERM (e.g. `timeout` or a CI runner ending the drills) raises SystemExit, so that `finally`
    blocks run: the one that starts the Docker engine again above all."""

    def unwind(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- 1. the Docker engine stopped and started -------------------------------------------------------------------------

def engine_outage(context, checks):
    """Instances running, then the engine stopped: the API keeps answering (reads, writes that need no engine, a clear
    answer for those that do), the appliance stays up; the engine started again: everything converges."""
    outage_seconds = 20
    waited = time.monotonic()
    with harness.docker_lock(exclusive=True):
        context.log(f"engine_faults: holding the Docker engine alone after waiting {time.monotonic() - waited:.0f} s for the other drills")
        app = harness.Appliance(context.agentbox, options=["--reconcile-interval", "2", "--local-toolboxes", "everyone"])
        toolbox = None
        try:
            app.start()
            _, owner = app.user("engine-owner")
            world = harness.tool_world(app, owner, "eng-0", "engine-drill-secret", catalog_token=app.admin_token)
            toolbox, item = world["toolbox"], world["item"]
            instances = [world["instance"]] + [deploy(app, owner, toolbox, world["tool"], f"eng-{n}") for n in (1, 2)]
            harness.wait_until(lambda: all(runs(app, owner, i) for i in instances), 60, "the engine drill's instances did not run")
            for instance in instances:
                checks.check(one_running_container(instance), f"instance {instance} has containers {containers(instance)} before the outage")

            down = time.monotonic()
            with sigterm_unwinds():
                try:
                    harness.run(harness.TEST_SERVICES, "engine-stop")
                    accepted = during_engine_outage(app, checks, owner, world, instances, down + outage_seconds)
                finally:
                    harness.run(harness.TEST_SERVICES, "engine-start")
            up = time.monotonic()

            conditions = {
                "/readyz answers 200": lambda: app.request("GET", "/readyz", timeout=5)[0] == 200,
                "the toolbox is reachable": lambda: app.api(owner, "GET", f"{V1}/toolboxes/{toolbox}").get("reachability") == "reachable",
            }
            stopped = accepted.get("stop")
            for instance in instances:
                if instance == stopped:
                    conditions[f"instance {instance}, stopped during the outage, is stopped with no running container"] = (
                        lambda i=instance: instance_state(app, owner, i).get("status") == "stopped" and len(containers(i)) <= 1
                                         and not any(running for _, running in containers(i)))
                else:
                    conditions[f"instance {instance} runs, healthy, in exactly one container"] = (
                        lambda i=instance: runs(app, owner, i) and one_running_container(i))
            if accepted.get("deploy"):
                conditions[f"instance {accepted['deploy']}, deployed during the outage, runs in exactly one container"] = (
                    lambda i=accepted["deploy"]: runs(app, owner, i) and one_running_container(i))
            converge, never = wait_all(conditions, 90)
            for name in conditions:
                checks.check(name not in never, f"{name}: not within 90 s of the engine's return")
            status, _, body = app.request("POST", f"{V1}/toolbelt/{item}/execute", world["agent_token"], {"capability": "echo", "input": {"after": "outage"}})
            received = json.loads(body).get("received", {}) if status == 200 else {}
            checks.check(received.get("input") == {"after": "outage"} and received.get("credentials") == {"api_key": "engine-drill-secret"},
                         f"a tool call after the engine returned answered {answer(status, body)} (the echo of its input and credential expected)")
            for agent in accepted.get("agents", []):
                status, _, body = app.request("GET", f"{V1}/agents/{agent}", owner)
                checks.check(status == 200, f"the agent {agent}, created during the outage, answers {answer(status, body)} afterwards")
            alive_and_healthy(checks, app, "after the engine returned")
            return f"engine down {up - down:.1f} s ({', '.join(accepted['answers'])}), converged {converge:.1f} s after"
        finally:
            if subprocess.run(["docker", "version"], capture_output=True).returncode != 0:
                subprocess.run([harness.TEST_SERVICES, "engine-start"], capture_output=True)
            app.remove()
            if toolbox:
                harness.remove_containers(toolbox)


def during_engine_outage(app, checks, owner, world, instances, until):
    """The API while the engine is down: what it must keep doing, and what it does with writes that need the engine.
    Returns what was accepted: {"stop": instance, "deploy": instance, "agents": [ids], "answers": ["stopping 200", ...]}."""
    accepted = {"agents": [], "answers": []}

    def no_5xx_but_503(what, status, body, allowed):
        """Checks that a write needing the engine was accepted (`allowed`) or refused with a clear 503."""
        accepted["answers"].append(f"{what.split()[0]} {status}")
        if status == 503:
            text = body.decode(errors="replace").lower()
            return checks.check("docker" in text or "engine" in text, f"{what} during the outage answered 503 without naming the engine: {answer(status, body)}")
        return checks.check(status in allowed, f"{what} during the outage answered {answer(status, body)}")

    poll(lambda: app.request("GET", "/readyz", timeout=5)[0] == 503, 10)
    status, _, body = app.request("GET", "/readyz", timeout=5)
    checks.check(status == 503 and b"docker" in body, f"/readyz with the engine down answered {answer(status, body)}")
    toolbox = world["toolbox"]
    unreachable = poll(lambda: app.api(owner, "GET", f"{V1}/toolboxes/{toolbox}").get("reachability") == "unreachable", 15)
    checks.check(unreachable, "the toolbox was not marked unreachable within 15 s of the engine stopping")

    status, _, body = app.request("POST", f"{V1}/instances/{instances[1]}/stop", owner)
    if no_5xx_but_503("stopping an instance", status, body, (200, 202)) and status != 503:
        accepted["stop"] = instances[1]
    status, _, body = app.request("POST", f"{V1}/instances/{instances[2]}/restart", owner)
    no_5xx_but_503("restarting an instance", status, body, (200, 202))
    status, _, body = app.request("POST", f"{V1}/toolboxes/{toolbox}/instances", owner, {"tool_id": world["tool"], "name": "eng-late"})
    if no_5xx_but_503("deploying an instance", status, body, (201, 202)) and status != 503:
        accepted["deploy"] = json.loads(body)["id"]
    status, _, body = app.request("POST", f"{V1}/toolboxes", owner, {"name": "outage-box", "provider": "local"})
    checks.check(status == 503 and ("docker" in body.decode(errors="replace").lower()),
                 f"creating a local toolbox with the engine down answered {answer(status, body)} (a 503 naming the engine expected)")
    status, _, body = app.request("POST", f"{V1}/toolbelt/{world['item']}/execute", world["agent_token"], {"capability": "echo", "input": {"during": "outage"}})
    checks.check(status is not None and status not in (200, 500) and error_code(body) is not None and b"engine-drill-secret" not in body,
                 f"a tool call with the engine down answered {answer(status, body)} (a clear error expected)")

    rounds = 0
    while time.monotonic() < until or rounds == 0:
        rounds += 1
        status, _, body = app.request("POST", f"{V1}/agents", owner, {"name": f"outage-agent-{rounds}"})
        if checks.check(status == 201, f"creating an agent (no engine needed) during the outage answered {answer(status, body)}"):
            accepted["agents"].append(json.loads(body)["id"])
        for path in [f"{V1}/me", f"{V1}/toolboxes/{toolbox}", f"{V1}/toolboxes/{toolbox}/instances", f"{V1}/agents"] + [f"{V1}/instances/{i}" for i in instances]:
            status, _, body = app.request("GET", path, owner)
            checks.check(status == 200, f"GET {path} during the outage answered {answer(status, body)}")
        alive_and_healthy(checks, app, "while the engine was down")
        time.sleep(1)
    return accepted


# --- 2. the registry down during a pull -------------------------------------------------------------------------------

class Registry:
    """A registry of the drill's own (Debian's docker-registry) on a free loopback port, storage in `folder`."""

    def __init__(self, folder):
        self.folder = folder
        self.address = f"127.0.0.1:{harness.free_port()}"
        self.config = os.path.join(folder, "registry.yml")
        os.makedirs(os.path.join(folder, "storage"), exist_ok=True)
        with open(self.config, "w") as f:
            f.write("version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\n"
                    f"storage: {{filesystem: {{rootdirectory: {folder}/storage}}, delete: {{enabled: true}}}}\n"
                    f"http: {{addr: {self.address}, secret: {os.urandom(16).hex()}}}\n")
        self.process = None

    def start(self):
        with open(os.path.join(self.folder, "registry.log"), "a") as log_file:
            self.process = subprocess.Popen(["docker-registry", "serve", self.config], stdout=log_file, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        harness.wait_until(lambda: self.process.poll() is None and harness.http_status(f"http://{self.address}/v2/") == 200, 10,
                           f"the drill's registry did not answer on {self.address} (log: {self.folder}/registry.log)")

    def stop(self):
        harness.stop_process(self.process, 10)
        self.process = None


class HealthProbe:
    """Asks a tool's GET /health every 20 ms in a thread, while in a `with` block; `longest_gap` is the longest
    stretch (seconds) of answers other than 200."""

    def __init__(self, port):
        self.port = port
        self.longest_gap = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        failing_since = None
        while not self.stopping.is_set():
            now = time.monotonic()
            if health(self.port) == 200:
                failing_since = None
            else:
                failing_since = failing_since or now
                self.longest_gap = max(self.longest_gap, now - failing_since)
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=10)


def registry_outage(context, checks):
    """An instance running from the drill's registry, then the registry stopped: an upgrade that must pull fails
    clearly (the instance keeps running its old version, never interrupted), a deploy waits saying why, the appliance
    stays up; the registry started again: the waiting deploy is pulled again by itself and runs, and the upgrade asked
    again (during a pass of its toolbox) is carried out."""
    folder = tempfile.mkdtemp(prefix="agentbox-drill-registry-")
    registry = Registry(folder)
    repository = f"{registry.address}/drill/tool-{os.urandom(4).hex()}"
    images = [f"{repository}:1", f"{repository}:2"]
    app = None
    toolbox = None
    with harness.docker_lock():
        try:
            registry.start()
            for image in images:
                harness.run("docker", "tag", "agentbox-test/contract-tool:1", image)
                harness.run("docker", "push", image)
                harness.run("docker", "rmi", image)  # the engine has to pull it
            app = harness.Appliance(context.agentbox, options=["--reconcile-interval", "2", "--local-toolboxes", "everyone"])
            app.start()
            _, owner = app.user("registry-owner")
            tool = add_tool(app, "drill-registry-tool", images[0], "1")
            toolbox = app.api(owner, "POST", f"{V1}/toolboxes", {"name": "registry-box", "provider": "local"})["id"]
            steady = deploy(app, owner, toolbox, tool, "steady")
            harness.wait_until(lambda: runs(app, owner, steady), 60, "the registry drill's first instance did not run")
            app.api(app.admin_token, "PATCH", f"{V1}/catalog/{tool}", {"version": "2", "docker_image_url": images[1]})

            registry.stop()
            down = time.monotonic()
            with HealthProbe(instance_state(app, owner, steady)["port_mapping"]["host_port"]) as probe:
                status, _, body = app.request("POST", f"{V1}/instances/{steady}/upgrade", owner)
                checks.check(status == 200, f"upgrading with the registry down answered {answer(status, body)}")
                rolled_back = poll(lambda: runs(app, owner, steady, version="1"), 40)
            current = instance_state(app, owner, steady)
            checks.check(rolled_back, f"the upgrade with the registry down did not leave the instance running version 1 within 40 s: {current}")
            checks.check(registry.address in (current.get("status_detail") or ""), f"the failed upgrade's reason does not name the registry: {current}")
            checks.check(probe.longest_gap == 0, f"the upgrade whose image could not be pulled interrupted the running tool for {probe.longest_gap:.2f} s "
                                                 "(its old container was stopped before the pull failed)")
            checks.check(one_running_container(steady), f"after the failed upgrade the instance has containers {containers(steady)}")

            status, _, body = app.request("POST", f"{V1}/toolboxes/{toolbox}/instances", owner, {"tool_id": tool, "name": "fresh"})
            checks.check(status == 201, f"deploying with the registry down answered {answer(status, body)} (accepted, then failing in the open, expected)")
            fresh = json.loads(body)["id"] if status == 201 else None
            if fresh:
                def waits_clearly():
                    current = instance_state(app, owner, fresh)
                    detail = current.get("status_detail") or ""
                    return current.get("status") == "deploying" and registry.address in detail and "pulling again" in detail

                checks.check(poll(waits_clearly, 20), f"the deploy with the registry down was not deploying, waiting for the registry "
                                                      f"named in its detail, within 20 s: {instance_state(app, owner, fresh)}")
                events = app.api(owner, "GET", f"{V1}/instances/{fresh}/events")["items"]
                checks.check(any(e["kind"] == "error" and registry.address in e["message"] for e in events),
                             f"the failed deploy's events do not tell the registry failed: {events}")
            for path in [f"{V1}/toolboxes/{toolbox}", f"{V1}/toolboxes/{toolbox}/instances", f"{V1}/instances/{steady}/events"]:
                status, _, body = app.request("GET", path, owner)
                checks.check(status == 200, f"GET {path} with the registry down answered {answer(status, body)}")
            alive_and_healthy(checks, app, "with the registry down")

            registry.start()
            up = time.monotonic()
            figures = f"registry down {up - down:.1f} s, tool gap in failed upgrade {probe.longest_gap:.2f} s"
            if fresh:
                # Pulled again by itself after its back-off (1, 2, 4, 8, 16, then 30 s).
                automatic = poll(lambda: runs(app, owner, fresh) and one_running_container(fresh), 40)
                checks.check(automatic, f"the deploy that waited for the registry did not run 40 s after the registry's return: "
                                        f"{instance_state(app, owner, fresh)}")
                if automatic:
                    figures += f", waiting deploy ran {time.monotonic() - up:.1f} s after its return"

            # The upgrade asked again, right after a deploy on the same toolbox (a pass of the toolbox under way).
            seen = max(e["id"] for e in app.api(owner, "GET", f"{V1}/instances/{steady}/events")["items"])
            late = deploy(app, owner, toolbox, tool, "late")
            status, _, body = app.request("POST", f"{V1}/instances/{steady}/upgrade", owner)
            checks.check(status == 200, f"the upgrade asked again after the registry's return answered {answer(status, body)}")
            upgraded = poll(lambda: runs(app, owner, steady, version="2") and one_running_container(steady), 40)
            events = [e["message"] for e in app.api(owner, "GET", f"{V1}/instances/{steady}/events?after={seen}")["items"]]
            checks.check(upgraded, f"the upgrade asked during a pass of its toolbox did not run version 2 within 40 s: "
                                   f"{instance_state(app, owner, steady)}; its events since the request: {events}")
            checks.check(poll(lambda: runs(app, owner, late) and one_running_container(late), 40),
                         f"the instance deployed after the registry's return did not run: {instance_state(app, owner, late)}")
            alive_and_healthy(checks, app, "after the registry returned")
            return figures
        finally:
            if app:
                app.remove()
            if toolbox:
                harness.remove_containers(toolbox)
            subprocess.run(["docker", "rmi", *images], capture_output=True)
            registry.stop()
            shutil.rmtree(folder, ignore_errors=True)


# --- 3. the data directory's disk full -------------------------------------------------------------------------------

def disk_full(context, checks):
    """The data directory on a 12 MB tmpfs, filled by a file: writes answer 503 disk_full, reads go on, nothing
    acknowledged is lost, writes work again once the file is gone, and the database is intact after a restart."""
    folder = tempfile.mkdtemp(prefix="agentbox-drill-diskfull-")
    data = os.path.join(folder, "data")
    os.makedirs(data)
    harness.run("mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", data)
    app = None
    try:
        app = harness.Appliance(context.agentbox, folder=folder, options=["--reconcile-interval", "0"])
        app.start()
        admin = app.admin_token
        agents = {}     # acknowledged agents: id -> name
        tokens = []     # acknowledged agent tokens
        users = []      # acknowledged users
        refused = {"agent": [], "user": []}   # names whose creation was refused

        def write(kind, number):
            """One write of `kind`; (status, body), recording what was acknowledged or refused."""
            if kind == "agent":
                name = f"disk-agent-{number}"
                status, _, body = app.request("POST", f"{V1}/agents", admin, {"name": name})
                if status == 201:
                    agents[json.loads(body)["id"]] = name
                elif status == 503:
                    refused["agent"].append(name)
            elif kind == "rename":
                agent, name = next(iter(agents.items()))
                status, _, body = app.request("PATCH", f"{V1}/agents/{agent}", admin, {"name": f"{name}-r{number}"})
                if status == 200:
                    agents[agent] = f"{name}-r{number}"
            elif kind == "token":
                status, _, body = app.request("POST", f"{V1}/agents/{next(iter(agents))}/tokens", admin, {"name": f"t{number}"})
                if status == 201:
                    tokens.append(json.loads(body)["token"])
            else:
                name = f"disk-user-{number}"
                status, _, body = app.request("POST", f"{V1}/users", admin, {"name": name})
                if status == 201:
                    users.append(json.loads(body)["user"]["id"])
                elif status == 503:
                    refused["user"].append(name)
            return status, body

        kinds = ["agent", "rename", "token", "user"]
        for number in range(context.size(12, 8)):
            status, body = write(kinds[number % 4], number)
            checks.check(status in (200, 201), f"a {kinds[number % 4]} write before the disk filled answered {answer(status, body)}")

        # dd stops with "No space left on device" once the tmpfs is full.
        filler = os.path.join(data, "filler")
        filled = time.monotonic()
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True)
        free = shutil.disk_usage(data).free
        checks.check(free < 64 * 1024, f"the tmpfs still has {free} bytes free after the filler")
        answers = {}    # kind -> (status, headers, body) of its first refusal
        number = 100
        for _ in range(200):
            kind = kinds[number % 4]
            number += 1
            status, body = write(kind, number)
            checks.check(status in (200, 201, 503), f"a {kind} write on a full disk answered {answer(status, body)}")
            if status == 503 and kind not in answers:
                answers[kind] = body
            if len(answers) == len(kinds):
                break
        for kind in kinds:
            body = answers.get(kind)
            if not checks.check(body is not None, f"no {kind} write was refused with 503 while the disk was full"):
                continue
            text = body.decode(errors="replace")
            checks.check(error_code(body) == "disk_full", f"a refused {kind} write has error code {error_code(body)!r}, not 'disk_full': {text[:300]}")
            checks.check("disk" in text and "full" in text, f"a refused {kind} write does not say the disk is full: {text[:300]}")
        status, headers, body = app.request("POST", f"{V1}/agents", admin, {"name": "disk-retry-after"})
        if status == 201:
            agents[json.loads(body)["id"]] = "disk-retry-after"
        elif status == 503:
            refused["agent"].append("disk-retry-after")
            checks.check(any(k.lower() == "retry-after" for k in headers), "a 503 disk_full answer has no Retry-After header")

        # The disk stays full for a while: every write answers 2xx or 503, every read 200, the process stays up.
        until = time.monotonic() + context.size(5, 2)
        while time.monotonic() < until:
            for kind in kinds:
                number += 1
                status, body = write(kind, number)
                checks.check(status in (200, 201, 503), f"a {kind} write on a full disk answered {answer(status, body)}")
            for path in (f"{V1}/agents", f"{V1}/agents/{next(iter(agents))}", f"{V1}/users", f"{V1}/me", f"{V1}/audit?limit=5"):
                status, _, body = app.request("GET", path, admin)
                checks.check(status == 200, f"GET {path} on a full disk answered {answer(status, body)}")
            alive_and_healthy(checks, app, "while the disk was full")
            time.sleep(0.25)
        # A token not used yet: authenticating it may want to stamp its last use, which must not cost the read.
        first, _, body = app.request("GET", f"{V1}/me", tokens[0] if tokens else None)
        second = app.request("GET", f"{V1}/me", tokens[0] if tokens else None)[0]
        checks.check(first == 200, f"GET {V1}/me with an agent token not used before answered {answer(first, body)} on a full disk "
                                   f"(the same request again: {second})")
        alive_and_healthy(checks, app, "while the disk was full")

        os.remove(filler)
        outage = time.monotonic() - filled
        freed = time.monotonic()
        attempt = 900
        status, body = write("agent", attempt)
        while status != 201 and time.monotonic() - freed < 10:
            time.sleep(0.2)
            attempt += 1
            status, body = write("agent", attempt)
        converge = time.monotonic() - freed
        checks.check(status == 201, f"creating an agent after the disk was freed answered {answer(status, body)}")
        for kind in kinds[1:]:
            status, body = write(kind, 910 + len(kind))
            checks.check(status in (200, 201), f"a {kind} write after the disk was freed answered {answer(status, body)}")
        alive_and_healthy(checks, app, "after the disk was freed")

        process = app.process
        app.stop()
        checks.check(process.returncode == 0, f"the appliance exited {process.returncode} on SIGTERM after the disk-full episode")
        app.start()
        listed = {a["id"]: a["name"] for a in app.api(admin, "GET", f"{V1}/agents?limit=200")["items"]}
        for agent, name in agents.items():
            checks.check(listed.get(agent) == name, f"the acknowledged agent {agent} ({name}) is {listed.get(agent)!r} after a restart")
        for name in refused["agent"]:
            checks.check(name not in listed.values(), f"the agent {name}, refused with 503, exists after a restart")
        user_names = {u["name"] for u in app.api(admin, "GET", f"{V1}/users?limit=200")["items"]}
        for name in refused["user"]:
            checks.check(name not in user_names, f"the user {name}, refused with 503, exists after a restart")
        for token in tokens:
            status, _, body = app.request("GET", f"{V1}/me", token)
            checks.check(status == 200, f"an acknowledged agent token is refused after a restart: {answer(status, body)}")
        for user in users:
            status, _, body = app.request("GET", f"{V1}/users/{user}", admin)
            checks.check(status == 200, f"the acknowledged user {user} is missing after a restart: {answer(status, body)}")
        app.stop()
        with sqlite3.connect(f"file:{os.path.join(data, 'agentbox.sqlite')}?mode=ro", uri=True) as database:
            integrity = database.execute("PRAGMA integrity_check").fetchone()[0]
        checks.check(integrity == "ok", f"PRAGMA integrity_check after the disk-full episode says {integrity!r}")
        acknowledged = len(agents) + len(tokens) + len(users)
        return f"disk full {outage:.1f} s, writes back {converge:.2f} s after, {acknowledged} acknowledged kept, {sum(map(len, refused.values()))} refused absent"
    finally:
        if app:
            app.stop()
        subprocess.run(["umount", data], capture_output=True)
        if os.path.ismount(data):
            subprocess.run(["umount", "-l", data], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def drill(context):
    """Runs the scenarios (the quick size: disk full only) and sums their checks."""
    scenarios = [("disk", disk_full)] if context.quick else [("disk", disk_full), ("registry", registry_outage), ("engine", engine_outage)]
    cases, problems, figures = 0, [], []
    for name, scenario in scenarios:
        checks = Checks(name)
        started = time.monotonic()
        try:
            figures.append(scenario(context, checks))
        except Exception as error:  # a scenario that breaks is one failure; the others still run
            checks.check(False, f"broke: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
            figures.append(f"{name} broke")
        context.log(f"engine_faults: {name} scenario, {checks.cases} checks, {len(checks.problems)} failed, {time.monotonic() - started:.1f} s")
        cases += checks.cases
        problems += checks.problems
    return {"cases": cases, "failures": len(problems), "figures": "; ".join(figures), "problems": problems}
