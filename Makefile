# The betting platform: line-provider and bet-maker on PostgreSQL and RabbitMQ.
# `make run` to start it, `make test` to test it. See README.md.

CARGO ?= cargo
BIN    := target/debug
SHELL  := /bin/bash

.PHONY: run migrate preflight resync build test bench bench-smoke lint fmt help

help:
	@echo "make run      build, migrate and start the services (Ctrl-C stops them)"
	@echo "make migrate  create the databases if missing and apply every migration"
	@echo "make resync   rebuild bet-maker's copy of the line from line-provider (gRPC ListEvents)"
	@echo "make test     every test, against the real PostgreSQL and RabbitMQ"
	@echo "make bench    the performance benchmark (release); table + target/bench/results.json"
	@echo "make lint     rustfmt check, clippy with warnings as errors, cargo machete"

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
# every test binary ("N passed, N failed"), and the exit status is cargo's.
test:
	@scripts/preflight.sh
	$(CARGO) build --workspace --bins
	$(BIN)/bench --smoke
	@set -o pipefail; $(CARGO) test --workspace 2>&1 | tee target/test-output.log; status=$$?; \
	  awk '/^test result:/ { passed += $$4; failed += $$6 } END { printf "%d passed, %d failed\n", passed, failed }' \
	    target/test-output.log; \
	  exit $$status

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
