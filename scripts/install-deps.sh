#!/usr/bin/env bash
# Installs what agentbox needs on Debian 12, and nothing that is already there.
#   scripts/install-deps.sh run    build and run
#   scripts/install-deps.sh test   build, run and test
#   scripts/install-deps.sh package        build the Debian package and check it (`make deb`)
#   scripts/install-deps.sh package-test   that, and install-test it in a Debian 12 container (`make test-package`)
#   scripts/install-deps.sh bench  what `make bench` needs besides the tests' services
set -euo pipefail

want=${1:-run}
run_packages=(pkg-config libsqlite3-dev libsodium-dev libcurl4-openssl-dev)
# docker.io: the engine (dockerd) and CLI; docker-registry, busybox-static, apache2-utils (htpasswd), curl:
# the registries and tool images of scripts/test-services.sh. cloud-init: `cloud-init schema` checks droplets' user-data.
# postgresql: the hosted stack's database that `agentbox import postgres` reads, started by its test.
# chromium, chromium-driver: the headless browser the web console's tests drive (with selenium from PyPI).
test_packages=(sqlite3 python3 python3-nacl docker.io docker-registry busybox-static apache2-utils curl cloud-init postgresql chromium chromium-driver)
# dpkg-dev (dpkg-shlibdeps), binutils (strip, readelf), lintian: packaging/build-deb.sh. debootstrap,
# systemd (systemd-analyze) and, for the engine it may start, what scripts/test-services.sh needs:
# packaging/test-package.sh; python3-yaml reads a droplet's user-data in packaging/test-droplet-user-data.sh.
package_packages=(dpkg-dev binutils lintian)
package_test_packages=(debootstrap systemd docker.io docker-registry busybox-static apache2-utils curl python3-yaml)
# wrk: the load generator; postgresql (server, pgcrypto, pgbench, also a test package): the peer agentbox replaces; binutils: strip.
bench_packages=(wrk binutils)

packages=("${run_packages[@]}")
case $want in
  run) ;;
  test) packages+=("${test_packages[@]}") ;;
  package) packages+=("${package_packages[@]}") ;;
  package-test) packages+=("${package_packages[@]}" "${package_test_packages[@]}") ;;
  bench) packages+=("${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 run|test|package|package-test|bench" >&2; exit 1 ;;
esac

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$want" = test ]; then
  # The python3 first on PATH may not be Debian's (pyenv, a venv): give it what the tests import, from PyPI.
  #   nacl: opens a sealed record independently; jsonschema: the oracle of the JSON Schema differential test;
  #   openapi_spec_validator: checks the served OpenAPI document; selenium: drives chromium in the console's tests;
  #   mcp: the official MCP client that checks /mcp; schemathesis: the API fuzzing drill (`make drills`, `make fuzz`).
  wanted=()
  for pair in nacl.bindings:pynacl jsonschema:jsonschema openapi_spec_validator:openapi-spec-validator selenium:selenium mcp.client.streamable_http:mcp schemathesis:schemathesis; do
    python3 -c "import ${pair%%:*}" 2>/dev/null || wanted+=("${pair#*:}")
  done
  if [ ${#wanted[@]} -gt 0 ]; then
    echo "installing from PyPI for $(command -v python3): ${wanted[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${wanted[@]}" \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${wanted[@]}"
  fi
fi
