#!/usr/bin/env python3
"""make drills: proves, with figures, that agentbox keeps working, loses nothing and lets no one in under load,
faults and bad input.

Each drill (scripts/drills/<name>.py, a `drill(context)` function) is bounded in time, talks to loopback only, stops everything it started and
returns its figures; this runs them one after another and prints one table: drill, cases, failures, figures. The
table is also written as JSON to results/drills-<time>.json. A drill that breaks counts as failed without losing the
others; the command fails when any drill has a failure.

  DRILLS_ONLY=fuzz,isolation,...   picks drills (default: all, in the order below)
  DRILLS_QUICK=1                   the fast subset's sizes (what `make test` runs): fewer cycles, shorter runs
  AGENTBOX_BIN=path                drills this binary instead of building the release one
"""
import importlib
import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

import harness  # noqa: E402

DRILLS = ["tokens", "isolation", "hygiene", "fuzz", "crash", "engine_faults", "digitalocean_faults", "soak"]
QUICK_DRILLS = ["tokens", "isolation", "hygiene", "crash"]


class Context:
    """What every drill gets: the binary to drill, whether to run the quick sizes, and a logger."""

    def __init__(self, agentbox, quick):
        self.agentbox = agentbox
        self.quick = quick

    def size(self, full, quick):
        return quick if self.quick else full

    def log(self, message):
        harness.log("drills", message)


def main():
    quick = os.environ.get("DRILLS_QUICK") == "1"
    only = [name for name in os.environ.get("DRILLS_ONLY", ",".join(QUICK_DRILLS if quick else DRILLS)).split(",") if name]
    unknown = [name for name in only if name not in DRILLS]
    if unknown:
        raise harness.HarnessError(f"DRILLS_ONLY names unknown drills {unknown}; use some of {','.join(DRILLS)}")
    harness.log("drills", "building the release binary" if "AGENTBOX_BIN" not in os.environ else f"drilling {os.environ['AGENTBOX_BIN']}")
    context = Context(harness.release_binary(products=("agentbox", "agentbox-do-sim")), quick)
    services_were_up = harness.services_up()
    if not services_were_up:
        harness.log("drills", "starting the test services (Docker engine, registries)")
        harness.run(harness.TEST_SERVICES, "start")
    results = []
    try:
        for name in only:
            harness.log("drills", f"{name}: starting")
            started = time.monotonic()
            try:
                result = importlib.import_module(name).drill(context)
            except Exception as error:  # a drill that breaks is one failed row, not a lost table
                traceback.print_exc()
                result = {"cases": 0, "failures": 1, "figures": f"the drill broke: {str(error).splitlines()[0] if str(error) else type(error).__name__}"}
            result.update(drill=name, seconds=round(time.monotonic() - started, 1))
            for problem in result.get("problems", [])[:20]:
                harness.log("drills", f"{name}: {problem}")
            harness.log("drills", f"{name}: {result['cases']} cases, {result['failures']} failures, {result['seconds']} s")
            results.append(result)
    finally:
        if not services_were_up:
            harness.run(harness.TEST_SERVICES, "stop")
    header = f"agentbox drills, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {'quick' if quick else 'full'} sizes, {os.cpu_count()} cores"
    print(f"\n{header}\n")
    print("| drill | cases | failures | seconds | figures |")
    print("|---|---|---|---|---|")
    for result in results:
        print(f"| {result['drill']} | {result['cases']:,} | {result['failures']} | {result['seconds']} | {result['figures']} |")
    print()
    os.makedirs(os.path.join(harness.ROOT, "results"), exist_ok=True)
    path = os.path.join(harness.ROOT, "results", f"drills-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json")
    with open(path, "w") as f:
        json.dump({"header": header, "drills": results}, f, indent=2)
    print(f"written to {os.path.relpath(path, harness.ROOT)}")
    failed = [result["drill"] for result in results if result["failures"]]
    if failed:
        raise harness.HarnessError(f"{len(failed)} drill(s) found failures: {', '.join(failed)}")


if __name__ == "__main__":
    try:
        main()
    except harness.HarnessError as error:
        sys.exit(f"drills: {error}")
    except KeyboardInterrupt:
        sys.exit(130)
