"""Crash drill: cycles of concurrent writes (deploy and delete instances, store credentials, create agents and their
tokens) with the appliance killed (SIGKILL) at a random moment and started again on the same data directory.

Every write the server acknowledged (a 2xx answer arrived) must be there afterwards with its content; a write without
an answer may or may not be there, never half. At checkpoints (every few cycles and at the end) the drill lets the
reconciler converge and checks: the database (integrity_check, foreign_key_check) and the vault (every sealed value
opens) and the audit chain, on the crash image itself, every acknowledged instance running with exactly one container,
acknowledged deletes gone with no container, no orphan container in the toolbox, every acknowledged agent and token,
every acknowledged credential present, and each agent's tool call receiving the latest credential written.
"""
import json
import random
import subprocess
import threading
import time

import harness

V1 = "/api/v1"
STABLE_ITEMS = 3          # toolbelt items (each with its own agent and running instance) whose credentials are rewritten
CREDENTIAL_WRITERS = 2    # threads writing credentials; each owns some items, so writes to one item are in order
MAX_LIVE_INSTANCES = 4    # deployed instances alive at once, besides the stable ones
KILL_AFTER = (0.0, 1.5)   # seconds of writes before the kill
CONVERGE_SECONDS = 45
REQUEST_TIMEOUT = 10
DELETING_STATES = ("pending_delete", "deleting")
PASSING_STATES = ("pending_deploy", "deploying", *DELETING_STATES)


