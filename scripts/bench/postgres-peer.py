#!/usr/bin/env python3
"""The PostgreSQL peer of agentbox's credential hand-out, for `make bench` (scripts/bench.py).

agentbox hands out a credential from one HTTP route: it checks the caller's rights, opens the credential with
libsodium and writes an audit record, in one SQLite transaction. The stack it replaces did the same in PostgreSQL:
the same tables, the checks and the audit insert in one PL/pgSQL function, credentials decrypted with pgcrypto.
This script measures that peer:

  1. creates a throwaway cluster in a fresh temporary folder (as the `postgres` user when run as root), listening
     on a Unix socket only, with durability on (fsync, synchronous_commit);
  2. loads postgres-peer.sql (schema and handout()) and seeds it with the world of `agentbox bench seed`;
  3. checks the function once: a valid hand-out returns the secret, a capability without permission and a wrong
     toolbox token are denied, and each call writes exactly one audit record;
  4. runs pgbench RUNS times (CLIENTS clients for SECONDS each), every transaction one handout() of a random
     hand-out of the world, and checks that the audit log grew by one record per transaction;
  5. stops the cluster and removes the folder, on every way out (errors, Ctrl-C, SIGTERM).

It prints one JSON line on stdout and its progress on stderr:
  {"peer": "PostgreSQL 15.x", "clients": N, "seconds": S,
   "runs": [{"rate": per_s, "p50_ms": ms, "p99_ms": ms, "transactions": n}, ...]}
Python 3 standard library only.
"""
import argparse
import glob
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "postgres-peer.sql")
# Only names the socket file, which lives in the cluster's private folder: it never clashes with another server.
PORT = "5432"

# Each pgbench transaction: one random hand-out of the world, checked and audited by one call of handout().
PGBENCH_SCRIPT = """\\set b random(1, :nbindings)
SELECT h.code, h.secret FROM bench_bindings b CROSS JOIN LATERAL handout(b.token, b.agent_id, b.instance_id, b.capability) h WHERE b.id = :b;
"""


class PeerError(Exception):
    """The peer could not be measured, or did not behave: the message says why."""


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP: raised wherever the script is, so that the clean-up runs (a BaseException, like
    KeyboardInterrupt, so that nothing handles it by accident)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def log(message):
    print(f"postgres-peer: {message}", file=sys.stderr, flush=True)


