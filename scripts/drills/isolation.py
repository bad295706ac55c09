"""Isolation drill: two users with two agents each (a local toolbox with a running contract tool per agent, toolbelt
items, permissions, sealed credentials, toolbox access, tokens of their own) and a DigitalOcean toolbox each (on the
project's stand-in, enrolled for its toolbox token). Each user's principals (user tokens, agent tokens, toolbox
token) then try every REST route and verb of the OpenAPI document with the other owner's ids, every console page and
form, /mcp, and a live call relayed to the other owner's droplet; agent and toolbox tokens also try their own user's
routes. A leak is a success, an answer showing the other owner's ids, names or secrets, an answer that tells the other
owner's id from a missing one, or any change to the other owner's objects (read back afterwards, and used: tokens,
tool calls)."""
import base64
import http.client
import itertools
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
import uuid

import harness

V1 = "/api/v1"
VERBS = ("get", "post", "put", "patch", "delete")
REFUSED = (403, 404)
# Kinds of ids that no user owns: the shared catalog, a relayed call (a missing one here; relay_drill tries real ones),
# a registry, a capability.
SHARED = ("catalog", "calls", "registry", "capability")
# Ids a body carries, by route: the field and its kind.
BODY_SLOTS = {("POST", f"{V1}/agents/{{id}}/toolboxes"): ("toolbox_id", "toolboxes"),
              ("POST", f"{V1}/agents/{{id}}/toolbelt"): ("instance_id", "instances")}
# Answers that change with time or use, left out when comparing an owner's objects before and after.
VOLATILE = {"last_used_at", "last_heartbeat_at", "status_detail", "updated_at", "reachability"}


def admin_only(method, path):
    """Routes only an admin may call (every other caller gets 403)."""
    return (path.startswith((f"{V1}/admin/", f"{V1}/registries")) or (path.startswith(f"{V1}/catalog") and method != "GET")
            or (path == f"{V1}/users") or (path.startswith(f"{V1}/users/") and method != "GET"))