class CrashDrill:
    """The appliance under test and everything it acknowledged, checked after crashes."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.RLock()
        self.problems = []
        self.reported = set()       # keys of faults already counted
        self.checks = 0
        self.in_flight = 0
        self.kills_mid_request = 0
        self.requests_cut = 0
        self.acked = {"deploy": 0, "delete": 0, "credential": 0, "agent": 0, "token": 0}
        self.unanswered = 0
        self.refused = {}           # "METHOD status" -> count, for answers that were not 2xx (and not 5xx)
        self.instances = {}         # id -> {"name", "state": live | deleted | delete_unknown, "stable"}
        self.unknown_deploys = set()  # names of deploys that got no answer and are not found (yet)
        self.agents = {}            # id -> name, acknowledged
        self.tokens = []            # (agent id, token), acknowledged
        self.items = {}             # toolbelt item id -> {"agent_token", "value", "id", "pending", "ids"}
        self.toolbox = None

    # --- bookkeeping -------------------------------------------------------------------------------------------

    def check(self, ok, problem, key=None):
        """Counts one check; a failed one is a failure with `problem` as its line, once per `key` when one is given
        (a fault seen again after each crash counts once)."""
        with self.lock:
            self.checks += 1
            if not ok and (key is None or key not in self.reported):
                self.problems.append(problem)
                self.reported.add(key)
        return ok

    def write(self, method, path, token, body=None):
        """One write; (status, parsed answer). A 5xx is a failure; no answer is an unknown write."""
        with self.lock:
            self.in_flight += 1
        try:
            status, _, data = self.app.request(method, path, token, body, timeout=REQUEST_TIMEOUT)
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            if status is None:
                self.unanswered += 1
            elif status >= 500:
                self.problems.append(f"{method} {path} answered {status}: {data[:200].decode(errors='replace')}")
            elif status >= 300:
                key = f"{method} {status}"
                self.refused[key] = self.refused.get(key, 0) + 1
        try:
            answer = json.loads(data) if status and 200 <= status < 300 and data else None
        except ValueError:
            answer = None
        return status, answer

    def all_items(self, token, path):
        """Every item of a paged list."""
        items, offset = [], 0
        while True:
            page = self.app.api(token, "GET", f"{path}{'&' if '?' in path else '?'}limit=100&offset={offset}")
            items += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return items

    # --- the world the writes work on --------------------------------------------------------------------------

    def setup(self):
        """An owner with a local toolbox and STABLE_ITEMS contract-tool worlds on it (instance, agent, item, credential)."""
        self.owner_id, self.owner = self.app.user("crash-owner")
        self.toolbox = self.app.api(self.owner, "POST", f"{V1}/toolboxes", {"name": "crash-box", "provider": "local"})["id"]
        for index in range(STABLE_ITEMS):
            secret = f"secret-setup-{index}"
            world = harness.tool_world(self.app, self.owner, f"stable-{index}", secret, catalog_token=self.app.admin_token,
                                       toolbox=self.toolbox)
            self.tool = world["tool"]
            self.instances[world["instance"]] = {"name": f"stable-{index}", "state": "live", "stable": True}
            self.agents[world["agent"]] = f"stable-{index}-agent"
            self.tokens.append((world["agent"], world["agent_token"]))
            credential = self.app.api(self.owner, "GET", f"{V1}/toolbelt/{world['item']}/credentials")["items"][0]["id"]
            self.items[world["item"]] = {"agent_token": world["agent_token"], "value": secret, "id": credential,
                                         "pending": [], "ids": [credential]}

    # --- writers (one thread each) -----------------------------------------------------------------------------

    def deployer(self, cycle, stop):
        """Deploys instances and deletes live ones, keeping at most MAX_LIVE_INSTANCES."""
        count = 0
        while not stop.is_set():
            with self.lock:
                live = [i for i, r in self.instances.items() if r["state"] == "live" and not r["stable"]]
            if len(live) < MAX_LIVE_INSTANCES and (not live or random.random() < 0.6):
                count += 1
                name = f"c{cycle}-i{count}"
                status, answer = self.write("POST", f"{V1}/toolboxes/{self.toolbox}/instances", self.owner,
                                            {"tool_id": self.tool, "name": name})
                with self.lock:
                    if answer:
                        self.acked["deploy"] += 1
                        self.instances[answer["id"]] = {"name": name, "state": "live", "stable": False}
                    elif status is None:
                        self.unknown_deploys.add(name)
            else:
                target = random.choice(live)
                status, _ = self.write("DELETE", f"{V1}/instances/{target}", self.owner)
                with self.lock:
                    record = self.instances[target]
                    if status in (202, 204):
                        self.acked["delete"] += 1
                        record["state"] = "deleted"
                    elif status is None:
                        record["state"] = "delete_unknown"
                    elif status == 404:
                        self.problems.append(f"deleting the live instance {record['name']} ({target}) answered 404")
            time.sleep(random.uniform(0, 0.25))

    def credential_writer(self, cycle, stop, writer, items):
        """Stores new credentials on `items` (writer number `writer`'s own), one write at a time."""
        count = 0
        while not stop.is_set():
            item = random.choice(items)
            count += 1
            value = f"secret-c{cycle}-w{writer}-{count}"
            status, answer = self.write("POST", f"{V1}/toolbelt/{item}/credentials", self.owner,
                                        {"credential_type": "api_key", "credentials": {"api_key": value}})
            with self.lock:
                state = self.items[item]
                if answer:
                    self.acked["credential"] += 1
                    state.update(value=value, id=answer["id"], pending=[])
                    state["ids"].append(answer["id"])
                elif status is None:
                    state["pending"].append(value)
            time.sleep(random.uniform(0, 0.03))

    def agent_writer(self, cycle, stop):
        """Creates agents and issues tokens to acknowledged ones."""
        count = 0
        while not stop.is_set():
            count += 1
            with self.lock:
                known = list(self.agents)
            if known and random.random() < 0.5:
                agent = random.choice(known)
                status, answer = self.write("POST", f"{V1}/agents/{agent}/tokens", self.owner, {"name": f"c{cycle}-t{count}"})
                if answer:
                    with self.lock:
                        self.acked["token"] += 1
                        self.tokens.append((agent, answer["token"]))
            else:
                name = f"c{cycle}-a{count}"
                status, answer = self.write("POST", f"{V1}/agents", self.owner, {"name": name})
                if answer:
                    with self.lock:
                        self.acked["agent"] += 1
                        self.agents[answer["id"]] = name
            time.sleep(random.uniform(0, 0.03))

    # --- a cycle -----------------------------------------------------------------------------------------------

    def cycle(self, number):
        """Start, look at what the last crash left, write from every thread, kill at a random moment."""
        self.app.start()
        self.reconcile_listing(number - 1)
        stop = threading.Event()
        items = list(self.items)
        threads = [threading.Thread(target=self.deployer, args=(number, stop)),
                   threading.Thread(target=self.agent_writer, args=(number, stop))]
        threads += [threading.Thread(target=self.credential_writer, args=(number, stop, i, items[i::CREDENTIAL_WRITERS]))
                    for i in range(CREDENTIAL_WRITERS)]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(*KILL_AFTER))
        stop.set()
        with self.lock:
            cut = self.in_flight
        self.app.kill()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 5)
            if thread.is_alive():
                raise harness.HarnessError(f"a writer of cycle {number} did not end after the kill")
        self.kills_mid_request += cut > 0
        self.requests_cut += cut

    def reconcile_listing(self, number):
        """After a restart: every acknowledged instance is listed, acknowledged deletes are not undone, and deploys and
        deletes without answer are resolved one way or the other."""
        listed = {i["id"]: i for i in self.all_items(self.owner, f"{V1}/toolboxes/{self.toolbox}/instances")}
        names = [i["name"] for i in listed.values()]
        self.check(len(names) == len(set(names)), f"after crash {number}: duplicated instance names {sorted(n for n in set(names) if names.count(n) > 1)}")
        with self.lock:
            for id, record in list(self.instances.items()):
                row = listed.get(id)
                if record["state"] == "live":
                    self.check(row is not None, f"after crash {number}: the acknowledged instance {record['name']} ({id}) is gone",
                               ("gone", id))
                elif record["state"] == "deleted":
                    self.check(row is None or row["status"] in DELETING_STATES,
                               f"after crash {number}: the acknowledged delete of {record['name']} ({id}) was undone "
                               f"(status {row and row['status']}: {row and row.get('status_detail')})", ("undone", id))
                elif row is None:
                    record["state"] = "deleted"
                else:
                    record["state"] = "deleted" if row["status"] in DELETING_STATES else "live"
            for id, row in listed.items():
                if id in self.instances:
                    continue
                if row["name"] in self.unknown_deploys:
                    self.unknown_deploys.discard(row["name"])
                    self.instances[id] = {"name": row["name"], "state": "live", "stable": False}
                else:
                    self.check(False, f"after crash {number}: an instance nobody asked for: {row['name']} ({id})")

    # --- checkpoints -------------------------------------------------------------------------------------------

    def offline_checks(self, moment):
        """The database, the vault and the audit chain, read while no server runs."""
        database = f"{self.app.data}/agentbox.sqlite"

        def sqlite(pragma):
            result = subprocess.run(["sqlite3", "-readonly", "-cmd", ".timeout 5000", database, pragma],
                                    capture_output=True, text=True, timeout=120)
            return (result.stdout + result.stderr).strip()

        integrity = sqlite("PRAGMA integrity_check")
        self.check(integrity == "ok", f"{moment}: integrity_check says {integrity[:300]!r}")
        foreign = sqlite("PRAGMA foreign_key_check")
        self.check(foreign == "", f"{moment}: foreign_key_check says {foreign[:300]!r}")
        for command in (["vault", "verify"], ["audit", "verify"]):
            result = subprocess.run([self.app.agentbox, *command, "--data-dir", self.app.data, "--log-level", "error"],
                                    capture_output=True, text=True, timeout=120)
            self.check(result.returncode == 0,
                       f"{moment}: agentbox {' '.join(command)} exited {result.returncode}: {(result.stdout + result.stderr).strip()[-300:]}")

    def containers(self):
        """The toolbox's containers: instance id -> [(container id, state)]."""
        output = subprocess.run(["docker", "ps", "-a", "--filter", f"label=agentbox.toolbox={self.toolbox}", "--format",
                                 '{{.ID}} {{.State}} {{.Label "agentbox.instance"}}'],
                                capture_output=True, text=True, timeout=60).stdout
        found = {}
        for line in output.splitlines():
            container, state, instance = (line.split() + ["", "", ""])[:3]
            found.setdefault(instance, []).append((container, state))
        return found

    def settled(self):
        """Whether the reconciler is done: no instance on its way (deploying, deleting...), every running one with
        exactly one running container, and no container of an unlisted instance. (`error` is final: it settles too.)"""
        listed = {i["id"]: i for i in self.all_items(self.owner, f"{V1}/toolboxes/{self.toolbox}/instances")}
        containers = self.containers()
        return (not any(i["status"] in PASSING_STATES for i in listed.values()) and set(containers) <= set(listed)
                and all(len(containers.get(id, [])) == 1 and containers[id][0][1] == "running"
                        for id, i in listed.items() if i["status"] == "running"))

    def checkpoint(self, number):
        """Offline checks of the crash image, then a start, convergence and every acknowledged write checked."""
        self.offline_checks(f"after crash {number}")
        self.app.start()
        self.reconcile_listing(number)
        deadline = time.monotonic() + CONVERGE_SECONDS
        while not self.settled() and time.monotonic() < deadline:
            time.sleep(0.5)
        moment = f"checkpoint after crash {number}"
        listed = {i["id"]: i for i in self.all_items(self.owner, f"{V1}/toolboxes/{self.toolbox}/instances")}
        containers = self.containers()
        for id, record in self.instances.items():
            row, mine = listed.get(id), containers.get(id, [])
            if record["state"] == "live":
                self.check(row is not None and row["status"] == "running" and row["name"] == record["name"],
                           f"{moment}: instance {record['name']} ({id}) is {row and row['status']} "
                           f"({row and row.get('status_detail')}), not running", ("status", id))
                self.check(len(mine) == 1 and mine[0][1] == "running",
                           f"{moment}: instance {record['name']} ({id}) has {len(mine)} containers "
                           f"({', '.join(s for _, s in mine)}), not one running", ("containers", id))
            else:
                status = self.app.request("GET", f"{V1}/instances/{id}", self.owner)[0]
                self.check(status == 404 and id not in listed, f"{moment}: deleted instance {record['name']} ({id}) answers {status}",
                           ("deleted", id))
                self.check(not mine, f"{moment}: deleted instance {record['name']} ({id}) still has {len(mine)} container(s)",
                           ("deleted containers", id))
        for id in set(containers) - set(listed):
            if id not in self.instances:
                self.check(False, f"{moment}: orphan container(s) {containers[id]} labelled instance {id!r}", ("orphan", id))
        for id, name in self.agents.items():
            status, _, data = self.app.request("GET", f"{V1}/agents/{id}", self.owner)
            self.check(status == 200 and json.loads(data).get("name") == name,
                       f"{moment}: acknowledged agent {name} ({id}) answers {status}", ("agent", id))
        for agent, token in self.tokens:
            status, _, data = self.app.request("GET", f"{V1}/me", token)
            self.check(status == 200 and agent in data.decode(errors="replace"),
                       f"{moment}: an acknowledged token of agent {agent} answers /me {status}", ("token", token))
        for item, state in self.items.items():
            self.check_credentials(moment, item, state)

    def check_credentials(self, moment, item, state):
        """Every acknowledged credential of `item` is there; one is active, and a tool call receives the latest value
        written (the last acknowledged one, or one written after it without answer)."""
        for credential in state["ids"]:
            status = self.app.request("GET", f"{V1}/credentials/{credential}", self.owner)[0]
            self.check(status == 200, f"{moment}: acknowledged credential {credential} of item {item} answers {status}",
                       ("credential", credential))
        active = self.all_items(self.owner, f"{V1}/toolbelt/{item}/credentials?status=active")
        self.check(len(active) == 1, f"{moment}: item {item} has {len(active)} active credentials, not one")
        status, _, data = self.app.request("POST", f"{V1}/toolbelt/{item}/execute", state["agent_token"],
                                           {"capability": "echo", "input": {}})
        try:
            received = json.loads(data)["received"]["credentials"]["api_key"]
        except (ValueError, KeyError, TypeError):
            received = None
        candidates = [state["value"], *state["pending"]]
        if self.check(status == 200 and received in candidates,
                      f"{moment}: item {item}'s tool call ({status}) received {received!r}, not the latest written "
                      f"({state['value']!r} acknowledged, {len(state['pending'])} unanswered after it)"):
            if received == state["value"]:
                self.check(len(active) == 1 and active[0]["id"] == state["id"],
                           f"{moment}: item {item}'s active credential is not its last acknowledged one {state['id']}")
            elif len(active) == 1:
                state["ids"].append(active[0]["id"])
                state.update(value=received, id=active[0]["id"])
            state["pending"] = []


