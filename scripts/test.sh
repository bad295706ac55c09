#!/usr/bin/env bash
# Builds once, runs every test target, and fails on any compiler warning in the project's own code.
# Services the tests use are started here and stopped on exit (later issues add dockerd and a registry).
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

swift build --build-tests 2>&1 | tee "$log"
if grep -E "^/.*/(Sources|Tests)/.*: warning:" "$log" | grep -v "/.build/" ; then
  echo "the build has compiler warnings in agentbox's own code (above); fix them" >&2
  exit 1
fi

swift test --skip-build