class Side:
    """One user's world: its ids by kind, its principals, what only it may see (marks), and its object snapshots."""

    def __init__(self, app, sim, label, agents, catalog_token):
        self.app = app
        self.label = label
        self.name = f"iso-{label}-{secrets.token_hex(3)}"
        self.user_id, self.token = app.user(self.name)
        second = app.api(self.token, "POST", f"{V1}/tokens", {"name": f"{self.name}-second"})
        self.sent = set()
        self.agents = []
        for number in range(1, agents + 1):
            secret = f"{self.name}-secret-{number}-{secrets.token_hex(8)}"
            world = harness.tool_world(app, self.token, f"{self.name}-{number}", secret, catalog_token,
                                       toolbox=self.agents[0]["toolbox"] if self.agents else None)
            world.update(secret=secret, instance_name=f"{self.name}-{number}", agent_name=f"{self.name}-{number}-agent",
                         tools=[f"{self.name}-{number}.echo"], items=[world["item"]])
            world["credential"] = app.api(self.token, "GET", f"{V1}/toolbelt/{world['item']}/credentials")["items"][0]["id"]
            self.agents.append(world)
        self.tool = self.agents[0]["tool"]
        self.do_toolbox, self.toolbox_token = self.droplet_toolbox(sim)
        self.add_remote_tool()
        token_ids = [t["id"] for t in app.api(self.token, "GET", f"{V1}/tokens?limit=100")["items"]]
        worlds = self.agents + [self.remote]
        self.ids = {
            "users": [self.user_id], "agents": [a["agent"] for a in self.agents],
            "toolboxes": [self.agents[0]["toolbox"], self.do_toolbox], "instances": [w["instance"] for w in worlds],
            "toolbelt": [w["item"] for w in worlds], "credentials": [w["credential"] for w in worlds], "tokens": token_ids,
        }
        self.principals = ([{"label": f"{label}/user", "kind": "user", "token": self.token, "side": self},
                            {"label": f"{label}/user-2", "kind": "user", "token": second["token"], "side": self}]
                           + [{"label": f"{label}/agent-{n}", "kind": "agent", "token": a["agent_token"], "agent": a,
                               "side": self} for n, a in enumerate(self.agents, 1)]
                           + [{"label": f"{label}/toolbox", "kind": "toolbox", "token": self.toolbox_token, "side": self}])
        names = [self.name, f"{self.name}-box", f"{self.name}-cloud", f"{self.name}-second", self.remote["instance_name"]] + [
            v for a in self.agents for v in (a["instance_name"], a["agent_name"])]
        secret_values = [w["secret"] for w in worlds] + [p["token"] for p in self.principals]
        self.marks = {mark.lower() for mark in names + secret_values + [i for kind in self.ids.values() for i in kind]}
        self.readback = (
            [f"{V1}/users/{self.user_id}"] + [f"{V1}/{kind}?limit=100" for kind in ("tokens", "agents", "toolboxes")]
            + [f"{V1}/agents/{a['agent']}{part}" for a in self.agents for part in ("", "/toolboxes", "/toolbelt")]
            + [f"{V1}/instances/{w['instance']}" for w in worlds] + [f"{V1}/credentials/{w['credential']}" for w in worlds]
            + [f"{V1}/toolbelt/{w['item']}{part}" for w in worlds for part in ("", "/permissions", "/credentials")]
            + [f"{V1}/toolboxes/{t}{part}" for t in self.ids["toolboxes"] for part in ("", "/instances")])
        self.before = self.snapshot()

    def droplet_toolbox(self, sim):
        """A DigitalOcean toolbox on the stand-in, enrolled with the enrollment token of its droplet's user-data."""
        toolbox = self.app.api(self.token, "POST", f"{V1}/toolboxes", {"name": f"{self.name}-cloud", "provider": "digitalocean",
                                                                       "region": "nyc3", "size": "s-1vcpu-1gb"})["id"]
        tag = f"agentbox-toolbox-{toolbox}"
        harness.wait_until(lambda: "public_ip_address" in self.app.api(self.token, "GET", f"{V1}/toolboxes/{toolbox}"), 30,
                           f"toolbox {toolbox}'s droplet did not come up within 30 s")
        user_data = "".join(d.get("user_data", "") for d in sim.state().get("droplets", []) if tag in (d.get("tags") or []))
        enrollment = re.search(r"abx_e_[A-Za-z0-9_-]{49}", user_data)
        if not enrollment:
            raise harness.HarnessError(f"toolbox {toolbox}'s droplet has no enrollment token in its user-data")
        token = harness.api(self.app.base, enrollment.group(0), "POST", f"{V1}/dtma/enroll").get("token", "")
        if not token.startswith("abx_t_"):
            raise harness.HarnessError(f"enrolling toolbox {toolbox} gave no toolbox token")
        return toolbox, token

    def heartbeat(self, toolbox=None, extra=()):
        """A heartbeat as the droplet's DTMA sends it, naming `toolbox` (its own unless given): its remote instance
        running, plus the `extra` instance reports. (status, body)."""
        instances = [{"instance_id": self.remote["instance"], "state": "running", "host_port": 8080, "version": "1"}, *extra]
        body = {"toolbox_id": toolbox or self.do_toolbox, "agent_version": "0.1.0", "health": {"docker_reachable": True},
                "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "instances": instances}
        status, _, answer = self.app.request("POST", f"{V1}/dtma/heartbeat", self.toolbox_token, body)
        return status, answer

    def add_remote_tool(self):
        """A tool instance on the droplet toolbox, reported running by a heartbeat sent as its DTMA would, on the last
        agent's toolbelt with `echo` allowed and a credential of its own. No container: the drill answers its calls."""
        agent = self.agents[-1]
        name, secret = f"{self.name}-remote", f"{self.name}-remote-secret-{secrets.token_hex(8)}"
        self.remote = remote = {"instance": self.app.api(self.token, "POST", f"{V1}/toolboxes/{self.do_toolbox}/instances",
                                                         {"tool_id": self.tool, "name": name})["id"],
                                "instance_name": name, "secret": secret, "agent": agent}
        status, answer = self.heartbeat()
        if status != 200 or self.app.api(self.token, "GET", f"{V1}/instances/{remote['instance']}")["status"] != "running":
            raise harness.HarnessError(f"the droplet's heartbeat did not make its instance run: {status} {answer[:300]!r}")
        self.app.api(self.token, "POST", f"{V1}/agents/{agent['agent']}/toolboxes", {"toolbox_id": self.do_toolbox})
        remote["item"] = self.app.api(self.token, "POST", f"{V1}/agents/{agent['agent']}/toolbelt",
                                      {"instance_id": remote["instance"]})["id"]
        self.app.api(self.token, "PUT", f"{V1}/toolbelt/{remote['item']}/permissions/echo", {"is_allowed": True})
        remote["credential"] = self.app.api(self.token, "POST", f"{V1}/toolbelt/{remote['item']}/credentials",
                                            {"credential_type": "api_key", "credentials": {"api_key": secret}})["id"]
        agent["tools"].append(f"{name}.echo")
        agent["items"].append(remote["item"])

    def snapshot(self):
        """Every object of this user as the user reads it, without the fields that change with time."""
        def strip(value):
            if isinstance(value, dict):
                return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
            if isinstance(value, list):
                return [strip(v) for v in value]
            return value
        return {path: strip(self.app.api(self.token, "GET", path)) for path in self.readback}

    def check_intact(self, after_what, tally):
        """One case per object read back (unchanged since set-up), per token (still works) and per agent (its call still
        gets its own credentials)."""
        after = self.snapshot()
        for path, row in self.before.items():
            tally.case("state", None if after.get(path) == row else f"{self.label}'s {path} changed after {after_what}: "
                                                                    f"{json.dumps(row)[:300]} -> {json.dumps(after.get(path))[:300]}")
        for principal in self.principals:
            if principal["kind"] == "toolbox":
                status = self.heartbeat()[0]
            else:
                status = self.app.request("GET", f"{V1}/me", principal["token"])[0]
            tally.case("state", None if status == 200 else
                       f"{principal['label']}'s token no longer works after {after_what}: {status}")
        for agent in self.agents:
            status, _, body = self.app.request("POST", f"{V1}/toolbelt/{agent['item']}/execute", agent["agent_token"],
                                               {"capability": "echo", "input": {"note": "still works"}})
            tally.case("state", None if status == 200 and agent["secret"].encode() in body else
                       f"{self.label}'s agent {agent['agent']} cannot call its tool after {after_what}: {status} {body[:200]!r}")


class Tally:
    """Cases and problems, counted per surface."""

    def __init__(self):
        self.cases = {}
        self.problems = []

    def case(self, surface, problem=None):
        self.cases[surface] = self.cases.get(surface, 0) + 1
        if problem:
            self.problems.append(f"{surface}: {problem}")


def leaked_marks(body, victim, request_text, attacker=None):
    """The victim's ids, names and secrets that an answer shows, leaving out the ids the request carried and those
    the attacker sent before (its own audit records name the ids it tried)."""
    text = (body.decode(errors="replace") if isinstance(body, bytes) else body).lower()
    known, request_text = attacker.sent if attacker else set(), request_text.lower()
    return sorted(mark for mark in victim.marks if mark in text and mark not in request_text and mark not in known)


def error_code(body):
    """The `error.code` of an API error answer, or None."""
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def attack_body(slots, tool):
    """A body valid for every write route (so that no refusal is about the body), with the ids of the route's body
    slot; `tool` is the shared catalog entry."""
    body = {"name": "stolen", "description": "stolen", "is_active": False, "is_allowed": True, "status": "revoked",
            "credential_type": "api_key", "credentials": {"api_key": "stolen"}, "overlap_seconds": 0, "config": {},
            "expires_in_seconds": 60, "capability": "echo", "input": {"note": "stolen"}, "size": "s-2vcpu-2gb",
            "tool_id": tool, "docker_image_url": harness.CONTRACT_TOOL_IMAGE, "version": "2", "container_port": 8080,
            "required_capabilities_schema": {"echo": "stolen"}, "registry": "127.0.0.1:5001", "username": "stolen",
            "password": "stolen", "token": "stolen", "ticket": "abx_c_stolen", "role": "admin"}
    return {**body, **{slot: value for slot, value in slots.items() if not slot.startswith("{")}}


def parameters(path):
    """The kind of each path parameter: `{id}` takes the kind of the segment before it."""
    segments = path.split("/")
    kinds = []
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            name = segment[1:-1]
            kinds.append((segment, segments[index - 1] if name == "id" else "toolboxes" if name == "toolbox_id" else name))
    return kinds


def expected_refusal(method, path, kind):
    """The statuses a non-admin caller of `kind` (user, agent, toolbox) may get where it must be refused; None where
    the route is its own to use (a droplet's call-home routes, for a toolbox token)."""
    if admin_only(method, path):
        return (403,)
    if path in (f"{V1}/dtma/enroll", f"{V1}/agent/package"):
        return None if kind == "toolbox" and path == f"{V1}/agent/package" else (401, 403)
    if path.startswith(f"{V1}/dtma/"):
        return REFUSED if kind == "toolbox" and "{" in path else None if kind == "toolbox" else (403,)
    return REFUSED


class RestMatrix:
    """Every documented route and verb, with every principal of the attacker and every id of the victim."""

    def __init__(self, app, routes, shared, tally):
        self.app = app
        self.routes = routes
        self.shared = shared
        self.tally = tally
        self.controls = {}

    def shared_ids(self, kind):
        return {"catalog": [self.shared["tool"]], "calls": [str(uuid.uuid4())], "registry": ["127.0.0.1:5001"],
                "capability": ["send"]}.get(kind)

    def call(self, principal, method, path, slots):
        full = "/".join(slots.get(part, part) for part in path.split("/"))
        if method == "DELETE" and path == f"{V1}/toolboxes/{{id}}":
            full += "?cascade=true"
        body = attack_body(slots, self.shared["tool"]) if method in ("POST", "PUT", "PATCH") else None
        status, _, answer = self.app.request(method, full, principal["token"], body)
        return full, body, status, answer

    def refused(self, principal, method, path, slots, victim, control_slots, what):
        """One case that must be refused (403/404, or 403 where only admins or droplets may call), show none of the
        victim's marks, and answer exactly as it does with missing ids in the victim's places."""
        expected = expected_refusal(method, path, principal["kind"]) or REFUSED
        full, body, status, answer = self.call(principal, method, path, slots)
        request_text = full + json.dumps(body or {})
        leaked = leaked_marks(answer, victim, request_text, principal["side"]) if victim else []
        if victim:
            principal["side"].sent.update(mark for mark in victim.marks if mark in request_text.lower())
        problem = None
        if status not in expected:
            problem = f"{principal['label']} {method} {full} ({what}) answered {status}, not {expected}: {answer[:200]!r}"
        elif leaked:
            problem = f"{principal['label']} {method} {full} ({what}) showed {leaked}"
        elif control_slots:
            key = (principal["label"], method, path, tuple(sorted(control_slots)))
            if key not in self.controls:
                self.controls[key] = self.call(principal, method, path, {**slots, **control_slots})[2:]
            control_status, control_answer = self.controls[key]
            if (status, error_code(answer)) != (control_status, error_code(control_answer)):
                problem = (f"{principal['label']} {method} {full} ({what}) answered {status} {error_code(answer)}, but "
                           f"{control_status} {error_code(control_answer)} for a missing id: the other owner's id is told apart")
        self.tally.case("rest", problem)

    def slot_kinds(self, method, path):
        kinds = parameters(path)
        if (method, path) in BODY_SLOTS:
            kinds.append(BODY_SLOTS[(method, path)])
        return kinds

    def cross_owner(self, attacker, victim):
        """Every route taking ids, with at least one of the victim's, by each of the attacker's principals; routes whose
        ids no user owns (catalog, registries, calls) only where the caller must be refused anyway."""
        for method, path in self.routes:
            kinds = self.slot_kinds(method, path)
            if not kinds:
                continue
            owned = [(slot, kind) for slot, kind in kinds if kind not in SHARED]
            unknown = [kind for _, kind in kinds if kind not in victim.ids and kind not in SHARED]
            if unknown:
                self.tally.case("rest", f"{method} {path}: no ids of kind {unknown} (add them to the drill)")
                continue
            fixed = {slot: self.shared_ids(kind)[0] for slot, kind in kinds if kind in SHARED}
            choices = [[(slot, "own", attacker.ids[kind][0])] + [(slot, "victim", i) for i in victim.ids[kind]]
                       for slot, kind in owned]
            for principal in attacker.principals:
                if not owned:
                    if expected_refusal(method, path, principal["kind"]) != REFUSED or path.startswith(f"{V1}/dtma/"):
                        self.refused(principal, method, path, fixed, victim, None, "shared ids")
                    continue
                for combination in itertools.product(*choices):
                    if all(whose == "own" for _, whose, _ in combination):
                        continue
                    slots = {**fixed, **{slot: value for slot, _, value in combination}}
                    control = {slot: str(uuid.uuid4()) for slot, whose, _ in combination if whose == "victim"}
                    pattern = "+".join(whose for _, whose, _ in combination)
                    self.refused(principal, method, path, slots, victim, control, f"{pattern} ids")

    def same_owner(self, side):
        """Agent and toolbox tokens on the routes that manage their own user's objects: none is theirs to reach,
        except an agent calling its own toolbelt items."""
        for method, path in self.routes:
            kinds = self.slot_kinds(method, path)
            if path.startswith(f"{V1}/dtma/") or not any(kind not in SHARED for _, kind in kinds):
                continue
            choices = [[(slot, i) for i in (self.shared_ids(kind) if kind in SHARED else side.ids[kind])] for slot, kind in kinds]
            for principal in side.principals:
                if principal["kind"] == "user":
                    continue
                for combination in itertools.product(*choices):
                    slots = dict(combination)
                    own_call = path.endswith("/execute") and slots["{id}"] in principal.get("agent", {}).get("items", ())
                    if not own_call:
                        self.refused(principal, method, path, slots, None, None, f"own user's ids by its {principal['kind']} token")

    def refusals(self, attacker, victim):
        """Routes without ids that the attacker's principals must be refused: admin-only and droplet-only ones, and
        any creation by an agent or toolbox token."""
        for method, path in self.routes:
            if "{" in path:
                continue
            for principal in attacker.principals:
                expected = expected_refusal(method, path, principal["kind"])
                if expected is not None and (expected != REFUSED or (method != "GET" and principal["kind"] != "user")):
                    self.refused(principal, method, path, {}, victim, None, "not for this token")

    def lists(self, attacker, victim):
        """Every GET without ids (lists, /me, the catalog, the audit log, metrics), also filtered on the victim's
        user id: no answer shows the victim's ids, names or secrets."""
        for method, path in self.routes:
            if method != "GET" or "{" in path or path.startswith(f"{V1}/dtma/") or path == f"{V1}/agent/package":
                continue
            queries = [""] + ([f"?user_id={victim.user_id}"] if path in (f"{V1}/agents", f"{V1}/toolboxes") else [])
            for principal in attacker.principals:
                for query in queries:
                    status, _, answer = self.app.request("GET", path + query, principal["token"])
                    leaked = leaked_marks(answer, victim, query, attacker)
                    problem = None
                    if status is None or status >= 500 or leaked:
                        problem = f"{principal['label']} GET {path}{query} answered {status}" + (f", showing {leaked}" if leaked else "")
                    self.tally.case("rest", problem)


class ConsoleBrowser:
    """A console session over plain HTTP: cookies kept by hand, redirects not followed."""

    def __init__(self, app, token):
        self.app = app
        self.cookies = {}
        status, _, page = self.request("GET", "/console/sign-in")
        status, headers, _ = self.request("POST", "/console/sign-in", {"csrf": self.csrf_of(page), "token": token})
        if status != 303 or "agentbox_console" not in self.cookies:
            raise harness.HarnessError(f"console sign-in answered {status} {headers.get('Location')}")
        self.csrf = self.csrf_of(self.request("GET", "/console/agents")[2])

    @staticmethod
    def csrf_of(page):
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        if not match:
            raise harness.HarnessError("a console page carried no CSRF token")
        return match.group(1)

    def request(self, method, path, form=None):
        """(status, headers, page text); Set-Cookie answers kept for the next requests."""
        connection = http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=30)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form, doseq=True)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            for cookie in response.msg.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";")[0]
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
            return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
        finally:
            connection.close()


