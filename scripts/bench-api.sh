#!/usr/bin/env bash
# Benchmarks the API (not a test): requests/s and p50/p99 latency of a real list route (auth, SQLite,
# 20 rows) beside trivial routes of the same server, measured in one run, with the ratios.
# Loopback only; each run is BENCH_SECONDS (10) long with BENCH_CONNECTIONS (16) connections.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
scripts/install-deps.sh run
command -v wrk >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product agentbox
agentbox=./.build/release/agentbox

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

token=$("$agentbox" admin create bench --json --data-dir "$work/data" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$agentbox" serve --data-dir "$work/data" --port "$port" --log-level warning > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
for i in $(seq -w 1 20); do
  curl -sf -X POST "http://127.0.0.1:$port/api/v1/agents" -H "Authorization: Bearer $token" -d "{\"name\": \"agent-$i\"}" >/dev/null
done

# Prints "requests/s p50_ms p99_ms" for one route.
measure() {
  wrk -t 2 -c "$connections" -d "${seconds}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port$1" \
    | scripts/wrk-summary.py
}

read -r h_rps h_p50 h_p99 < <(measure /healthz)
read -r m_rps m_p50 m_p99 < <(measure /api/v1/me)
read -r l_rps l_p50 l_p99 < <(measure "/api/v1/agents?limit=20")

printf '\nagentbox API benchmark: %s s per route, %s connections, loopback, release build, %s cores\n\n' "$seconds" "$connections" "$(nproc)"
printf '%-44s %10s %9s %9s %14s\n' route "req/s" "p50 ms" "p99 ms" "vs /healthz"
printf '%-44s %10s %9s %9s %14s\n' "GET /healthz (trivial, no auth)" "$h_rps" "$h_p50" "$h_p99" "1.00"
printf '%-44s %10s %9s %9s %14s\n' "GET /api/v1/me (trivial, token check)" "$m_rps" "$m_p50" "$m_p99" "$(python3 -c "print(f'{$m_rps/$h_rps:.2f}')")"
printf '%-44s %10s %9s %9s %14s\n' "GET /api/v1/agents?limit=20 (list, SQLite)" "$l_rps" "$l_p50" "$l_p99" "$(python3 -c "print(f'{$l_rps/$h_rps:.2f}')")"
