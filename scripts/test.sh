#!/usr/bin/env bash
# Builds once, runs every test target, and fails on any compiler warning in the project's own code.
# The real services the tests use (a Docker engine, two registries on 127.0.0.1, small tool images:
# scripts/test-services.sh) are started here, and what was started is stopped on exit. Services that
# already ran before (a developer's `scripts/test-services.sh start`) are left running.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
services_were_up=false
cleanup() {
  rm -f "$log"
  if [ "$services_were_up" = false ]; then scripts/test-services.sh stop || true; fi
}
trap cleanup EXIT

swift build --build-tests 2>&1 | tee "$log"
if grep -E "^/.*/(Sources|Tests)/.*: warning:" "$log" | grep -v "/.build/" ; then
  echo "the build has compiler warnings in agentbox's own code (above); fix them" >&2
  exit 1
fi

if scripts/test-services.sh status; then services_were_up=true; fi
scripts/test-services.sh start
# AGENTBOX_TEST_REGISTRY, AGENTBOX_TEST_PRIVATE_REGISTRY, AGENTBOX_TEST_REGISTRY_PASSWORD_FILE, ... for the tests.
eval "$(scripts/test-services.sh env)"

# One test at a time: Foundation's Process.run() on Linux reads /proc/self/fd while it spawns, and crashed
# (a bad pointer in memcpy) when other tests opened and closed descriptors at the same moment.
swift test --skip-build --no-parallel

# The drills' fast subset (tokens, isolation, secret hygiene, kill -9 crashes) on the debug build; `make drills` runs them all.
AGENTBOX_BIN=.build/debug/agentbox DRILLS_QUICK=1 scripts/drills/run.py