def console_routes():
    """Every console route the source registers: (method, pattern)."""
    folder = os.path.join(harness.ROOT, "Sources", "Appliance", "Console")
    routes = set()
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            routes.update((m.upper(), p) for m, p in re.findall(r'router\.(get|post)\("(/console[^"]*)"', f.read()))
    return sorted(routes)


# The console's pages with ids: `/console/<kind>/:id...` (a `:token` is a token id), and the form each POST sends
# (`:tool` is the catalog tool, `:<kind>` takes every id of that kind in turn).
CONSOLE_KINDS = {"toolboxes", "instances", "agents", "toolbelt", "catalog"}
TOOL_FORM = {"name": "stolen", "docker_image_url": "stolen", "version": "1", "container_port": "8080",
             "required_capabilities_schema": "{}", "required_secrets_schema": "{}", "default_config_json_schema": "{}"}
CONSOLE_FORMS = {
    "/console/toolboxes/:id/instances": {"tool": ":tool", "name": "stolen"},
    "/console/toolboxes/:id/deprovision": {"confirm": "yes", "cascade": "yes"},
    "/console/agents/:id/access": {"toolbox": ":toolboxes"},
    "/console/agents/:id/items": {"instance": ":instances"},
    "/console/toolbelt/:id/active": {"active": "false"},
    "/console/toolbelt/:id/permissions": {"allow": "send"},
    "/console/toolbelt/:id/credentials": {"credential_type": "api_key", "secret.api_key": "stolen"},
    "/console/catalog": TOOL_FORM,
    "/console/catalog/:id": TOOL_FORM,
}
# Routes without ids that create (for the signed-in user) or sign in or out: not isolation cases.
CONSOLE_OWN = {("POST", "/console/sign-in"), ("POST", "/console/sign-out"), ("POST", "/console/toolboxes"),
               ("POST", "/console/agents"), ("GET", "/console/static/:file")}
