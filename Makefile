# agentbox: the two commands a new user needs are `make run` and `make test`.
.PHONY: run test fuzz bench-api deps test-deps build clean

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

## deps: Debian packages needed to build and run.
deps:
	scripts/install-deps.sh run

## test-deps: Debian and Python packages needed by the tests.
test-deps:
	scripts/install-deps.sh test

build: deps
	swift build

clean:
	rm -rf .build
