"""What `make bench` and `make drills` share: running commands, loopback HTTP, and a real `agentbox serve` to drive.

Everything here talks to 127.0.0.1 only.
"""
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
TEST_SERVICES = os.path.join(SCRIPTS, "test-services.sh")


class HarnessError(Exception):
    """Something a bench row or a drill needed did not work: the message says what and why."""


def log(who, message):
    print(f"{who}: {message}", file=sys.stderr, flush=True)


def run(*command, **options):
    """Runs a command from the project's folder; its output, or a HarnessError with the end of its error output."""
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, **options)
    if result.returncode != 0:
        raise HarnessError(f"{' '.join(command)} failed ({result.returncode}):\n{(result.stderr or result.stdout)[-2000:]}")
    return result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, token=None, body=None, headers=None, timeout=30):
    """One HTTP request; (status, headers, body bytes) whatever the status, or (None, {}, b"") when nothing answered."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, method=method, data=data, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return None, {}, b""


def api(base, token, method, path, body=None, timeout=30):
    """The JSON answer of a request that must succeed; a HarnessError naming the status and body otherwise."""
    status, _, data = request(base, method, path, token, body, timeout=timeout)
    if status is None or status >= 300:
        raise HarnessError(f"{method} {path} answered {status}: {data.decode(errors='replace')[:500]}")
    return json.loads(data or b"null")


def http_status(url):
    return request(url, "GET", "", timeout=2)[0]


def wait_until(condition, seconds, message):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise HarnessError(message)
        time.sleep(0.05)


def release_binary(scratch=".build", products=("agentbox",)):
    """Builds the release `products` (or takes AGENTBOX_BIN, with the other products beside it) and returns agentbox's path."""
    if os.environ.get("AGENTBOX_BIN"):
        return os.path.abspath(os.environ["AGENTBOX_BIN"])
    for product in products:
        run("swift", "build", "-c", "release", "--product", product, "--scratch-path", scratch)
    return os.path.join(ROOT, scratch, "release", "agentbox")


def services_up():
    return subprocess.run([TEST_SERVICES, "status"], capture_output=True).returncode == 0


@contextmanager
def docker_lock(exclusive=False):
    """Held while a drill uses the test services' Docker engine; the drill that stops the engine holds it exclusively."""
    with open("/tmp/agentbox-drills-engine.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def stop_process(process, seconds):
    """SIGTERM, then SIGKILL if it is still there after `seconds`."""
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Appliance:
    """A real `agentbox serve` on a data directory of its own and a free loopback port, with an admin token.

    `start()` and `stop()` (SIGTERM) or `kill()` (SIGKILL) may be repeated: the data directory stays.
    """

    def __init__(self, agentbox, folder=None, options=(), log_level="warning", environment=None):
        self.agentbox = agentbox
        self.folder = folder or tempfile.mkdtemp(prefix="agentbox-drill-")
        self.data = os.path.join(self.folder, "data")
        self.options = list(options)
        self.log_level = log_level
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith("AGENTBOX_")}
        self.environment.update(environment or {})
        self.log_path = os.path.join(self.folder, "serve.log")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.admin_token = json.loads(run(agentbox, "admin", "create", "drill-admin", "--json", "--data-dir", self.data))["token"]

    def start(self, ready_seconds=20):
        with open(self.log_path, "a") as log_file:
            self.process = subprocess.Popen(
                [self.agentbox, "serve", "--data-dir", self.data, "--host", "127.0.0.1", "--port", str(self.port),
                 "--log-level", self.log_level, *self.options],
                cwd=ROOT, env=self.environment, stdout=log_file, stderr=subprocess.STDOUT)
        wait_until(lambda: self.process.poll() is None and http_status(self.base + "/healthz") == 200, ready_seconds,
                   f"agentbox serve did not answer /healthz (log: {self.log_path})")
        return self

    def stop(self):
        stop_process(self.process, 20)
        self.process = None

    def kill(self):
        """SIGKILL, as a crash or a power cut would end it."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def remove(self):
        """Stops the server and deletes its folder (data directory and log)."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def api(self, token, method, path, body=None, timeout=30):
        return api(self.base, token, method, path, body, timeout=timeout)

    def request(self, method, path, token=None, body=None, headers=None, timeout=30):
        return request(self.base, method, path, token, body, headers, timeout)

    def user(self, name):
        """A new user and its token."""
        answer = self.api(self.admin_token, "POST", "/api/v1/users", {"name": name})
        return answer["user"]["id"], answer["token"]["token"]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


