"""DigitalOcean-faults drill: toolboxes provisioned in parallel through the project's stand-in (agentbox-do-sim) under
429 storms, 5xx answers, connections dropped after a create (also while new droplets are not listed yet), late
addresses, asynchronous placement failures and the appliance killed (SIGKILL) mid-provisioning and
mid-deprovisioning; then deprovisioned.

Checks, from the stand-in's /_sim/state watched all along: never two live droplets with one toolbox's tag (and no
droplet made and deleted unseen), no droplet left after deprovisioning; from the API: each toolbox ends as expected
(its droplet up at its address and its enrollment token from the droplet's user-data making it active, or `error`
for a failed placement; then `archived`); the appliance stays up. The droplets do not boot: what matters here is
creating, finding and deleting them, and the drill stands in for the droplet's agent (enroll, one heartbeat).
"""
import json
import re
import tempfile
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import harness

V1 = "/api/v1"
TAG = "agentbox-toolbox-"
ENROLLMENT_TOKEN = re.compile(r"abx_e_[A-Za-z0-9_-]{49}")


def scenarios(n):
    """Each scenario: stand-in timings, the faults injected once the toolboxes exist and once they are being
    deprovisioned, and whether the appliance is killed (SIGKILL) mid-provisioning and mid-deprovisioning."""
    droplets = "/v2/droplets"
    return {
        "429-storm": {"faults": {"rate_limit_burst": {"count": 3 * n, "retry_after": 1}},
                      "teardown": {"rate_limit_burst": {"count": 2 * n, "retry_after": 1}}},
        "5xx": {"faults": {"fail": [{"status": 503, "count": n, "method": "POST", "path_prefix": droplets},
                                    {"status": 500, "count": n, "method": "GET", "path_prefix": droplets},
                                    {"status": 502, "count": n // 2, "method": "GET", "path_prefix": "/v2/actions"}]},
                "teardown": {"fail": [{"status": 500, "count": n, "method": "DELETE", "path_prefix": droplets},
                                      {"status": 503, "count": n, "method": "GET", "path_prefix": droplets}],
                             "drop": [{"count": n // 2, "method": "DELETE", "path_prefix": droplets}]}},
        "drop-after-create": {"faults": {"drop_after_create": n, "drop": [{"count": n // 2, "method": "GET", "path_prefix": droplets}]},
                              "teardown": {"drop": [{"count": n, "path_prefix": droplets}]}},
        # DigitalOcean may answer 404 for a droplet just accepted, and not list it yet: the duplicate trap in full.
        "drop-unlisted": {"faults": {"drop_after_create": n, "not_found_for_seconds": 2}},
        "late-ips": {"faults": {"active_after_seconds": 2, "ip_after_seconds": 5, "not_found_for_seconds": 1.5}},
        "placement-failure": {"faults": {"placement_failure": {"count": max(1, n // 2), "message": "no capacity (drill)"}}},
        "sigkill-restart": {"faults": {"drop_after_create": n, "active_after_seconds": 2}, "kill": True},
    }


class Watch:
    """Polls the stand-in's state in a thread: per droplet its tag, and per tag the most droplets live at once."""

    def __init__(self, sim):
        self.sim = sim
        self.tag_of = {}
        self.most_live = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            self.look()
            self.stopping.wait(0.05)

    def look(self):
        """One look at the stand-in; returns its state (None when it did not answer)."""
        try:
            state = self.sim.state()
        except harness.HarnessError:
            return None
        live = {}
        with self.lock:
            for droplet in state["droplets"]:
                tag = next((t for t in droplet.get("tags") or [] if t.startswith(TAG)), "(untagged)")
                self.tag_of[droplet["id"]] = tag
                live[tag] = live.get(tag, 0) + 1
            for tag, count in live.items():
                self.most_live[tag] = max(self.most_live.get(tag, 0), count)
        return state

    def stop(self):
        """Stops polling; the stand-in's state at that moment."""
        self.stopping.set()
        self.thread.join(timeout=30)
        return self.look()

    def duplicates(self, created, problems, name):
        """Droplets beyond one live at once per tag, plus droplets `created` yet never seen live (made and deleted
        between two looks: a duplicate cleaned up); each noted in `problems`."""
        count = 0
        for tag, most in sorted(self.most_live.items()):
            if most > 1:
                problems.append(f"{name}: {most} droplets live at once with tag {tag}")
                count += most - 1
        unseen = [droplet for droplet in created if droplet not in self.tag_of]
        if unseen:
            problems.append(f"{name}: droplet(s) {unseen} created and gone before the watch saw them")
        return count + len(unseen)


def toolbox(app, token, toolbox_id):
    """The toolbox as the API shows it to its owner."""
    return app.api(token, "GET", f"{V1}/toolboxes/{toolbox_id}")


def wait_for(app, token, ids, done, seconds):
    """Polls the toolboxes until `done(toolbox)` holds for each, or `seconds` pass; the last view of each."""
    deadline = time.monotonic() + seconds
    last = {}
    while True:
        for toolbox_id in ids:
            if toolbox_id not in last or not done(last[toolbox_id]):
                status, _, body = app.request("GET", f"{V1}/toolboxes/{toolbox_id}", token)
                if status == 200:
                    last[toolbox_id] = json.loads(body)
        if all(toolbox_id in last and done(last[toolbox_id]) for toolbox_id in ids) or time.monotonic() > deadline:
            return last
        time.sleep(0.25)


def kill_when(app, sim, seen, seconds, what, context):
    """SIGKILLs the appliance as soon as `seen(state)` holds for the stand-in's state (or after `seconds`), then
    restarts it on the same data directory."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not seen(sim.state()):
        time.sleep(0.02)
    app.kill()
    context.log(f"digitalocean_faults: killed the appliance {what}; restarting it")
    app.start()


def act_as_agent(app, droplet, toolbox_id):
    """What the droplet's agent does first: enrolls with the token of its user-data and sends one heartbeat.
    None when the toolbox is then active, else what went wrong."""
    found = ENROLLMENT_TOKEN.search(droplet.get("user_data") or "")
    if not found:
        return f"droplet {droplet['id']}'s user-data carries no enrollment token"
    status, _, body = app.request("POST", f"{V1}/dtma/enroll", found.group(0))
    if status != 200:
        return f"droplet {droplet['id']}'s enrollment token was refused ({status}: {body[:200].decode(errors='replace')})"
    toolbox_token = json.loads(body)["token"]
    beat = {"toolbox_id": toolbox_id, "agent_version": "drill", "sent_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "health": {"docker_reachable": True}, "instances": []}
    status, _, body = app.request("POST", f"{V1}/dtma/heartbeat", toolbox_token, beat)
    if status != 200:
        return f"the heartbeat of droplet {droplet['id']} was answered {status}: {body[:200].decode(errors='replace')}"
    return None


def faults_hit(state):
    """Faults the stand-in served: 429 and 5xx answers, dropped connections and failed placements."""
    answers = sum(1 for r in state["requests"] if r["status"] == 0 or r["status"] == 429 or r["status"] >= 500)
    return answers + sum(1 for a in state["actions"] if a["type"] == "create" and a.get("failure"))


def scenario(context, name, plan, n, folder):
    """One scenario on a stand-in and an appliance of its own (in `folder`); its figures and problems."""
    sim = harness.StandIn(context.agentbox, folder, ["--active-after", "0.5", "--ip-after", "0.5"])
    app = None
    watch = None
    problems = []
    figures = {"created": 0, "duplicates": 0, "leaks": 0, "faults": 0, "wrong": 0}
    try:
        app = harness.Appliance(context.agentbox, folder=tempfile.mkdtemp(prefix="appliance-", dir=folder),
                                options=["--reconcile-interval", "0", "--digitalocean-api", sim.base, "--enrollment-timeout", "600",
                                         "--dtma-heartbeat-interval", "600"])
        app.options += ["--public-url", app.base]
        app.start()
        app.api(app.admin_token, "PUT", f"{V1}/admin/digitalocean/token", {"token": sim.token})
        _, token = app.user(f"drill-{name}")
        watch = Watch(sim)

        def create(index):
            return app.api(token, "POST", f"{V1}/toolboxes", {"name": f"{name}-{index}", "provider": "digitalocean",
                                                                "region": "nyc3", "size": "s-1vcpu-1gb"})["id"]
        with ThreadPoolExecutor(n) as pool:
            ids = list(pool.map(create, range(n)))
        sim.faults(plan["faults"])
        started = time.monotonic()
        if plan.get("kill"):
            kill_when(app, sim, lambda s: any(a["type"] == "create" for a in s["actions"]), 30, "right after the first droplet's create", context)

        settled = wait_for(app, token, ids, lambda t: t["status"] == "error" or t.get("public_ip_address"), context.size(120, 40))
        up = time.monotonic() - started
        state = watch.look() or sim.state()
        failed_placements = {a["resource_id"] for a in state["actions"] if a["type"] == "create" and a.get("failure")}
        live = {d["id"]: d for d in state["droplets"]}
        for toolbox_id in ids:
            view = settled.get(toolbox_id, {})
            expect_error = view.get("droplet_id") in failed_placements
            wrong = None
            if expect_error:
                if view.get("status") != "error" or "could not place" not in (view.get("status_detail") or ""):
                    wrong = f"its droplet failed placement but it is {view.get('status')} ({view.get('status_detail')})"
            elif not view.get("public_ip_address"):
                wrong = f"not up within the time: {view.get('status')} ({view.get('status_detail')})"
            else:
                mine = [d for d in state["droplets"] if TAG + toolbox_id in (d.get("tags") or [])]
                droplet = live.get(view.get("droplet_id"))
                public = [a["ip_address"] for a in (droplet or {}).get("networks", {}).get("v4", []) if a["type"] == "public"]
                if not droplet or droplet not in mine:
                    wrong = f"droplet_id {view.get('droplet_id')} but the tag lists {[d['id'] for d in mine]}"
                elif public != [view["public_ip_address"]]:
                    wrong = f"address {view['public_ip_address']} but its droplet has {public}"
                else:
                    wrong = act_as_agent(app, droplet, toolbox_id)
                    status = toolbox(app, token, toolbox_id)["status"]
                    if not wrong and status != "active":
                        wrong = f"enrolled and heard from, yet {status}"
            if wrong:
                figures["wrong"] += 1
                problems.append(f"{name}: toolbox {toolbox_id}: {wrong}")

        started = time.monotonic()
        for toolbox_id in ids:
            app.api(token, "DELETE", f"{V1}/toolboxes/{toolbox_id}")
        if plan.get("teardown"):
            sim.faults(plan["teardown"])
        if plan.get("kill"):
            kill_when(app, sim, lambda s: any(r["method"] == "DELETE" for r in s["requests"]), 30, "mid-deprovisioning", context)
        ended = wait_for(app, token, ids, lambda t: t["status"] == "archived", context.size(120, 40))
        context.log(f"digitalocean_faults: {name}: provisioned in {up:.1f} s, deprovisioned in {time.monotonic() - started:.1f} s")
        for toolbox_id in ids:
            if ended.get(toolbox_id, {}).get("status") != "archived":
                figures["wrong"] += 1
                view = ended.get(toolbox_id, {})
                problems.append(f"{name}: toolbox {toolbox_id} not archived after deprovisioning: {view.get('status')} ({view.get('status_detail')})")
        if app.process is None or app.process.poll() is not None or harness.http_status(app.base + "/healthz") != 200:
            figures["wrong"] += 1
            problems.append(f"{name}: the appliance is down (log: {app.log_path})")

        state = watch.stop()
        created = [a["resource_id"] for a in state["actions"] if a["type"] == "create"]
        figures["created"] = len(created)
        figures["faults"] = faults_hit(state)
        figures["duplicates"] = watch.duplicates(created, problems, name)
        figures["leaks"] = len(state["droplets"])
        for droplet in state["droplets"]:
            problems.append(f"{name}: droplet {droplet['id']} ({droplet['name']}) left after deprovisioning")
    finally:
        if watch:
            watch.stopping.set()
        if app:
            app.stop()
        sim.stop()
    return figures, problems


def drill(context):
    n = context.size(8, 4)
    plans = scenarios(n)
    names = list(plans) if not context.quick else ["drop-unlisted", "sigkill-restart"]
    folder = tempfile.mkdtemp(prefix="agentbox-drill-do-")
    totals = {"created": 0, "duplicates": 0, "leaks": 0, "faults": 0, "wrong": 0}
    problems = []
    try:
        for name in names:
            started = time.monotonic()
            try:
                figures, found = scenario(context, name, plans[name], n, tempfile.mkdtemp(prefix=f"{name}-", dir=folder))
            except harness.HarnessError as error:
                figures, found = {**dict.fromkeys(totals, 0), "wrong": 1}, [f"{name}: the scenario broke: {error}"]
            context.log(f"digitalocean_faults: {name}: {figures} in {time.monotonic() - started:.1f} s")
            for key in totals:
                totals[key] += figures[key]
            problems += found
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"cases": n * len(names), "failures": totals["duplicates"] + totals["leaks"] + totals["wrong"],
            "figures": f"{len(names)} scenarios x {n} toolboxes: {totals['created']} droplets created, {totals['duplicates']} duplicates, "
                       f"{totals['leaks']} leaks, {totals['wrong']} wrong end states, {totals['faults']} faults served",
            "problems": problems}