INSTANCE_ACTIONS = ("start", "stop", "restart", "delete", "upgrade")


def console_pages(browser, attacker, victim, tally):
    """As the attacker in the console: no page without ids (dashboard, lists, audit log, live statuses) shows
    anything of the victim's."""
    for method, pattern in console_routes():
        if method == "GET" and ":" not in pattern:
            status, _, page = browser.request(method, pattern)
            leaked = leaked_marks(page, victim, "", attacker)
            ok = status in (200, 303) and not leaked
            tally.case("console", None if ok else f"{attacker.label} GET {pattern} answered {status}, showing {leaked}")


def console_ids(browser, attacker, victim, shared, tally):
    """As the attacker in the console: every page and form (with its CSRF token) with the victim's ids, in the path
    or in the form, is refused and shows nothing of the victim's; the catalog's pages and forms refuse a user."""
    for method, pattern in console_routes():
        if (method, pattern) in CONSOLE_OWN or (method == "GET" and ":" not in pattern):
            continue
        kind = pattern.split("/")[2] if ":" in pattern else None
        if ":" in pattern and kind not in CONSOLE_KINDS:
            tally.case("console", f"{method} {pattern}: no ids of this kind (add them to the drill)")
            continue
        ids = ([("shared", shared["tool"])] if kind in ("catalog", None) else
               [("own", attacker.ids[kind][0])] + [("victim", i) for i in victim.ids[kind]])
        form_kinds = [v[1:] for v in CONSOLE_FORMS.get(pattern, {}).values() if v.startswith(":") and v != ":tool"]
        token_choices = [("victim", t) for t in victim.ids["tokens"]] if ":token" in pattern else [(None, None)]
        form_choices = ([("own", attacker.ids[form_kinds[0]][0])] + [("victim", i) for i in victim.ids[form_kinds[0]]]
                        if form_kinds else [(None, None)])
        actions = INSTANCE_ACTIONS if ":action" in pattern else (None,)
        expected = (403,) if kind in ("catalog", None) else REFUSED
        for choice in itertools.product(ids, token_choices, form_choices, actions):
            (whose, value), (token_whose, token), (form_whose, form_value), action = choice
            if expected == REFUSED and "victim" not in (whose, token_whose, form_whose):
                continue
            path = pattern.replace(":id", value).replace(":token", token or "").replace(":action", action or "")
            form = None
            if method == "POST":
                form = {"csrf": browser.csrf}
                for field, template in CONSOLE_FORMS.get(pattern, {}).items():
                    form[field] = shared["tool"] if template == ":tool" else form_value if template.startswith(":") else template
            status, headers, page = browser.request(method, path, form)
            request_text = path + json.dumps(form or {})
            leaked = leaked_marks(page, victim, request_text, attacker)
            attacker.sent.update(mark for mark in victim.marks if mark in request_text.lower())
            problem = None
            if status not in expected:
                problem = f"{attacker.label} {method} {path} {form or ''} answered {status} {headers.get('Location', '')}"
            elif leaked:
                problem = f"{attacker.label} {method} {path} showed {leaked}"
            tally.case("console", problem)


