"""Secret hygiene: canary secrets pushed through every path that carries one, then searched for where none may be.

The canaries: credentials stored through the API, the console and the CLI (and a remote toolbox's, and the one the
contract tool refreshes), user, agent, toolbox and enrollment tokens as issued and rotated, the DigitalOcean key (the
stand-in's token), registry passwords, and wrong secrets sent in failed requests (headers, query strings, bodies).
The places: the serve log at debug level, every file of the data directory (while serving and after), a backup,
`docker inspect` of every container, each droplet's user-data and its DTMA's files, every error body, /metrics, the
stand-in's request log, CLI output, API reads and console pages. Each canary is looked for plain, base64 (both
alphabets, every alignment), hex and URL-encoded, and every place for agentbox tokens not followed as canaries.

A case is one (canary, place) pair, or a control: a place where a path must have carried its canary (the tool's
echo of its request), which proves the path and the search work. A failure is a hit, a missed control, or another
fault met on the way (a request answered with the wrong status, a remote toolbox misbehaving).
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

import harness

V1 = "/api/v1"
PRIVATE_IMAGE = "127.0.0.1:5001/agentbox-test/private-echo:1"
REFRESHED_BY_THE_TOOL = "sk-refreshed-by-the-tool"  # what the contract tool's "refresh" mode hands back
TOKEN_PATTERN = re.compile(rb"abx_[uate]_[A-Za-z0-9_-]{49}")
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def encodings(value):
    """The forms a secret may take in bytes: plain, base64 (standard and URL alphabets, each of the three alignments
    inside a longer encoded text), lowercase hex, and percent-encoded."""
    raw = value.encode()
    forms = {"plain": raw, "hex": raw.hex().encode()}
    for alignment, start in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * alignment + raw)
        core = encoded[start:((alignment + len(raw)) // 3) * 4]
        forms[f"base64/{alignment}"] = core
        forms[f"base64url/{alignment}"] = core.replace(b"+", b"-").replace(b"/", b"_")
    quoted = urllib.parse.quote(value, safe="").encode()
    if quoted != raw:
        forms["url-encoded"] = quoted
    return forms


def polled(check, pause=0.2):
    """A wait_until condition that checks at a gentle pace."""
    def condition():
        if check():
            return True
        time.sleep(pause)
        return False
    return condition


def mcp_answer(body):
    """The JSON-RPC message of an MCP answer, sent as JSON or as server-sent events."""
    text = body.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    return json.loads(text) if text.strip() else None


class Console:
    """The web console driven as a browser would, without following redirects (http.client)."""

    def __init__(self, port):
        self.port = port

    def send(self, method, path, cookies=None, form=None):
        """(status, headers as a list of pairs, body bytes)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    @staticmethod
    def csrf(page):
        """The CSRF token of a console page's forms."""
        match = re.search(rb'name="csrf" value="([0-9a-f]+)"', page)
        if not match:
            raise harness.HarnessError("a console page carried no CSRF field")
        return match.group(1).decode()

    @staticmethod
    def cookie(headers, name):
        """The value a response's Set-Cookie gives the cookie `name`, or None."""
        for header, value in headers:
            if header.lower() == "set-cookie" and value.startswith(name + "="):
                return value.split(";", 1)[0].split("=", 1)[1]
        return None


