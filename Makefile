# agentbox: the two commands a new user needs are `make run` and `make test`.
.PHONY: run test fuzz drills bench bench-deploy deps test-deps deb test-package build clean

DATA_DIR ?= ./data

## run: install what is missing, build, and start `agentbox serve` on embedded defaults.
run: deps
	swift build --product agentbox
	./.build/debug/agentbox serve --data-dir $(DATA_DIR)

## test: install what tests need, start the services they use, run every test, stop the services.
test: test-deps
	scripts/test.sh

## fuzz: only the fuzzing drill (schemathesis against the API's own OpenAPI description, loopback only).
fuzz: test-deps
	DRILLS_ONLY=fuzz scripts/drills/run.py

## drills: reliability and security drills (fuzzing, isolation, kill -9 crashes, engine and DigitalOcean faults, a
## 10-minute soak, secret hygiene, tokens); one summary table, also written to results/ (DRILLS_ONLY, DRILLS_QUICK:
## see scripts/drills/run.py). About 30 minutes; `make test` runs the quick subset.
drills: test-deps
	scripts/drills/run.py

## bench: agentbox against its ceilings and the PostgreSQL stack it replaces, side by side; one table, also written to
## results/ (not a test; BENCH_SECONDS, BENCH_RUNS, BENCH_CONNECTIONS, BENCH_ONLY: see scripts/bench.py).
bench:
	scripts/bench.py

## bench-deploy: BENCH_N (10) deploys through agentbox, then as many `docker run -d`, one after another; times and ratio (not a test).
bench-deploy:
	scripts/bench-deploy.sh

## deps: Debian packages needed to build and run.
deps:
	scripts/install-deps.sh run

## test-deps: Debian and Python packages needed by the tests.
test-deps:
	scripts/install-deps.sh test

## deb: a release build (Swift runtime linked statically) packaged as agentbox_VERSION_amd64.deb, checked with lintian.
deb:
	scripts/install-deps.sh package
	packaging/build-deb.sh

## test-package: builds the .deb, installs it in a clean Debian 12 container (debootstrap) and checks the install.
test-package:
	scripts/install-deps.sh package-test
	packaging/test-package.sh

build: deps
	swift build

clean:
	rm -rf .build .build-release