class MCPClient:
    """A Streamable HTTP JSON-RPC client of /mcp over plain HTTP, for one token."""

    def __init__(self, app, token):
        self.app = app
        self.token = token
        self.session = None
        self.next_id = 1

    def post(self, message, session=None):
        """(status, headers, the JSON-RPC answer or None)."""
        headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
        if session or self.session:
            headers["Mcp-Session-Id"] = session or self.session
        status, answer_headers, body = self.app.request("POST", "/mcp", self.token, message, headers)
        text = body.decode(errors="replace")
        if "text/event-stream" in {k.lower(): v for k, v in answer_headers.items()}.get("content-type", ""):
            data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
            text = data[-1] if data else ""
        try:
            return status, answer_headers, json.loads(text) if text else None
        except ValueError:
            return status, answer_headers, None

    def rpc(self, method, params=None, session=None):
        self.next_id += 1
        return self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}, session)

    def initialize(self):
        """Opens a session: (status, session id or None)."""
        status, headers, _ = self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                                     "clientInfo": {"name": "isolation-drill", "version": "1"}})
        self.session = {k.lower(): v for k, v in headers.items()}.get("mcp-session-id")
        if self.session:
            self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return status, self.session


def mcp_drill(app, sides, tally):
    """Each agent lists exactly its own tool and calls it with its own credentials; every other agent's tool name is
    unknown to it; another agent's session is not found; user and toolbox tokens open no session."""
    agents = [(side, principal) for side in sides for principal in side.principals if principal["kind"] == "agent"]
    clients = {}
    for side, principal in agents:
        client = MCPClient(app, principal["token"])
        status, session = client.initialize()
        clients[principal["label"]] = client
        tally.case("mcp", None if status == 200 and session else f"{principal['label']} could not open a session: {status}")
    every_secret = [w["secret"] for side in sides for w in side.agents + [side.remote]]
    for side, principal in agents:
        client, own = clients[principal["label"]], principal["agent"]
        status, _, answer = client.rpc("tools/list")
        names = sorted(t["name"] for t in ((answer or {}).get("result") or {}).get("tools", []))
        leaked = sorted({m for other in sides if other is not side for m in leaked_marks(json.dumps(answer), other, "")})
        ok = status == 200 and names == sorted(own["tools"]) and not leaked
        tally.case("mcp", None if ok else f"{principal['label']} tools/list answered {status} {names}, showing {leaked}")
        status, _, answer = client.rpc("tools/call", {"name": own["tools"][0], "arguments": {"note": "own"}})
        text = json.dumps(answer)
        foreign = [secret for secret in every_secret if secret != own["secret"] and secret in text]
        ok = status == 200 and not (answer or {}).get("result", {}).get("isError") and own["secret"] in text and not foreign
        tally.case("mcp", None if ok else f"{principal['label']} calling its own tool answered {status} {text[:200]}")
        for _, other in agents:
            if other is principal:
                continue
            for name in other["agent"]["tools"]:
                status, _, answer = client.rpc("tools/call", {"name": name, "arguments": {"note": "stolen"}})
                result = (answer or {}).get("result") or {}
                text = json.dumps(answer)
                code = (result.get("structuredContent") or {}).get("error", {}).get("code")
                ok = status == 200 and result.get("isError") and code == "unknown_tool" and not any(s in text for s in every_secret)
                tally.case("mcp", None if ok else f"{principal['label']} calling {other['label']}'s {name} answered {status} {text[:200]}")
            status, _, answer = client.rpc("tools/list", session=clients[other["label"]].session)
            tally.case("mcp", None if status == 404 else
                       f"{principal['label']} used {other['label']}'s session: {status} {json.dumps(answer)[:200]}")
    for side in sides:
        for principal in side.principals:
            if principal["kind"] in ("user", "toolbox"):
                status, session = MCPClient(app, principal["token"]).initialize()
                tally.case("mcp", None if status == 403 and not session else
                           f"{principal['label']} ({principal['kind']} token) at /mcp answered {status}")