class Hygiene:
    """One appliance at debug level beside the DigitalOcean stand-in; the canaries pushed so far, and every place
    gathered to be searched."""

    def __init__(self, context, folder):
        self.context = context
        self.folder = folder
        self.canaries = {}     # name -> (value, kinds of place where it legitimately is)
        self.places = {}       # place -> (kind, bytes)
        self.paths = []        # the paths driven, for the figures
        self.problems = []     # other faults: requests that did not answer as they must, remote toolbox faults
        self.controls = []     # (canary, place) pairs where the canary must be: proof that the path carried it
        self.toolboxes = []    # every toolbox made, for the containers' clean-up
        self.boot = not context.quick
        self.do_key = self.canary("do-key")
        arguments = ["--token", self.do_key, "--active-after", "0.3", "--ip-after", "0.3"]
        if self.boot:
            arguments += ["--boot-dtma", context.agentbox, "--dtma-restart-delay", "600",
                          "--droplet-root", os.path.join(folder, "droplets")]
        self.sim = harness.StandIn(context.agentbox, folder, arguments)
        self.sim.token = self.do_key  # the last --token wins; StandIn picked its own before
        low = 20000 + 20 * (int.from_bytes(os.urandom(2), "big") % 450)  # host ports below the ephemeral range
        try:
            self.app = harness.Appliance(context.agentbox, folder=os.path.join(folder, "app"), log_level="debug", options=[
                "--digitalocean-api", self.sim.base, "--token-failures-per-minute", "0", "--local-toolboxes", "everyone",
                "--dtma-heartbeat-interval", "1", "--enrollment-timeout", "120", "--port-range", f"{low}-{low + 19}"])
        except Exception:
            self.sim.stop()
            raise
        self.app.options += ["--public-url", self.app.base]
        self.token("admin token", self.app.admin_token)
        self.console = Console(self.app.port)

    # -- canaries and places

    def canary(self, name):
        """A new random canary secret, to be found nowhere searched."""
        return self.token(name, f"canary-{name}-{os.urandom(10).hex()}")

    def token(self, name, value, allowed=()):
        """Registers an issued token (or another secret agentbox made) as a canary."""
        if not value:
            raise harness.HarnessError(f"no {name} to follow")
        self.canaries[name] = (value, set(allowed))
        return value

    def place(self, name, kind, data):
        self.places[name] = (kind, data if isinstance(data, bytes) else str(data).encode())

    def control(self, name, place, data=None):
        """`place` must hold canary `name` (given `data`, a place of its own that is never searched for leaks)."""
        if data is not None:
            self.place(place, "control", data)
        self.controls.append((name, place))

    def path(self, name):
        self.context.log(f"hygiene: {name}")
        self.paths.append(name)

    # -- requests

    def call(self, label, method, path, token=None, body=None, headers=None, expect=(200, 201, 202, 204)):
        """A request to the appliance. An error answer's body becomes a place; a status outside `expect` a problem."""
        status, answer_headers, data = self.app.request(method, path, token, body, headers)
        if status is None or status >= 400:
            self.place(f"error body: {label} ({status})", "error body", data)
        if status not in expect:
            self.problems.append(f"{label}: {method} {path} answered {status}, expected {'/'.join(map(str, expect))}: "
                                 f"{data.decode(errors='replace')[:300]}")
        return status, answer_headers, data

    def json(self, label, method, path, token, body=None):
        """The JSON answer of a request that must succeed."""
        status, _, data = self.call(label, method, path, token, body)
        if status is None or status >= 300:
            raise harness.HarnessError(f"{label}: {method} {path} answered {status}: {data.decode(errors='replace')[:300]}")
        return json.loads(data or b"null")

    def read(self, label, path, token):
        """An API read whose answer may hold no secret: a place."""
        status, _, data = self.call(label, "GET", path, token)
        self.place(f"API read: {label}", "API read", data)
        return json.loads(data) if status == 200 else None

    def cli(self, label, arguments, token, stdin=None, search=True, succeed=True):
        """An `agentbox` command (a client of the appliance, unless given --data-dir); its output is a place unless
        the secret is its point. `succeed`: whether it must exit 0 (True), must not (False), or either (None)."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AGENTBOX_")}
        environment.update(HOME=os.path.join(self.folder, "home"), AGENTBOX_SERVER=self.app.base, AGENTBOX_TOKEN=token)
        result = subprocess.run([self.context.agentbox, *arguments], input=stdin, capture_output=True, text=True,
                                env=environment, cwd=self.folder, timeout=60)
        output = result.stdout + result.stderr
        self.place(f"CLI: {label}", "CLI output" if search else "control", output)
        if succeed is True and result.returncode != 0:
            raise harness.HarnessError(f"agentbox {' '.join(arguments)} failed ({result.returncode}): {output[-500:]}")
        if succeed is False and result.returncode == 0:
            self.problems.append(f"CLI {label}: agentbox {' '.join(arguments)} succeeded but must fail")
        return output

    # -- the paths

    def digitalocean_key(self, user_token):
        """The DigitalOcean key through the REST route (a wrong one first), forgotten, then set again with the CLI."""
        self.path("DigitalOcean key: REST, wrong key, forget, CLI")
        wrong = self.canary("do-key-wrong")
        self.call("DigitalOcean key refused by the API", "PUT", f"{V1}/admin/digitalocean/token", self.app.admin_token,
                  {"token": wrong}, expect=(400, 401, 422))
        self.call("DigitalOcean key set by a plain user", "PUT", f"{V1}/admin/digitalocean/token", user_token,
                  {"token": wrong}, expect=(403,))
        self.json("DigitalOcean key", "PUT", f"{V1}/admin/digitalocean/token", self.app.admin_token, {"token": self.do_key})
        self.read("DigitalOcean status", f"{V1}/admin/digitalocean", self.app.admin_token)
        self.call("DigitalOcean key forgotten", "DELETE", f"{V1}/admin/digitalocean/token", self.app.admin_token)
        self.cli("digitalocean set-token (wrong key)", ["digitalocean", "set-token"], self.app.admin_token, stdin=wrong, succeed=False)
        self.cli("digitalocean set-token", ["digitalocean", "set-token"], self.app.admin_token, stdin=self.do_key)
        self.cli("digitalocean status", ["digitalocean", "status"], self.app.admin_token)

    def droplet(self, user_token):
        """A DigitalOcean toolbox: its user-data goes to the stand-in. With booting droplets, its DTMA enrolls (a
        toolbox token), runs the contract tool and takes a call with a remote credential; then it is deprovisioned."""
        self.path("DigitalOcean toolbox" + (" booted: enrollment, toolbox token, remote call" if self.boot else ""))
        toolbox = self.json("DigitalOcean toolbox", "POST", f"{V1}/toolboxes", user_token,
                            {"name": "hygiene-cloud", "provider": "digitalocean", "region": "nyc3", "size": "s-1vcpu-1gb"})["id"]
        self.toolboxes.append(toolbox)
        harness.wait_until(polled(lambda: any(d.get("user_data") for d in self.sim.state()["droplets"])), 30,
                           "the stand-in got no droplet with user-data within 30 s")
        self.stand_in()  # the user-data as sent: a deprovisioned droplet leaves the stand-in's state
        for droplet in self.sim.state()["droplets"]:
            match = TOKEN_PATTERN.search((droplet.get("user_data") or "").encode())
            if match and match.group().startswith(b"abx_e_"):
                self.token(f"enrollment token of droplet {droplet['id']}", match.group().decode(), allowed={"user-data"})
                self.control(f"enrollment token of droplet {droplet['id']}", f"user-data of droplet {droplet['id']}")
        if not self.boot:
            return
        self.until_status(toolbox, user_token, "active", 60)
        for state in self.droplet_folders():
            with open(os.path.join(state, "state", "toolbox-token")) as f:
                self.token(f"toolbox token of {os.path.basename(state)}", f.read().strip())
        secret = self.canary("credential-remote")
        try:
            world = harness.tool_world(self.app, user_token, "remote", secret, catalog_token=self.app.admin_token, toolbox=toolbox, wait_seconds=60)
        except harness.HarnessError as error:  # a fault of its own: the other paths and the searches still run
            self.problems.append(f"the contract tool on the DigitalOcean toolbox: {error}: {self.instances(toolbox, user_token)}")
            world = None
        if world:
            self.token("agent token (remote)", world["agent_token"])
            _, _, data = self.call("remote tool call", "POST", f"{V1}/toolbelt/{world['item']}/execute", world["agent_token"],
                                   {"capability": "echo", "input": {"note": "remote"}})
            self.control("credential-remote", "tool answer: remote tool call", data)
            self.call("remote tool call, tool fails", "POST", f"{V1}/toolbelt/{world['item']}/execute", world["agent_token"],
                      {"capability": "echo", "input": {"mode": "fail"}}, expect=(500, 502))
        self.inspect_containers()
        self.only_the_droplet_runs(toolbox, user_token)
        self.call("deprovision the DigitalOcean toolbox", "DELETE", f"{V1}/toolboxes/{toolbox}?cascade=true", user_token)
        try:
            self.until_status(toolbox, user_token, "archived", 60)
        except harness.HarnessError as error:  # likewise
            self.problems.append(f"deprovisioning the DigitalOcean toolbox (cascade): {error}")

    def only_the_droplet_runs(self, toolbox, token):
        """With the droplet's DTMA gone, an instance deployed to its toolbox must not run anywhere: in particular not
        on the appliance's own engine (which the stand-in's droplets share), credentials and registry logins with it."""
        for droplet in self.sim.state()["droplets"]:
            if (droplet.get("dtma") or {}).get("running"):
                os.kill(droplet["dtma"]["pid"], signal.SIGKILL)  # the stand-in restarts it only after 600 s
        tool = next(t for t in self.app.api(token, "GET", f"{V1}/catalog?limit=100")["items"] if t["name"] == "drill-contract")
        instance = self.json("instance on the droplet without its DTMA", "POST", f"{V1}/toolboxes/{toolbox}/instances", token,
                             {"tool_id": tool["id"], "name": "unattended"})["id"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=agentbox.instance={instance}"], capture_output=True, text=True).stdout.split()
            if found:
                status = self.app.api(token, "GET", f"{V1}/instances/{instance}")["status"]
                self.problems.append(f"an instance deployed to a DigitalOcean toolbox whose droplet's DTMA is gone runs on the appliance's own "
                                     f"Docker engine (container {found[0][:12]}, instance {status}): the local toolbox runner served a remote toolbox")
                return
            time.sleep(0.25)

    def until_status(self, toolbox, token, status, seconds):
        """Waits for the toolbox to reach `status`; the error says where it and its instances stayed."""
        last = {}

        def reached():
            last.update(self.app.api(token, "GET", f"{V1}/toolboxes/{toolbox}"))
            return last["status"] == status
        try:
            harness.wait_until(polled(reached), seconds, f"the DigitalOcean toolbox did not turn {status} within {seconds} s")
        except harness.HarnessError as error:
            raise harness.HarnessError(f"{error}: it is {last.get('status')} ({last.get('status_detail')}); "
                                       f"its instances: {self.instances(toolbox, token)}") from error

    def instances(self, toolbox, token):
        """The toolbox's instances as `name: status (detail)`, for error messages."""
        items = self.app.api(token, "GET", f"{V1}/toolboxes/{toolbox}/instances")["items"]
        return "; ".join(f"{i['name']}: {i['status']} ({i.get('status_detail')})" for i in items) or "none"

    def droplet_folders(self):
        """The folders where the stand-in booted droplets (their DTMA's files)."""
        root = os.path.join(self.folder, "droplets")
        return [os.path.join(root, name) for name in sorted(os.listdir(root))] if os.path.isdir(root) else []

    def local_tool(self, user_token):
        """The contract tool on a local toolbox: credentials stored, replaced and refreshed by the tool; tool calls
        over REST and MCP, including a failing tool and a denied capability."""
        self.path("credential via REST, replaced, refreshed by the tool; REST and MCP tool calls")
        world = harness.tool_world(self.app, user_token, "hyg", self.canary("credential-rest"), catalog_token=self.app.admin_token)
        self.toolboxes.append(world["toolbox"])
        self.token("refreshed by the tool", REFRESHED_BY_THE_TOOL)
        agent_token = self.token("agent token", world["agent_token"])
        item = world["item"]
        execute = f"{V1}/toolbelt/{item}/execute"
        _, _, data = self.call("tool call", "POST", execute, agent_token, {"capability": "echo", "input": {"note": "one"}})
        self.control("credential-rest", "tool answer: tool call", data)
        self.call("tool call, tool fails", "POST", execute, agent_token, {"capability": "echo", "input": {"mode": "fail"}}, expect=(500, 502))
        self.json("replacing credential", "POST", f"{V1}/toolbelt/{item}/credentials", user_token,
                  {"credential_type": "api_key", "account_identifier": "hygiene@example.com",
                   "credentials": {"api_key": self.canary("credential-replaced")}})
        _, _, data = self.call("tool call, tool refreshes the credential", "POST", execute, agent_token, {"capability": "echo", "input": {"mode": "refresh"}})
        self.control("credential-replaced", "tool answer: refreshing call", data)
        _, _, data = self.call("tool call with the refreshed credential", "POST", execute, agent_token, {"capability": "echo"})
        self.control("refreshed by the tool", "tool answer: call after the refresh", data)
        self.mcp(agent_token)
        self.call("tool call, tool rejects the credential", "POST", execute, agent_token, {"capability": "echo", "input": {"mode": "reject"}})
        return world

    def mcp(self, agent_token):
        """An MCP session: tools/call of an allowed capability (the credential travels) and of a denied one."""
        start = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "hygiene", "version": "1"}}}
        _, headers, _ = self.call("MCP initialize", "POST", "/mcp", agent_token, start, MCP_HEADERS)
        session = {k.lower(): v for k, v in headers.items()}.get("mcp-session-id")
        if not session:
            raise harness.HarnessError("MCP initialize answered no Mcp-Session-Id")
        in_session = dict(MCP_HEADERS, **{"Mcp-Session-Id": session})
        self.call("MCP initialized", "POST", "/mcp", agent_token, {"jsonrpc": "2.0", "method": "notifications/initialized"}, in_session)
        _, _, data = self.call("MCP tools/call echo", "POST", "/mcp", agent_token, {
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "hyg.echo", "arguments": {"note": "mcp"}}}, in_session)
        self.control("refreshed by the tool", "tool answer: MCP tools/call echo", json.dumps((mcp_answer(data) or {}).get("result")))
        _, _, data = self.call("MCP tools/call denied", "POST", "/mcp", agent_token, {
            "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "hyg.send", "arguments": {"api_key": self.canary("mcp-argument")}}},
            in_session)
        self.place("error body: MCP tools/call denied", "error body", data)
        self.call("MCP bad JSON", "POST", "/mcp", agent_token, b'{"jsonrpc": "2.0", "id": 4, "params": {"api_key": "' +
                  self.canary("mcp-bad-json").encode() + b'"', in_session, expect=(400,))
        self.call("MCP with a wrong token", "POST", "/mcp", self.canary("mcp-wrong-token"), start, MCP_HEADERS, expect=(401,))

    def console_paths(self, user_token, world):
        """The console: a wrong sign-in, a user's sign-in, credentials in the form (malformed, then stored), an
        agent token issued there; then its pages."""
        self.path("console: sign-in, credential form, agent token")
        _, headers, page = self.console.send("GET", "/console/sign-in")
        pre = Console.cookie(headers, "agentbox_console_pre")
        form = {"csrf": Console.csrf(page), "token": self.canary("console-wrong-token")}
        status, _, page = self.console.send("POST", "/console/sign-in", {"agentbox_console_pre": pre}, form)
        self.place(f"error body: console sign-in with a wrong token ({status})", "error body", page)
        if status != 401:
            self.problems.append(f"console sign-in with a wrong token answered {status}, expected 401")
        status, headers, _ = self.console.send("POST", "/console/sign-in", {"agentbox_console_pre": pre}, dict(form, token=user_token))
        session = {"agentbox_console": Console.cookie(headers, "agentbox_console")}
        if status not in (302, 303) or not session["agentbox_console"]:
            raise harness.HarnessError(f"console sign-in with a user token answered {status} and no session cookie")
        item_page = f"/console/toolbelt/{world['item']}"
        _, _, page = self.console.send("GET", item_page, session)
        csrf = Console.csrf(page)
        malformed = '{"api_key": "' + self.canary("console-malformed-secret")
        status, _, page = self.console.send("POST", f"{item_page}/credentials", session,
                                            {"csrf": csrf, "credential_type": "api_key", "secret_json": malformed})
        self.place(f"error body: console credential form with malformed JSON ({status})", "error body", page)
        status, _, page = self.console.send("POST", f"{item_page}/credentials", session,
                                            {"csrf": csrf, "credential_type": "api_key", "secret_json": json.dumps({"other": self.canary("console-invalid-secret")})})
        self.place(f"error body: console credential form not matching the schema ({status})", "error body", page)
        status, _, page = self.console.send("POST", f"{item_page}/credentials", session, {
            "csrf": csrf, "credential_type": "api_key", "secret_json": json.dumps({"api_key": self.canary("credential-console")})})
        if status not in (302, 303):
            raise harness.HarnessError(f"storing a credential with the console answered {status}: {page[:300]!r}")
        status, _, page = self.console.send("POST", f"/console/agents/{world['agent']}/tokens", session, {"csrf": csrf})
        match = TOKEN_PATTERN.search(page)
        if status != 200 or not match:
            raise harness.HarnessError(f"issuing an agent token with the console answered {status} and showed no token")
        self.token("agent token (console)", match.group().decode())
        _, _, data = self.call("tool call after the console's credential", "POST", f"{V1}/toolbelt/{world['item']}/execute",
                               world["agent_token"], {"capability": "echo"})
        self.control("credential-console", "tool answer: call after the console's credential", data)
        status, _, page = self.console.send("GET", "/console/dashboard", {"agentbox_console": self.canary("console-wrong-cookie")})
        self.place(f"console: dashboard with a wrong session cookie ({status})", "console page", page)
        for path in (item_page, f"/console/agents/{world['agent']}", "/console/dashboard", "/console/toolboxes", "/console/audit"):
            _, _, page = self.console.send("GET", path, session)
            self.place(f"console: {path}", "console page", page)

    def registries(self, user_token, toolbox):
        """Registry logins: the private test registry's real password (its image then deployed, at full size), a
        canary password through REST and the CLI, and refused logins."""
        self.path("registry logins: REST, CLI, private image pulled")
        settings = subprocess.run([harness.TEST_SERVICES, "env"], capture_output=True, text=True, check=True).stdout
        password_path = re.search(r"AGENTBOX_TEST_REGISTRY_PASSWORD_FILE=(\S+)", settings).group(1)
        with open(password_path) as f:
            password = self.token("private registry password", f.read().strip())
        self.json("private registry login", "POST", f"{V1}/registries", self.app.admin_token,
                  {"registry": "127.0.0.1:5001", "username": "agentbox", "password": password})
        self.json("canary registry login", "POST", f"{V1}/registries", self.app.admin_token,
                  {"registry": "127.0.0.1:5009", "username": "hygiene", "password": self.canary("registry-password")})
        self.call("registry login with a bad name", "POST", f"{V1}/registries", self.app.admin_token,
                  {"registry": "not a registry!", "username": "hygiene", "password": self.canary("registry-password-refused")}, expect=(400, 422))
        self.call("registry login by a plain user", "POST", f"{V1}/registries", user_token,
                  {"registry": "127.0.0.1:5007", "username": "hygiene", "password": self.canary("registry-password-forbidden")}, expect=(403,))
        self.cli("registry login", ["registry", "login", "127.0.0.1:5008", "--username", "hygiene"], self.app.admin_token,
                 stdin=self.canary("registry-password-cli"))
        self.cli("registry list", ["registry", "list"], self.app.admin_token)
        self.read("registries", f"{V1}/registries", self.app.admin_token)
        if self.context.quick:
            return
        tool = self.json("private tool", "POST", f"{V1}/catalog", self.app.admin_token, {
            "name": "hygiene-private", "docker_image_url": PRIVATE_IMAGE, "version": "1", "container_port": 8080,
            "required_capabilities_schema": {"get": "Serve a file"}, "required_secrets_schema": {"type": "object"}})
        instance = self.json("private tool's instance", "POST", f"{V1}/toolboxes/{toolbox}/instances", user_token,
                             {"tool_id": tool["id"], "name": "private"})["id"]
        harness.wait_until(polled(lambda: self.app.api(user_token, "GET", f"{V1}/instances/{instance}")["status"] == "running"), 90,
                           "the private registry's image did not run within 90 s")

    def tokens(self, user_token, world):
        """User and agent tokens issued, rotated and revoked through REST and the CLI."""
        self.path("tokens: issue, rotate, revoke (REST and CLI)")
        issued = self.json("user token", "POST", f"{V1}/tokens", user_token, {"name": "hygiene"})
        self.token("user token (issued)", issued["token"])
        rotated = self.json("user token rotated", "POST", f"{V1}/tokens/{issued['info']['id']}/rotate", issued["token"], {"overlap_seconds": 0})
        self.token("user token (rotated)", rotated["token"])
        self.call("rotated user token revoked", "DELETE", f"{V1}/tokens/{rotated['info']['id']}", user_token)
        agent = self.json("agent token", "POST", f"{V1}/agents/{world['agent']}/tokens", user_token, {"name": "second"})
        self.token("agent token (issued)", agent["token"])
        self.call("agent token revoked", "DELETE", f"{V1}/tokens/{agent['info']['id']}", user_token)
        self.call("revoked agent token used", "POST", f"{V1}/toolbelt/{world['item']}/execute", agent["token"], {"capability": "echo"}, expect=(401,))
        output = self.cli("token create (prints the token)", ["token", "create", "--name", "cli", "--json"], user_token, search=False)
        cli_token = json.loads(output)
        self.token("user token (CLI)", cli_token["token"])
        output = self.cli("token rotate (prints the token)", ["token", "rotate", cli_token["info"]["id"], "--overlap", "0", "--json"], user_token, search=False)
        self.token("user token (CLI rotated)", json.loads(output)["token"])
        output = self.cli("agent token (prints the token)", ["agent", "token", world["agent"], "--name", "cli", "--json"], user_token, search=False)
        self.token("agent token (CLI)", json.loads(output)["token"])
        self.cli("token list", ["token", "list"], user_token)
        self.read("tokens", f"{V1}/tokens?limit=200", user_token)

    def cli_credentials(self, user_token, world):
        """Credentials through the CLI: from a file, and a malformed file."""
        self.path("credential via CLI")
        good = os.path.join(self.folder, "credential.json")
        bad = os.path.join(self.folder, "malformed.json")
        with open(good, "w") as f:
            json.dump({"api_key": self.canary("credential-cli")}, f)
        with open(bad, "w") as f:
            f.write('{"api_key": "' + self.canary("credential-cli-malformed"))
        self.cli("credential add", ["credential", "add", world["item"], "--type", "api_key", "--file", good], user_token)
        self.cli("credential add (malformed file)", ["credential", "add", world["item"], "--type", "api_key", "--file", bad], user_token, succeed=False)
        self.cli("credential add (from standard input)", ["credential", "add", world["item"], "--type", "api_key", "--file", "-"], user_token,
                 stdin=json.dumps({"api_key": self.canary("credential-cli-stdin")}))
        self.cli("credential list", ["credential", "list", world["item"]], user_token)
        self.cli("me with a wrong token", ["me"], self.canary("cli-wrong-token"), succeed=False)
        self.cli("toolbelt execute (answers the tool's echo)", ["toolbelt", "execute", world["item"], "echo"], world["agent_token"], search=False)
        self.control("credential-cli-stdin", "CLI: toolbelt execute (answers the tool's echo)")

    def refused_requests(self, user_token, world):
        """Wrong secrets in headers, query strings and bodies: refused, and never echoed."""
        self.path("refused requests: headers, query strings, bodies")
        wrong = self.canary("wrong-bearer")
        self.call("wrong bearer token", "GET", f"{V1}/me", wrong, expect=(401,))
        self.call("wrong token of the wrong length", "GET", f"{V1}/me", "abx_u_" + self.canary("long-token"), expect=(401,))
        shaped = self.token("wrong token of the right shape", "abx_u_" + ("canaryshaped" + os.urandom(20).hex())[:49])
        self.call("wrong token of the right shape", "GET", f"{V1}/me", shaped, expect=(401,))
        basic = base64.b64encode(f"ada:{self.canary('basic-password')}".encode()).decode()
        self.call("basic authentication", "GET", f"{V1}/me", headers={"Authorization": f"Basic {basic}"}, expect=(401,))
        self.call("token in a query string, no header", "GET", f"{V1}/me?access_token={self.canary('query-token')}", expect=(401,))
        self.call("secret in a query string", "GET", f"{V1}/agents?api_key={self.canary('query-secret')}", user_token, expect=(200, 400))
        self.call("malformed JSON body", "POST", f"{V1}/toolbelt/{world['item']}/credentials", user_token,
                  b'{"credential_type": "api_key", "credentials": {"api_key": "' + self.canary("malformed-body").encode(), expect=(400,))
        self.call("credentials not an object", "POST", f"{V1}/toolbelt/{world['item']}/credentials", user_token,
                  {"credential_type": "api_key", "credentials": self.canary("credentials-string")}, expect=(400, 422))
        self.call("credentials not matching the schema", "POST", f"{V1}/toolbelt/{world['item']}/credentials", user_token,
                  {"credential_type": "api_key", "credentials": {"apikey": self.canary("credentials-schema")}}, expect=(400, 422))
        self.call("credentials with a bad type", "POST", f"{V1}/toolbelt/{world['item']}/credentials", user_token,
                  {"credential_type": "API KEY!", "credentials": {"api_key": self.canary("credentials-bad-type")}}, expect=(400, 422))
        self.call("credentials stored by the agent", "POST", f"{V1}/toolbelt/{world['item']}/credentials", world["agent_token"],
                  {"credential_type": "api_key", "credentials": {"api_key": self.canary("credentials-by-agent")}}, expect=(403,))
        self.call("credentials on a missing item", "POST", f"{V1}/toolbelt/00000000-0000-4000-8000-000000000000/credentials", user_token,
                  {"credential_type": "api_key", "credentials": {"api_key": self.canary("credentials-missing-item")}}, expect=(404,))
        self.call("hand-out with a wrong toolbox token and ticket", "POST", f"{V1}/dtma/credentials", "abx_t_" + self.canary("toolbox-token-wrong"),
                  {"ticket": self.canary("ticket-wrong")}, expect=(401,))
        self.call("hand-out with an agent token", "POST", f"{V1}/dtma/credentials", world["agent_token"],
                  {"ticket": self.canary("ticket-by-agent")}, expect=(401, 403))
        self.call("enrollment with a wrong token", "POST", f"{V1}/dtma/enroll", "abx_e_" + self.canary("enrollment-wrong"), {}, expect=(401,))
        self.call("rotate with a secret in the body", "POST", f"{V1}/tokens/00000000-0000-4000-8000-000000000000/rotate", user_token,
                  {"overlap_seconds": self.canary("rotate-body")}, expect=(400, 404, 422))

    def maintenance(self, user_token, world):
        """Vault rotation (every sealed value sealed again), a backup, reads of what was stored, /metrics."""
        self.path("vault rotation, backup, reads, metrics")
        self.json("vault rotation", "POST", f"{V1}/admin/vault/rotate", self.app.admin_token, {})
        backup = os.path.join(self.folder, "backup.sqlite")
        self.cli("backup", ["backup", backup, "--data-dir", self.app.data, "--log-level", "debug"], self.app.admin_token)
        with open(backup, "rb") as f:
            self.place("backup file", "backup", f.read())
        self.read("credentials of the item", f"{V1}/toolbelt/{world['item']}/credentials?limit=200", user_token)
        self.read("toolbelt item", f"{V1}/toolbelt/{world['item']}", user_token)
        self.read("agent", f"{V1}/agents/{world['agent']}", user_token)
        self.read("toolboxes", f"{V1}/toolboxes?limit=200", user_token)
        self.read("instance", f"{V1}/instances/{world['instance']}", user_token)
        self.read("instance events", f"{V1}/instances/{world['instance']}/events", user_token)
        offset = 0
        while True:
            page = self.read(f"audit from {offset}", f"{V1}/audit?limit=200&offset={offset}", self.app.admin_token)
            if not page or not page["items"] or offset > 10000:
                break
            offset += len(page["items"])
        self.cli("audit list", ["audit", "list"], self.app.admin_token)
        self.cli("login (token from standard input)", ["login", "--token", "-"], user_token, stdin=user_token)
        self.cli("me", ["me"], user_token)
        for path in ("/api/v1/openapi.json", "/readyz", "/healthz"):
            self.read(path, path, None)
        status, _, data = self.app.request("GET", "/metrics")
        self.place("metrics", "metrics", data)
        if status != 200:
            self.problems.append(f"GET /metrics answered {status}")

    def offline(self):
        """The commands that open the data directory themselves, at debug level, once the server stopped."""
        self.path("offline commands: audit verify, vault status and verify, db check, doctor")
        flags = ["--data-dir", self.app.data, "--log-level", "debug"]
        for command in (["audit", "verify"], ["vault", "status"], ["vault", "verify"], ["db", "check"]):
            self.cli(" ".join(command), command + flags, self.app.admin_token)
        self.cli("doctor", ["doctor", *flags, "--digitalocean-api", self.sim.base], self.app.admin_token, succeed=None)

    # -- gathering the places

    def inspect_containers(self):
        """`docker inspect` of every container of the engine, each a place (the latest view of it wins)."""
        ids = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True).stdout.split()
        if not ids:
            return
        result = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
        for container in json.loads(result.stdout or "[]"):
            self.place(f"docker inspect {container['Name'].lstrip('/')}", "docker inspect", json.dumps(container, indent=1))

    def data_directory(self, when):
        """Every file of the data directory, raw bytes (database, WAL, key file, lock), each a place."""
        for folder, _, files in os.walk(self.app.data):
            for name in files:
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as f:
                        self.place(f"data directory ({when}): {os.path.relpath(path, self.app.data)}", "data directory", f.read())
                except OSError:
                    pass  # a file SQLite removed meanwhile (the -shm or -wal at close)

    def stand_in(self):
        """The droplets' user-data, the stand-in's request log (its error output and its state's list) and, for
        booted droplets, their DTMA's log and settings."""
        state = self.sim.state()
        for droplet in state["droplets"]:
            self.place(f"user-data of droplet {droplet['id']}", "user-data", droplet.get("user_data") or "")
        self.place("stand-in state's request list", "stand-in log", json.dumps(state["requests"]))
        for folder in self.droplet_folders():
            for name in ("dtma.log", "agent.conf"):
                path = os.path.join(folder, name)
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        self.place(f"droplet file {os.path.basename(folder)}/{name}", "droplet file", f.read())

    # -- the search

    def search(self):
        """Every canary in every place it may not be, and every control: (cases, hits, controls missed), as problem lines."""
        cases = 0
        hits = []
        forms = {name: encodings(value) for name, (value, _) in self.canaries.items()}
        known = {value.encode() for value, _ in self.canaries.values()}
        for place, (kind, data) in sorted(self.places.items()):
            if kind == "control":
                continue
            lowered = data.lower()
            for name, (value, allowed) in sorted(self.canaries.items()):
                if kind in allowed:
                    continue
                cases += 1
                for form, needle in forms[name].items():
                    at = (lowered if form == "hex" else data).find(needle)
                    if at >= 0:
                        around = data[max(0, at - 80):at + len(needle) + 80].replace(needle, f"<{name}>".encode())
                        for other, (secret, _) in self.canaries.items():
                            around = around.replace(secret.encode(), f"<{other}>".encode())
                        hits.append(f"{name} ({form}) in {place}: ...{around.decode(errors='replace')}...")
                        break
            cases += 1  # any agentbox token not followed as a canary
            for match in set(TOKEN_PATTERN.findall(data)):
                if match not in known and not (kind == "user-data" and match.startswith(b"abx_e_")):
                    hits.append(f"an unfollowed agentbox token {match[:10].decode()}... in {place}")
        misses = []
        for name, place in self.controls:
            cases += 1
            data = self.places.get(place, (None, b""))[1]
            if not any(needle in data for needle in forms[name].values()):
                misses.append(f"control: {name} is not in {place}, where the path must have carried it (the path or the search is broken)")
        return cases, hits, misses


