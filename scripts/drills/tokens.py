"""Tokens drill: a token check takes no usable longer for a near guess than for a far one, revoked and expired tokens
are refused, and guessing from one address is answered 429 (and only from that address)."""
import base64
import hashlib
import http.client
import random
import secrets
import statistics
import time

import harness


def checksummed(head):
    """A well-formed token for `head` (`abx_<kind>_<43 characters>`): the 6-character checksum agentbox checks first."""
    digest = base64.urlsafe_b64encode(hashlib.blake2b(head.encode(), digest_size=16).digest()).decode().rstrip("=")
    return head + digest[:6]


def changed_at(token, index):
    """`token` with the random character at `index` (of its 43) changed, checksum fixed: a guess this close to it."""
    head = list(token[:-6])
    position = len("abx_u_") + index
    head[position] = "A" if head[position] != "A" else "B"
    return checksummed("".join(head))


def elapsed(app, token):
    started = time.perf_counter()
    status = app.request("GET", "/api/v1/me", token)[0]
    return (time.perf_counter() - started) * 1e6, status


def timing(app, token, samples):
    """Microseconds per check of: the valid token, a guess differing only in its last character, one differing in its
    first, and random well-formed tokens; sampled interleaved in random order so drift hits every class alike."""
    classes = {
        "valid": lambda: token,
        "near guess": lambda: changed_at(token, 42),
        "far guess": lambda: changed_at(token, 0),
        "random": lambda: checksummed("abx_u_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")),
    }
    times = {name: [] for name in classes}
    order = [name for name in classes for _ in range(samples)]
    random.shuffle(order)
    for _ in range(20):  # warm-up
        elapsed(app, token)
    problems = []
    for name in order:
        micros, status = elapsed(app, classes[name]())
        if status != (200 if name == "valid" else 401):
            problems.append(f"a {name} token was answered {status}")
        times[name].append(micros)
    return times, problems


def bootstrap_interval(a, b, rounds=2000):
    """A 95% interval of median(a) - median(b) by resampling."""
    differences = sorted(statistics.median(random.choices(a, k=len(a))) - statistics.median(random.choices(b, k=len(b))) for _ in range(rounds))
    return differences[int(rounds * 0.025)], differences[int(rounds * 0.975)]


