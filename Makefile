# The betting platform: line-provider and bet-maker on PostgreSQL and RabbitMQ.
# `make run` to start it, `make test` to test it. See README.md.

CARGO ?= cargo
BIN    := target/debug
SHELL  := /bin/bash

.PHONY: run migrate preflight resync build test test-browser bench bench-smoke lint fmt help \
	up down logs ps restart test-deploy app-image

help:
	@echo "make run      build, migrate and start the services (Ctrl-C stops them)"
	@echo "make migrate  create the databases if missing and apply every migration"
	@echo "make resync   rebuild bet-maker's copy of the line from line-provider (gRPC ListEvents)"
	@echo "make test     every test, against the real PostgreSQL and RabbitMQ"
	@echo "make test-browser  the web pages in Chromium (tests/browser); screenshots in target/browser"
	@echo "make bench    the performance benchmark (release); table + target/bench/results.json"
	@echo "make lint     rustfmt check, clippy with warnings as errors, cargo machete"
	@echo "make up       the whole system in Docker (deploy/); make down [V=1], make logs, make ps, make restart"
	@echo "make test-deploy  builds the images and tests the Docker deployment for real"

build:
	$(CARGO) build --workspace --bins

# PostgreSQL and RabbitMQ are checked first: a build takes minutes, and
# finding out afterwards that the database is down wastes them.
preflight:
	@scripts/preflight.sh

migrate: preflight
	$(CARGO) build --workspace --bins
	$(BIN)/line-provider migrate
	$(BIN)/bet-maker migrate

run: migrate
	@scripts/run.sh

resync: build
	$(BIN)/bet-maker resync

# The benchmark's smoke run goes first; the last line is the total over
# every test binary ("N passed, N failed"), and the exit status is cargo's;
# every binary runs even after one fails, so one run shows every failure.
test:
	@scripts/preflight.sh
	$(CARGO) build --workspace --bins
	$(BIN)/bench --smoke
	@set -o pipefail; $(CARGO) test --workspace --no-fail-fast 2>&1 | tee target/test-output.log; status=$$?; \
	  awk '/^test result:/ { passed += $$4; failed += $$6 } END { printf "%d passed, %d failed\n", passed, failed }' \
	    target/test-output.log; \
	  exit $$status

# The web pages in a real browser: Debian's chromium driven by
# playwright-core (tests/browser), against both services started as
# `make run` starts them, on databases and a vhost of their own.
# `npm ci` runs only when node_modules is missing or older than the lock.
CHROMIUM ?= /usr/bin/chromium
BROWSER_TESTS := tests/browser
test-browser:
	@scripts/preflight.sh
	@test -x "$(CHROMIUM)" || { echo "No Chromium at $(CHROMIUM): apt-get install chromium chromium-driver" \
	  "(or CHROMIUM=/path/to/chromium make test-browser)." >&2; exit 1; }
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "Node.js and npm are needed to drive the browser: apt-get install nodejs npm." >&2; exit 1; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { \
	  echo "playwright-core needs Node.js 20 or newer; this is $$(node --version)." >&2; exit 1; }
	@command -v psql >/dev/null && command -v rabbitmqctl >/dev/null || { \
	  echo "psql and rabbitmqctl are needed: the tests make databases and a vhost of their own." >&2; exit 1; }
	$(CARGO) build --workspace --bins
	@if [ ! -f $(BROWSER_TESTS)/node_modules/.package-lock.json ] || \
	  [ $(BROWSER_TESTS)/package-lock.json -nt $(BROWSER_TESTS)/node_modules/.package-lock.json ]; then \
	  echo "npm ci in $(BROWSER_TESTS)"; cd $(BROWSER_TESTS) && npm ci --no-audit --no-fund; fi
	cd $(BROWSER_TESTS) && CHROMIUM="$(CHROMIUM)" node --test *.test.mjs

bench:
	@scripts/preflight.sh
	$(CARGO) build --release --workspace --bins
	target/release/bench

bench-smoke:
	@scripts/preflight.sh
	$(CARGO) build --workspace --bins
	$(BIN)/bench --smoke

# cargo machete (unused dependencies) runs when installed:
# `cargo install cargo-machete`.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@if command -v cargo-machete >/dev/null; then $(CARGO) machete; \
	  else echo "cargo-machete not installed: skipping the unused-dependency check"; fi

fmt:
	$(CARGO) fmt --all

# --- The Docker deployment (deploy/, README "Run it with Docker") ---------
# `docker compose` (v2) when installed, else Debian's `docker-compose` 1.29.
# Recursive (=), so that only these targets ever look for Docker.
COMPOSE = $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi)
COMPOSE_PROJECT ?= betting
DC = cd deploy && $(COMPOSE) -p $(COMPOSE_PROJECT) -f compose.yaml
APP_IMAGE ?= betting-platform:latest
export APP_IMAGE
# `make up SERVICES="postgres rabbitmq"` starts only those (and what they need).
SERVICES ?=

# The app image is built once here, with plain `docker build` (every replica
# and migration runs it), then compose starts everything without building.
app-image:
	docker build -f deploy/Dockerfile -t $(APP_IMAGE) \
	  --build-arg RUST_IMAGE=$${RUST_IMAGE:-rust:1.95-slim-bookworm} \
	  --build-arg RUNTIME_IMAGE=$${RUNTIME_IMAGE:-debian:bookworm-slim} .

up: app-image
	@deploy/scripts/init-env.sh
	$(DC) up -d --no-build $(SERVICES)
	@deploy/scripts/banner.sh

# Keeps the data; `make down V=1` drops the volumes too.
down:
	$(DC) down --remove-orphans $(if $(V),--volumes)

logs:
	$(DC) logs -f --tail=200 $(SERVICES)

# `make restart SERVICES=rabbitmq` (after a broker password changed, say).
restart:
	$(DC) restart $(SERVICES)

ps:
	$(DC) ps

# Builds the base images from Debian packages, runs the stack and checks it
# through the load balancer; see deploy/test/run.sh.
test-deploy:
	@deploy/test/run.sh
