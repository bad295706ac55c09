# agentbox: the two commands a new user needs are `make run` and `make test`.
.PHONY: run test fuzz bench-api bench-deploy bench-calls deps test-deps deb test-package build clean

DATA_DIR ?= ./data

## run: install what is missing, build, and start `agentbox serve` on embedded defaults.
run: deps
	swift build --product agentbox
	./.build/debug/agentbox serve --data-dir $(DATA_DIR)

## test: install what tests need, start the services they use, run every test, stop the services.
test: test-deps
	scripts/test.sh

## fuzz: schemathesis against the API's own OpenAPI description, loopback only, FUZZ_SECONDS (120) long.
fuzz:
	scripts/fuzz.sh

## bench-api: requests/s and p50/p99 of a list route beside trivial routes of the same server (not a test).
bench-api:
	scripts/bench-api.sh

## bench-calls: tool calls through agentbox beside the same request straight to the container (calls/s, p50/p99, added ms), and hand-outs/s (not a test).
bench-calls:
	scripts/bench-calls.sh

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
