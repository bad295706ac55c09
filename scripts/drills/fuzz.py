"""Fuzz drill: schemathesis generates requests from the API's own OpenAPI description (/api/v1/openapi.json) and
sends them to a real `agentbox serve` on loopback, once with a user's token and once with the admin's: the examples,
coverage, fuzzing and stateful phases (the description declares no links: schemathesis infers them from Location
headers and from which responses yield the ids other operations take). Checks: no server error, status codes, content
types and bodies as described, negative (schema-violating) data rejected, authentication not ignored; and the server
logged no "request failed". Requests are counted by the server itself (agentbox_http_requests_total on /metrics).

Nothing leaves the machine: the DigitalOcean API is the project's stand-in (agentbox-do-sim) on loopback, which no
generated token opens, and the local DTMA is off, so no image is pulled (and no Docker is needed). The per-address limit on failed token checks is off on this server:
schemathesis sends invalid tokens on purpose (the auth checks), and the limiter would then answer everything 429;
the tokens drill covers the limiter.

This file is also the schemathesis hooks file (SCHEMATHESIS_HOOKS, the end of this file).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ElementTree

import harness

V1 = "/api/v1"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "negative_data_rejection,ignored_auth")
KEEP_TOKENS = "FUZZ_KEEP_TOKEN_IDS"


def seed(app, user_token):
    """Something for the fuzzer to find and work on: a catalog entry, a local toolbox with an instance (never deployed:
    the DTMA is off), an agent with a token, access to the toolbox, a toolbelt item, a permission and a credential."""
    tool = app.api(app.admin_token, "POST", f"{V1}/catalog", {
        "name": "fuzz-tool", "docker_image_url": "127.0.0.1:5000/agentbox-test/contract-tool:1", "version": "1",
        "container_port": 8080, "required_capabilities_schema": {"echo": {"description": "echo", "input_schema": {"type": "object"}}},
        "required_secrets_schema": {"type": "object", "required": ["api_key"]}})
    toolbox = app.api(user_token, "POST", f"{V1}/toolboxes", {"name": "fuzz-box", "provider": "local"})
    instance = app.api(user_token, "POST", f"{V1}/toolboxes/{toolbox['id']}/instances", {"tool_id": tool["id"], "name": "fuzz"})
    agent = app.api(user_token, "POST", f"{V1}/agents", {"name": "fuzz-agent"})
    app.api(user_token, "POST", f"{V1}/agents/{agent['id']}/tokens", {"name": "fuzz"})
    app.api(user_token, "POST", f"{V1}/agents/{agent['id']}/toolboxes", {"toolbox_id": toolbox["id"]})
    item = app.api(user_token, "POST", f"{V1}/agents/{agent['id']}/toolbelt", {"instance_id": instance["id"]})
    app.api(user_token, "PUT", f"{V1}/toolbelt/{item['id']}/permissions/echo", {"is_allowed": True})
    app.api(user_token, "POST", f"{V1}/toolbelt/{item['id']}/credentials", {"credential_type": "api_key", "credentials": {"api_key": "fuzz"}})


def requests_served(app):
    """The server's count of the requests it answered (every route and status), from its Prometheus counter."""
    status, _, body = app.request("GET", "/metrics")
    if status != 200:
        raise harness.HarnessError(f"GET /metrics answered {status}")
    return round(sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
                     if line.startswith("agentbox_http_requests_total{")))


def own_token_id(app, token):
    """The id of `token`, found by its prefix among its user's tokens."""
    items = [item for item in app.api(token, "GET", f"{V1}/tokens?limit=100")["items"] if token.startswith(item["prefix"])]
    if len(items) != 1:
        raise harness.HarnessError(f"expected one token with the prefix of the fuzzing token, found {len(items)}")
    return items[0]["id"]


def findings_of(junit_path):
    """What a schemathesis JUnit report found, by (operation, check or error title): one line each naming the
    operation, what failed, the answer and the request (curl), or the error's first and last line."""
    found = {}
    for case in ElementTree.parse(junit_path).getroot().iter("testcase"):
        operation = case.get("name")
        for failure in case.iter("failure"):
            for block in re.split(r"(?m)^\d+\. Test Case ID: \S+", failure.text or ""):
                answer = re.search(r"(?m)^\[(\d+)\]", block)
                curl = re.search(r"(?m)^\s*(curl .*)$", block)
                component = re.search(r"(?m)^\s*(Invalid component: .*)$", block)
                for title, detail in re.findall(r"(?m)^- (.+)\n\n\s*(.*)", block):
                    found.setdefault((operation, title), (
                        f"{operation}: {title}: {(component.group(1) if component else detail).strip()}"
                        + (f"; answered {answer.group(1)}" if answer else "") + (f"; {curl.group(1)[:400]}" if curl else "")))
        for error in case.iter("error"):
            lines = [line.strip(" |+-") for line in (error.text or error.get("message") or "").splitlines() if line.strip(" |+-")]
            title = lines[0] if lines else "error"
            found.setdefault((operation, title), f"{operation}: {title}: {' / '.join(lines[1:2] + lines[-1:])[:400]}")
    return found