def from_address(app, address, method, path, token):
    """A request whose source is `address` (another loopback address: 127.0.0.0/8 all reaches 127.0.0.1)."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10, source_address=(address, 0))
    try:
        connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        return response.status, response.getheader("Retry-After"), response.read()
    finally:
        connection.close()


def lifecycle(app):
    """Revoked, expired and rotated-away tokens are refused with a message saying which; (cases, problems)."""
    problems = []
    user_id, user_token = app.user("drill-lifecycle")
    revoked = app.api(user_token, "POST", "/api/v1/tokens", {"name": "revoked"})
    app.api(user_token, "DELETE", f"/api/v1/tokens/{revoked['info']['id']}")
    expiring = app.api(user_token, "POST", "/api/v1/tokens", {"name": "expiring", "expires_in_seconds": 1})
    agent = app.api(user_token, "POST", "/api/v1/agents", {"name": "drill-agent"})
    agent_token = app.api(user_token, "POST", f"/api/v1/agents/{agent['id']}/tokens", {"name": "revoked"})
    app.api(user_token, "DELETE", f"/api/v1/tokens/{agent_token['info']['id']}")
    time.sleep(1.5)
    cases = [("revoked user token", revoked["token"], "revoked"), ("expired user token", expiring["token"], "expired"),
             ("revoked agent token", agent_token["token"], "revoked")]
    for name, token, word in cases:
        status, _, body = app.request("GET", "/api/v1/me", token)
        if status != 401 or word not in body.decode(errors="replace"):
            problems.append(f"a {name} was answered {status}: {body[:200]!r}")
    if app.request("GET", "/api/v1/me", user_token)[0] != 200:
        problems.append("the user's live token stopped working")
    return len(cases) + 1, problems


def brute_force(app, limit, guesses):
    """`guesses` random tokens from 127.0.0.1: the first `limit` are 401, the rest 429 with Retry-After; then a valid
    token from there is 429 too, from 127.0.0.2 it is 200, and /mcp and the console's sign-in refuse 127.0.0.1 alike."""
    problems = []
    statuses = []
    for _ in range(guesses):
        guess = checksummed("abx_u_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))
        status, retry_after, _ = from_address(app, "127.0.0.1", "GET", "/api/v1/me", guess)
        statuses.append(status)
        if status == 429 and not (retry_after or "").isdigit():
            problems.append("a 429 came without a Retry-After in seconds")
    expected = [401] * limit + [429] * (guesses - limit)
    if statuses != expected:
        problems.append(f"guesses were answered {statuses.count(401)} x 401 then {statuses.count(429)} x 429 (others: "
                        f"{[s for s in statuses if s not in (401, 429)]}); expected {limit} x 401 then 429")
    if from_address(app, "127.0.0.1", "GET", "/api/v1/me", app.admin_token)[0] != 429:
        problems.append("a valid token from the limited address was not refused (a guess could be confirmed)")
    if from_address(app, "127.0.0.2", "GET", "/api/v1/me", app.admin_token)[0] != 200:
        problems.append("another address was refused while 127.0.0.1 was limited")
    mcp = app.request("POST", "/mcp", app.admin_token, {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                      headers={"Accept": "application/json, text/event-stream"})[0]
    if mcp != 429:
        problems.append(f"/mcp answered {mcp} to the limited address")
    _, headers, page = app.request("GET", "/console/sign-in")
    csrf = page.decode().split('name="csrf" value="')[1].split('"')[0]
    cookie = headers.get("Set-Cookie", "").split(";")[0]
    console = app.request("POST", "/console/sign-in", body=f"csrf={csrf}&token={app.admin_token}".encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})[0]
    if console != 429:
        problems.append(f"the console's sign-in answered {console} to the limited address")
    return guesses + 4, problems, statuses.count(429)


def drill(context):
    samples = context.size(400, 100)
    problems = []
    timing_app = harness.Appliance(context.agentbox, options=["--reconcile-interval", "0", "--token-failures-per-minute", "0"])
    try:
        timing_app.start()
        _, token = timing_app.user("drill-timing")
        times, found = timing(timing_app, token, samples)
        problems += found
        lifecycle_cases, found = lifecycle(timing_app)
        problems += found
    finally:
        timing_app.remove()
    medians = {name: statistics.median(values) for name, values in times.items()}
    low, high = bootstrap_interval(times["near guess"], times["random"])
    # A usable leak would make a near guess measurably slower or faster than a random one: the 95% interval of the
    # difference of medians must include 0 or stay within 5% of the median check.
    bound = 0.05 * medians["random"]
    if not (low <= 0 <= high or max(abs(low), abs(high)) <= bound):
        problems.append(f"a near guess differs from a random one by {low:+.0f}..{high:+.0f} us (95%), beyond 0 and {bound:.0f} us")
    limited_app = harness.Appliance(context.agentbox, options=["--reconcile-interval", "0", "--token-failures-per-minute", "20"])
    try:
        limited_app.start()
        brute_cases, found, refused = brute_force(limited_app, 20, context.size(100, 30))
        problems += found
    finally:
        limited_app.remove()
    figures = (f"median check valid {medians['valid']:.0f} us, near guess {medians['near guess']:.0f}, far guess "
               f"{medians['far guess']:.0f}, random {medians['random']:.0f} (near-random 95%: {low:+.0f}..{high:+.0f} us); "
               f"revoked/expired refused; {refused} guesses answered 429 after 20 failures")
    return {"cases": 4 * samples + lifecycle_cases + brute_cases, "failures": len(problems), "figures": figures, "problems": problems}