def drill(context):
    folder = tempfile.mkdtemp(prefix="agentbox-hygiene-")
    world = None
    try:
        world = Hygiene(context, folder)
        app = world.app
        with harness.docker_lock():
            app.start()
            _, user_token = app.user("ada")
            world.token("user token", user_token)
            world.digitalocean_key(user_token)
            world.droplet(user_token)
            local = world.local_tool(user_token)
            world.console_paths(user_token, local)
            world.tokens(user_token, local)
            world.cli_credentials(user_token, local)
            world.refused_requests(user_token, local)
            world.registries(user_token, local["toolbox"])
            world.maintenance(user_token, local)
            world.inspect_containers()
            world.data_directory("serving")
            app.stop()
            world.offline()
            world.data_directory("stopped")
            with open(app.log_path, "rb") as f:
                world.place("serve log (debug)", "serve log", f.read())
            world.stand_in()
            world.sim.stop()
            with open(world.sim.log_path, "rb") as f:
                world.place("stand-in request log", "stand-in log", f.read())
        cases, hits, misses = world.search()
        problems = hits + misses + world.problems
        kinds = sorted({kind for kind, _ in world.places.values()} - {"control"})
        searched = sum(1 for kind, _ in world.places.values() if kind != "control")
        return {"cases": cases, "failures": len(problems),
                "figures": f"{len(world.canaries)} canaries x {searched} places ({len(kinds)} kinds) in 4 encodings, "
                           f"{len(world.paths)} paths: {len(hits)} hits, {len(misses)}/{len(world.controls)} controls missed, "
                           f"{len(world.problems)} other faults",
                "problems": problems}
    finally:
        if world:
            world.app.stop()
            world.sim.stop()
            with harness.docker_lock():
                for toolbox in world.toolboxes:
                    harness.remove_containers(toolbox)
        shutil.rmtree(folder, ignore_errors=True)