def fuzz(context, app, who, token, seconds, folder, kept):
    """One schemathesis run with `token` for `seconds`; (requests the server answered meanwhile, findings_of() its
    report, what its stateful phase did)."""
    junit, summary = os.path.join(folder, f"{who}.xml"), os.path.join(folder, f"{who}.json")
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": os.path.abspath(__file__), KEEP_TOKENS: ",".join(kept),
                   "PYTHONPATH": os.path.dirname(harness.__file__)}
    command = ["schemathesis", "run", app.base + f"{V1}/openapi.json", "--header", f"Authorization: Bearer {token}",
               # One worker: with two threads, CPython 3.11 breaks in Hypothesis ("AST constructor recursion depth
               # mismatch", a Runtime Error) and the GIL gives no more requests anyway.
               "--checks", CHECKS, "--max-time", str(seconds), "--workers", "1", "--request-timeout", "10",
               "--suppress-health-check", "all", "--no-color", "--generation-database", "none", "--report", "junit,json",
               "--report-junit-path", junit, "--report-json-path", summary]
    before = requests_served(app)
    try:
        result = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        return requests_served(app) - before - 1, {("schemathesis", "timeout"): f"schemathesis did not end within {seconds + 120} s"}, "?"
    sent = requests_served(app) - before - 1  # the first /metrics scrape is counted by the second
    broke = {("schemathesis", "exit"): f"schemathesis failed ({result.returncode}): {(result.stdout + result.stderr)[-800:]}"}
    if not os.path.exists(summary):
        return sent, broke, "?"
    with open(summary) as f:
        report = json.load(f)
    phases = ", ".join(f"{name} {phase['status']}" for name, phase in report["phases"].items())
    warnings = {name: len(operations) for name, operations in report["warnings"].items() if operations}
    context.log(f"fuzz: {who}: {sent} requests, {report['test_cases']['generated']} generated cases, seed {report['seed']}, "
                f"phases: {phases}; warnings (operations): {warnings}")
    found = findings_of(junit) if os.path.exists(junit) else {}
    unexplained = [error for error in report["errors"] if error["title"] not in {title for _, title in found}]
    if unexplained:
        found[("schemathesis", "errors")] = f"schemathesis reported errors: {unexplained}"
    if result.returncode != 0 and not found:
        found.update(broke)
    scenarios = re.search(r"Scenarios:\s+(\d+)", result.stdout)
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", result.stdout)
    stateful = (f"{scenarios.group(1)} scenarios, {links.group(1)}/{links.group(2)} links" if scenarios and links
                else f"stateful {report['phases']['stateful']['status']}")
    return sent, found, stateful


def drill(context):
    seconds = context.size(90, 8)
    folder = tempfile.mkdtemp(prefix="agentbox-fuzz-")
    stand_in = app = None
    problems = []
    sent, stateful, findings = {}, {}, {}
    try:
        # Limits far above what the fuzzer sends, so a rate-limited stand-in is never the reason of an answer.
        stand_in = harness.StandIn(context.agentbox, folder, ["--rate-limit-per-minute", "1000000", "--rate-limit-per-hour", "1000000"])
        app = harness.Appliance(context.agentbox, options=[
            "--digitalocean-api", stand_in.base, "--reconcile-interval", "0", "--local-toolboxes", "everyone",
            "--token-failures-per-minute", "0"])
        app.start()
        _, user_token = app.user("fuzz-user")
        seed(app, user_token)
        kept = [own_token_id(app, user_token), own_token_id(app, app.admin_token)]
        for who, token in (("user", user_token), ("admin", app.admin_token)):
            sent[who], found, stateful[who] = fuzz(context, app, who, token, seconds, folder, kept)
            for key, line in found.items():
                findings.setdefault(key, (line, []))[1].append(who)
            if app.request("GET", f"{V1}/me", token)[0] != 200:
                problems.append(f"{who}: the fuzzing token stopped working during the run (its results say little)")
        problems += [f"{line} (with the {' and the '.join(whos)} token)" for line, whos in findings.values()]
        with open(app.log_path, errors="replace") as log:
            # One problem per distinct logged error: the time and request id set apart lines of the same fault.
            logged = {re.sub(r"^\S+ |request_id=\S+ ", "", line.strip()): line.strip() for line in log if "request failed" in line}
        problems += [f"the server logged: {line[:400]}" for line in logged.values()]
    finally:
        if app:
            app.remove()
        if stand_in:
            stand_in.stop()
        shutil.rmtree(folder, ignore_errors=True)
    total = sum(sent.values())
    least = context.size(5000, 200)
    if total < least:
        problems.append(f"only {total} requests were sent, fewer than {least}")
    figures = (f"{total:,} requests ({sent.get('user', 0):,} with a user token, {sent.get('admin', 0):,} with the admin's; "
               f"{seconds} s each); checks: no 5xx, status, content type, body schema, negative data rejected, auth "
               f"enforced; stateful on inferred links (the spec declares none): "
               f"{', '.join(f'{who} {text}' for who, text in stateful.items())}")
    return {"cases": total, "failures": len(problems), "figures": figures, "problems": problems}


if __name__ == "_schemathesis_hooks":  # loaded by `schemathesis run` as its hooks file
    import schemathesis

    kept_ids = {token_id.lower() for token_id in os.environ.get(KEEP_TOKENS, "").split(",") if token_id}

    @schemathesis.hook
    def before_call(context, case, kwargs):
        """Keeps the fuzzing tokens alive: a generated revoke or rotate of one of them goes to an unknown id instead,
        so the rest of the run is not answered 401."""
        if "/tokens/{id}" in case.operation.path and str((case.path_parameters or {}).get("id", "")).strip().lower() in kept_ids:
            case.path_parameters["id"] = str(uuid.uuid4())