def drill(context):
    cycles = context.size(100, 5)
    every = context.size(10, 5)
    low = random.randrange(40000, 59000, 100)
    app = harness.Appliance(context.agentbox, options=["--local-toolboxes", "everyone", "--port-range", f"{low}-{low + 99}"])
    crash = CrashDrill(app)
    done = 0
    try:
        with harness.docker_lock():
            app.start()
            crash.setup()
            app.kill()
            for number in range(1, cycles + 1):
                crash.cycle(number)
                done = number
                if number % every == 0 or number == cycles:
                    crash.checkpoint(number)
                    app.kill()
                    context.log(f"crash: {number}/{cycles} cycles, {len(crash.problems)} failures so far")
            app.start()
            app.stop()
            crash.offline_checks("after the last clean stop")
    finally:
        app.kill()
        if crash.toolbox:
            with harness.docker_lock():
                harness.remove_containers(crash.toolbox)
        app.remove()
    acked = crash.acked
    figures = (f"{done} cycles, {sum(acked.values())} acknowledged writes ({acked['deploy']} deploys, {acked['delete']} deletes, "
               f"{acked['credential']} credentials, {acked['agent']} agents, {acked['token']} tokens), "
               f"{crash.kills_mid_request} kills mid-request ({crash.requests_cut} requests cut, {crash.unanswered} unanswered), "
               f"{crash.checks} checks")
    if crash.refused:
        context.log(f"crash: refused writes {crash.refused}")
    return {"cases": done, "failures": len(crash.problems), "figures": figures, "problems": crash.problems}