def run(command, input=None, cwd=None):
    """Runs a command; its standard output, or a PeerError with the end of its error output.

    The command gets a process group of its own, which is killed whole if the run is cut short: initdb, for one,
    runs a single-user postgres of its own that would outlive it."""
    with subprocess.Popen(command, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(input)
        except BaseException:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise
    if process.returncode != 0:
        raise PeerError(f"{' '.join(command)} failed ({process.returncode}):\n{(stderr or stdout)[-2000:]}")
    return stdout


def default_bindir():
    """The newest /usr/lib/postgresql/<version>/bin (Debian's layout), else the folder of pg_ctl on the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(re.sub(r"\D", "", path.split("/")[4]) or 0))
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


def literal(value):
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def copy_rows(table, columns, rows):
    """A COPY ... FROM STDIN block of psql input for `rows` (tuples in the order of `columns`)."""
    def field(value):
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    lines = ["\t".join(field(value) for value in row) for row in rows]
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN;\n" + "".join(line + "\n" for line in lines) + "\\.\n"


class Cluster:
    """A throwaway PostgreSQL cluster in its own temporary folder; stop() leaves nothing behind."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.folder = tempfile.mkdtemp(prefix="agentbox-pgpeer-")
        self.data = os.path.join(self.folder, "data")
        self.server_log = os.path.join(self.folder, "server.log")
        # initdb refuses to run as root: then the server runs as `postgres`, through setpriv, which execs the command
        # itself (no process in between).
        self.started = False
        self.as_owner = []
        if os.geteuid() == 0:
            self.as_owner = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
            shutil.chown(self.folder, "postgres", "postgres")

    def tool(self, name):
        return os.path.join(self.bindir, name)

    def start(self, clients, vault_key):
        run(self.as_owner + [self.tool("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                             "--no-sync"], cwd=self.folder)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"""
# agentbox bench: the PostgreSQL peer
listen_addresses = ''                   # no TCP at all: the Unix socket below only
unix_socket_directories = '{self.folder}'
port = {PORT}
shared_buffers = 128MB
max_connections = {max(100, clients + 10)}
# Durability stays on, as in agentbox (SQLite synchronous=FULL): every commit is flushed before it returns.
# These are PostgreSQL's defaults, written out so that no one wonders.
fsync = on
synchronous_commit = on
full_page_writes = on
# The vault key (see postgres-peer.sql): random for this cluster only.
peer.vault_key = '{vault_key}'
""")
        self.started = True  # from here on, a server may run (even if pg_ctl is cut short)
        try:
            run(self.as_owner + [self.tool("pg_ctl"), "-D", self.data, "-l", self.server_log, "-w", "start"], cwd=self.folder)
        except PeerError as error:
            raise PeerError(f"{error}\nserver log:\n{self.log_tail()}") from None

    def log_tail(self):
        try:
            with open(self.server_log) as f:
                return f.read()[-2000:]
        except OSError:
            return "(none)"

    def stop(self):
        """Stops the server if it runs (fast, else immediate) and removes the folder."""
        if self.started and os.path.exists(os.path.join(self.data, "postmaster.pid")):
            for mode in ("fast", "immediate"):
                stop = subprocess.run(self.as_owner + [self.tool("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "30", "stop"],
                                      cwd=self.folder, capture_output=True, text=True)
                if stop.returncode == 0:
                    break
                log(f"pg_ctl stop -m {mode} failed: {stop.stderr.strip()}")
        shutil.rmtree(self.folder, ignore_errors=True)

    def psql(self, *arguments, input=None):
        return run([self.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.folder, "-p", PORT, "-U", "postgres",
                    "-d", "postgres", *arguments], input=input)

    def query(self, sql):
        """One statement's result, unaligned, without headers."""
        return self.psql("-At", "-c", sql).strip()


def seed(cluster, world):
    """Loads the world in one transaction: plain rows by COPY; token hashes and encrypted secrets computed by the server."""
    tools = {tool["id"]: tool for tool in world["tools"]}
    credentials = [(c["id"], c["item_id"], c["type"], c["status"], str(uuid.uuid4()), c["secret"]) for c in world["credentials"]]
    script = "".join([
        "CREATE TEMP TABLE seed_tokens (toolbox_id uuid, token text);\n",
        "CREATE TEMP TABLE seed_credentials (id uuid, item_id uuid, type text, status text, secret_id uuid, secret text);\n",
        copy_rows("users", ["id", "name"], [(u["id"], u["name"]) for u in world["users"]]),
        copy_rows("tool_catalog", ["id", "name", "required_capabilities_schema"],
                  [(t["id"], t["name"], json.dumps({name: name for name in t["capabilities"]})) for t in tools.values()]),
        copy_rows("account_tool_environments", ["id", "user_id", "name", "provider", "status"],
                  [(b["id"], b["user_id"], b["name"], b["provider"], b["status"]) for b in world["toolboxes"]]),
        copy_rows("account_tool_instances", ["id", "account_tool_environment_id", "tool_catalog_id", "instance_name_on_toolbox", "status_on_toolbox"],
                  [(i["id"], i["toolbox_id"], i["tool_id"], i["name"], i["status"]) for i in world["instances"]]),
        copy_rows("agents", ["id", "user_id", "name"], [(a["id"], a["user_id"], a["name"]) for a in world["agents"]]),
        copy_rows("agent_toolbox_access", ["agent_id", "account_tool_environment_id"],
                  [(a["agent_id"], a["toolbox_id"]) for a in world["toolbox_access"]]),
        copy_rows("agent_toolbelt_items", ["id", "agent_id", "account_tool_instance_id", "is_active_for_agent"],
                  [(i["id"], i["agent_id"], i["instance_id"], i["is_active"]) for i in world["toolbelt_items"]]),
        copy_rows("agent_tool_capability_permissions", ["agent_toolbelt_item_id", "capability_name", "is_allowed"],
                  [(p["item_id"], p["capability"], p["is_allowed"]) for p in world["permissions"]]),
        copy_rows("seed_tokens", ["toolbox_id", "token"], [(t["toolbox_id"], t["token"]) for t in world["toolbox_tokens"]]),
        copy_rows("seed_credentials", ["id", "item_id", "type", "status", "secret_id", "secret"], credentials),
        copy_rows("bench_bindings", ["id", "token", "agent_id", "instance_id", "capability"],
                  [(n, h["token"], h["agent_id"], h["instance_id"], h["capability"]) for n, h in enumerate(world["handouts"], 1)]),
        "INSERT INTO toolbox_tokens (token_hash, account_tool_environment_id) SELECT digest(token, 'sha256'), toolbox_id FROM seed_tokens;\n",
        # AES-256, like agentbox's 256-bit XChaCha20 key. The vault key is random, not a password, so no key stretching:
        # s2k-mode=1 (salted, not iterated) opens a secret in microseconds, where pgcrypto's default (iterated, a random
        # 65536..253952 count) spends some 0.25-0.3 ms of SHA-1 per open. The cheap mode flatters the peer.
        "INSERT INTO vault.secrets (id, secret) SELECT secret_id, "
        "pgp_sym_encrypt(secret, current_setting('peer.vault_key'), 'cipher-algo=aes256, s2k-mode=1') FROM seed_credentials;\n",
        "INSERT INTO agent_tool_credentials (id, agent_toolbelt_item_id, credential_type, vault_secret_id, status) "
        "SELECT id, item_id, type, secret_id, status FROM seed_credentials;\n",
        # Statistics for the seeded tables only: an audit_log analyzed while empty would make every session plan
        # "the newest record" as a scan of the whole (growing) table; never analyzed, it gets the index.
        "ANALYZE users, tool_catalog, account_tool_environments, toolbox_tokens, account_tool_instances, agents, agent_toolbox_access, "
        "agent_toolbelt_items, agent_tool_capability_permissions, vault.secrets, agent_tool_credentials, bench_bindings;\n",
    ])
    cluster.psql("-1", "-f", "-", input=script)


def self_check(cluster, world):
    """One valid hand-out and two denials, each returning what it should and writing exactly one audit record."""
    binding = world["handouts"][0]
    item = next(i for i in world["toolbelt_items"] if i["agent_id"] == binding["agent_id"] and i["instance_id"] == binding["instance_id"])
    secret = next(c["secret"] for c in world["credentials"] if c["item_id"] == item["id"] and c["status"] == "active")
    instance = next(i for i in world["instances"] if i["id"] == binding["instance_id"])
    capabilities = next(t["capabilities"] for t in world["tools"] if t["id"] == instance["tool_id"])
    allowed = {p["capability"] for p in world["permissions"] if p["item_id"] == item["id"] and p["is_allowed"]}
    denied = next((name for name in capabilities if name not in allowed), None)
    if denied is None:
        raise PeerError("the world has no capability that the first hand-out's agent may not use (agentbox seeds 'shout')")
    calls = [
        ("a valid hand-out", binding, "ok", secret),
        (f"capability {denied!r} without permission", {**binding, "capability": denied}, "capability_denied", None),
        ("a wrong toolbox token", {**binding, "token": "abx_tb_not-a-token"}, "toolbox_token_invalid", None),
    ]
    for label, call, code, expected in calls:
        before = int(cluster.query("SELECT count(*) FROM audit_log"))
        arguments = ", ".join(literal(call[key]) for key in ("token", "agent_id", "instance_id", "capability"))
        answer = json.loads(cluster.query(f"SELECT row_to_json(h) FROM handout({arguments}) h"))
        written = int(cluster.query("SELECT count(*) FROM audit_log")) - before
        if answer != {"code": code, "secret": expected} or written != 1:
            raise PeerError(f"self-check failed for {label}: expected code {code!r} "
                            f"{'with the secret' if expected else 'without a secret'} and 1 audit record, "
                            f"got code {answer.get('code')!r} {'with' if answer.get('secret') else 'without'} a secret "
                            f"and {written} audit record(s)")


def percentile(ordered, fraction):
    """Nearest-rank percentile of a sorted list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(cluster, number, clients, seconds, bindings):
    """One pgbench run: rate, latency percentiles and transaction count, after checking the audit log kept up."""
    script = os.path.join(cluster.folder, "handout.pgbench")
    with open(script, "w") as f:
        f.write(PGBENCH_SCRIPT)
    count, last = map(int, cluster.query("SELECT count(*), coalesce(max(seq), 0) FROM audit_log").split("|"))
    prefix = os.path.join(cluster.folder, f"run{number}")
    output = run([cluster.tool("pgbench"), "-n", "-h", cluster.folder, "-p", PORT, "-U", "postgres", "-c", str(clients),
                  "-j", str(min(clients, 2)), "-T", str(seconds), "-D", f"nbindings={bindings}", "-f", script,
                  "--log", f"--log-prefix={prefix}", "postgres"])
    rate = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", output, re.M)
    processed = re.search(r"^number of transactions actually processed: (\d+)", output, re.M)
    if not rate or not processed:
        raise PeerError(f"pgbench's report has no tps or transaction count:\n{output[-2000:]}")
    transactions = int(processed.group(1))
    # Per-transaction log lines: client, transaction number, latency in microseconds, ...
    latencies = []
    for path in glob.glob(prefix + ".*"):
        with open(path) as f:
            latencies += [int(fields[2]) for fields in map(str.split, f) if len(fields) > 2 and fields[2].isdigit()]
    if not latencies:
        raise PeerError("pgbench wrote no per-transaction log")
    latencies.sort()
    total, denied = map(int, cluster.query(
        f"SELECT count(*), count(*) FILTER (WHERE seq > {last} AND outcome <> 'ok') FROM audit_log").split("|"))
    grown = total - count
    if grown < transactions:
        raise PeerError(f"audit log grew by {grown} records for {transactions} transactions: hand-outs went unaudited")
    if grown != transactions:
        log(f"warning: audit log grew by {grown} records for {transactions} transactions reported by pgbench")
    if denied:
        raise PeerError(f"{denied} of the run's hand-outs were denied: the peer measured denials, not hand-outs")
    return {"rate": float(rate.group(1)), "p50_ms": percentile(latencies, 0.50) / 1000, "p99_ms": percentile(latencies, 0.99) / 1000,
            "transactions": transactions}


def check_chain(cluster):
    """Every audit record follows the one before it: the appenders really took turns."""
    broken = int(cluster.query(
        "SELECT count(*) FROM (SELECT prev_hash, lag(hash, 1, '\\x" + "00" * 32 + "'::bytea) OVER (ORDER BY seq) AS before "
        "FROM audit_log) records WHERE prev_hash <> before"))
    if broken:
        raise PeerError(f"audit chain broken at {broken} record(s): appenders were not serialised")


def arguments():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Measures a PL/pgSQL hand-out (the same checks, pgcrypto decryption and a "
        "hash-chained audit insert in one function) under pgbench, in a throwaway cluster that it removes afterwards. "
        "Prints one JSON line {peer, clients, seconds, runs: [{rate, p50_ms, p99_ms, transactions}]} on stdout; progress "
        "on stderr; exits non-zero if the function's self-check or the audit count after a run fails.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    def positive(text):
        if not text.isdigit() or int(text) == 0:
            raise argparse.ArgumentTypeError(f"not a positive integer: {text}")
        return int(text)
    parser.add_argument("--world", required=True, help="the world JSON of `agentbox bench seed` (users, toolboxes, instances, "
                        "agents, toolbelt items, permissions, credentials, toolbox tokens, hand-outs)")
    parser.add_argument("--clients", type=positive, default=4, help="pgbench clients (-c); threads are min(clients, 2)")
    parser.add_argument("--seconds", type=positive, default=10, help="length of each run (pgbench -T)")
    parser.add_argument("--runs", type=positive, default=3, help="how many runs")
    parser.add_argument("--pg-bin", default=default_bindir(), help="folder of initdb, pg_ctl, psql and pgbench")
    return parser.parse_args()


def main():
    options = arguments()
    if not options.pg_bin or not os.path.exists(os.path.join(options.pg_bin, "initdb")):
        log(f"no PostgreSQL server binaries in {options.pg_bin}: install the postgresql package or give --pg-bin")
        return 1
    with open(options.world) as f:
        world = json.load(f)

    # Ctrl-C, SIGTERM and SIGHUP end the run through the `finally` below, which stops the server. SIGINT gets a
    # handler too because a shell without job control starts background commands with SIGINT ignored.
    def leave(signum, frame):
        raise Interrupted(signum)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, leave)

    cluster = Cluster(options.pg_bin)
    try:
        log(f"starting a throwaway cluster in {cluster.folder}")
        cluster.start(options.clients, secrets.token_hex(32))
        peer = "PostgreSQL " + cluster.query("SHOW server_version").split()[0]
        cluster.psql("-f", SCHEMA)
        log(f"seeding {len(world['toolboxes'])} toolboxes, {len(world['instances'])} instances, {len(world['agents'])} agents, "
            f"{len(world['handouts'])} hand-outs")
        seed(cluster, world)
        self_check(cluster, world)
        log("self-check passed: a hand-out, a denied capability and a wrong token, one audit record each")
        runs = []
        for number in range(1, options.runs + 1):
            result = measure(cluster, number, options.clients, options.seconds, len(world["handouts"]))
            log(f"run {number}/{options.runs}: {result['rate']:.0f}/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                f"{result['transactions']} transactions")
            runs.append(result)
        check_chain(cluster)
        print(json.dumps({"peer": peer, "clients": options.clients, "seconds": options.seconds, "runs": runs}), flush=True)
        return 0
    except PeerError as error:
        log(f"error: {error}")
        return 1
    except Interrupted as interruption:
        log(f"interrupted by {interruption}")
        return 128 + interruption.signum
    finally:
        # No second signal may cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        log("stopping the cluster and removing its folder")
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