CONTRACT_TOOL_IMAGE = "127.0.0.1:5000/agentbox-test/contract-tool:1"


def docker_ids(toolbox):
    """The ids of every container (running or not) that agentbox made for `toolbox`."""
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=agentbox.toolbox={toolbox}"],
                          capture_output=True, text=True).stdout.split()


def remove_containers(toolbox):
    ids = docker_ids(toolbox)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


def tool_world(app, owner_token, name, secret, catalog_token=None, toolbox=None, wait_seconds=120):
    """A running contract tool (test services' registry) on a local toolbox of `owner_token`'s user, and an agent of that
    user with a token, access to the toolbox, the instance on its toolbelt, `echo` allowed (`send` not) and `secret` as
    its api_key credential. The catalog entry is added with `catalog_token` (an admin's) unless it exists.

    Returns the ids and the agent's token: tool, toolbox, instance, agent, agent_token, item, host_port.
    """
    v1 = "/api/v1"
    tools = app.api(owner_token, "GET", f"{v1}/catalog?limit=100")["items"]
    tool = next((t for t in tools if t["name"] == "drill-contract"), None) or app.api(catalog_token or owner_token, "POST", f"{v1}/catalog", {
        "name": "drill-contract", "docker_image_url": CONTRACT_TOOL_IMAGE, "version": "1", "container_port": 8080,
        "required_capabilities_schema": {"echo": {"description": "Answer with the request", "input_schema": {"type": "object"}},
                                         "send": {"description": "Never allowed in drills", "input_schema": {"type": "object"}}},
        "required_secrets_schema": {"type": "object", "required": ["api_key"]}})
    toolbox = toolbox or app.api(owner_token, "POST", f"{v1}/toolboxes", {"name": f"{name}-box", "provider": "local"})["id"]
    instance = app.api(owner_token, "POST", f"{v1}/toolboxes/{toolbox}/instances", {"tool_id": tool["id"], "name": name})
    wait_until(lambda: app.api(owner_token, "GET", f"{v1}/instances/{instance['id']}")["status"] == "running", wait_seconds,
               f"the contract tool's instance {name} did not run within {wait_seconds} s")
    current = app.api(owner_token, "GET", f"{v1}/instances/{instance['id']}")
    agent = app.api(owner_token, "POST", f"{v1}/agents", {"name": f"{name}-agent"})
    agent_token = app.api(owner_token, "POST", f"{v1}/agents/{agent['id']}/tokens", {"name": name})["token"]
    app.api(owner_token, "POST", f"{v1}/agents/{agent['id']}/toolboxes", {"toolbox_id": toolbox})
    item = app.api(owner_token, "POST", f"{v1}/agents/{agent['id']}/toolbelt", {"instance_id": instance["id"]})
    app.api(owner_token, "PUT", f"{v1}/toolbelt/{item['id']}/permissions/echo", {"is_allowed": True})
    app.api(owner_token, "POST", f"{v1}/toolbelt/{item['id']}/credentials", {"credential_type": "api_key", "credentials": {"api_key": secret}})
    return {"tool": tool["id"], "toolbox": toolbox, "instance": instance["id"], "agent": agent["id"], "agent_token": agent_token,
            "item": item["id"], "host_port": current["port_mapping"]["host_port"]}


class StandIn:
    """A running `agentbox-do-sim` (the project's DigitalOcean stand-in, built beside `agentbox`) on a free loopback
    port, with its control API: faults(), state(), reset(). `arguments` go to its command line (see its --help)."""

    def __init__(self, agentbox, folder, arguments=()):
        self.token = "sim-" + os.urandom(8).hex()
        self.log_path = os.path.join(folder, "do-sim.log")
        executable = os.path.join(os.path.dirname(agentbox), "agentbox-do-sim")
        with open(self.log_path, "w") as log_file:
            self.process = subprocess.Popen([executable, "--port", "0", "--token", self.token, *arguments], cwd=ROOT,
                                            stdout=subprocess.PIPE, stderr=log_file, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.stop()
            raise HarnessError(f"agentbox-do-sim did not start: {line!r} (log: {self.log_path})")
        self.base = match.group(1)

    def control(self, method, path, body=None):
        return api(self.base, self.token, method, path, body)

    def faults(self, faults):
        """Adds faults (POST /_sim/faults), e.g. {"drop_after_create": 1}."""
        return self.control("POST", "/_sim/faults", faults)

    def state(self):
        """Every droplet, action and request the stand-in knows (GET /_sim/state)."""
        return self.control("GET", "/_sim/state")

    def stop(self):
        stop_process(self.process, 15)