def relay_drill(app, attacker, victim, tally):
    """A call of the victim's agent to its droplet's tool, relayed to the victim's DTMA (played by the drill): the
    attacker's droplet, polling at the same time, gets no call; none of the attacker's principals redeems the call's
    ticket or answers it; the victim's DTMA then does both and the agent gets the genuine answer. The attacker's
    droplet can neither heartbeat for the victim's toolbox nor report or write events for the victim's instances."""
    remote, out = victim.remote, {}
    victim.heartbeat()

    def poll(key, side, wait):
        out[key] = app.request("GET", f"{V1}/dtma/calls?wait={wait}", side.toolbox_token)
    threads = [threading.Thread(target=poll, args=("poll", victim, 8)), threading.Thread(target=poll, args=("stolen", attacker, 3))]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    caller = threading.Thread(target=lambda: out.update(execute=app.request(
        "POST", f"{V1}/toolbelt/{remote['item']}/execute", remote["agent"]["agent_token"], {"capability": "echo", "input": {}})))
    caller.start()
    for thread in threads:
        thread.join(30)
    stolen = out.get("stolen", (None, {}, b""))
    tally.case("droplet", None if stolen[0] == 200 and json.loads(stolen[2]).get("calls") == [] else
               f"{attacker.label}'s droplet polling during {victim.label}'s call got {stolen[0]} {stolen[2][:200]!r}")
    try:
        call = json.loads(out["poll"][2])["calls"][0]
    except (KeyError, IndexError, TypeError, ValueError):
        caller.join(40)
        tally.case("droplet", f"{victim.label}'s call was not relayed to its droplet: {out.get('poll')} {out.get('execute')}")
        return
    answer_path = f"{V1}/dtma/calls/{call['call_id']}/answer"
    forged = {"answer": {"status": 200, "body": base64.b64encode(b'{"forged": true}').decode(), "duration_ms": 1}}
    for principal in attacker.principals:
        for path, body in ((f"{V1}/dtma/credentials", {"ticket": call["ticket"]}), (answer_path, forged)):
            status, _, answer = app.request("POST", path, principal["token"], body)
            leaked = leaked_marks(answer, victim, path + json.dumps(body), attacker)
            tally.case("droplet", None if status in REFUSED and not leaked else
                       f"{principal['label']} POST {path} with {victim.label}'s call answered {status} {answer[:200]!r}")
    status, _, answer = app.request("POST", f"{V1}/dtma/credentials", victim.toolbox_token, {"ticket": call["ticket"]})
    tally.case("droplet", None if status == 200 and remote["secret"].encode() in answer else
               f"{victim.label}'s own droplet could not redeem its call's ticket after {attacker.label}'s refused attempts "
               f"(so another owner's token ended the call): {status} {answer[:200]!r}")
    nonce = secrets.token_hex(8)
    genuine = {"answer": {"status": 200, "body": base64.b64encode(json.dumps({"genuine": nonce}).encode()).decode(),
                          "duration_ms": 1}}
    status = app.request("POST", answer_path, victim.toolbox_token, genuine)[0]
    caller.join(40)
    executed = out.get("execute", (None, {}, b""))
    tally.case("droplet", None if status == 204 and executed[0] == 200 and nonce.encode() in executed[2] else
               f"{victim.label}'s relayed call did not end with its droplet's answer: {status}, {executed[0]} {executed[2][:200]!r}")

    status, answer = attacker.heartbeat(toolbox=victim.do_toolbox)
    tally.case("droplet", None if status in REFUSED else
               f"{attacker.label}'s droplet heartbeat naming {victim.label}'s toolbox answered {status} {answer[:200]!r}")
    status, answer = attacker.heartbeat(extra=[{"instance_id": i, "state": "absent"} for i in victim.ids["instances"]])
    statuses = {i: app.api(victim.token, "GET", f"{V1}/instances/{i}")["status"] for i in victim.ids["instances"]}
    tally.case("droplet", None if status in (200, *REFUSED) and set(statuses.values()) == {"running"} else
               f"{attacker.label}'s droplet reporting {victim.label}'s instances absent answered {status}; they are now {statuses}")
    events = {"events": [{"instance_id": i, "kind": "crashed", "message": "forged by another droplet"} for i in victim.ids["instances"]]}
    status, _, answer = app.request("POST", f"{V1}/dtma/events", attacker.toolbox_token, events)
    written = [i for i in victim.ids["instances"]
               if b"forged by" in app.request("GET", f"{V1}/instances/{i}/events", victim.token)[2]]
    tally.case("droplet", None if status in (204, *REFUSED) and not written else
               f"{attacker.label}'s droplet writing events of {victim.label}'s instances answered {status}; written to {written}")


def remove_everything(app):
    """Stops the server, removes the containers of every toolbox it made, and deletes its folder."""
    toolboxes = []
    if app.process:
        status, _, body = app.request("GET", f"{V1}/toolboxes?limit=100", app.admin_token)
        toolboxes = [t["id"] for t in json.loads(body)["items"]] if status == 200 else []
    app.stop()
    for toolbox in toolboxes:
        harness.remove_containers(toolbox)
    app.remove()


def drill(context):
    """Sets up both users, runs every surface in one direction (quick) or both, and tallies cases and leaks."""
    tally = Tally()
    agents = context.size(2, 1)
    app = sim = None
    sides, directions = [], []
    with harness.docker_lock():
        try:
            app = harness.Appliance(context.agentbox, options=["--local-toolboxes", "everyone", "--enrollment-timeout", "3600",
                                                                      "--dtma-heartbeat-interval", "600"])
            sim = harness.StandIn(context.agentbox, app.folder, ["--active-after", "0.2", "--ip-after", "0.2"])
            app.options += ["--digitalocean-api", sim.base, "--public-url", app.base]
            app.start()
            app.api(app.admin_token, "PUT", f"{V1}/admin/digitalocean/token", {"token": sim.token})
            context.log(f"isolation: setting up two users with {agents} agent(s) each")
            sides = [Side(app, sim, label, agents, app.admin_token) for label in ("alice", "bob")]
            shared = {"tool": sides[0].tool}
            document = app.api(None, "GET", f"{V1}/openapi.json")
            routes = sorted((method.upper(), path) for path, operations in document["paths"].items()
                            for method in operations if method in VERBS)
            rest = RestMatrix(app, routes, shared, tally)
            directions = [(sides[0], sides[1])] if context.quick else [(sides[0], sides[1]), (sides[1], sides[0])]
            for attacker, victim in directions:
                context.log(f"isolation: {attacker.label} against {victim.label}")
                browser = ConsoleBrowser(app, attacker.token)
                rest.lists(attacker, victim)
                console_pages(browser, attacker, victim, tally)
                rest.cross_owner(attacker, victim)
                rest.refusals(attacker, victim)
                console_ids(browser, attacker, victim, shared, tally)
                relay_drill(app, attacker, victim, tally)
                # Again after the attempts: the attacker's own audit log now names the ids it tried, and nothing more.
                rest.lists(attacker, victim)
                console_pages(browser, attacker, victim, tally)
                victim.check_intact(f"{attacker.label}'s attempts", tally)
            for side in sides:
                rest.same_owner(side)
                side.check_intact("its agents' and toolbox's attempts", tally)
            mcp_drill(app, sides, tally)
            for side in sides:
                side.check_intact("the MCP checks", tally)
        finally:
            if sim:
                sim.stop()
            if app:
                remove_everything(app)
    cases = sum(tally.cases.values())
    per_surface = ", ".join(f"{surface} {count}" for surface, count in tally.cases.items())
    return {"cases": cases, "failures": len(tally.problems),
            "figures": f"{per_surface} cases; {len(tally.problems)} leak(s); {len(sides)} users x {agents} agent(s), "
                       f"{len(directions)} direction(s)",
            "problems": tally.problems}
