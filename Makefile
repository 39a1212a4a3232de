# The betting platform: line-provider (and bet-maker) on PostgreSQL and RabbitMQ.
# `make run` to start it, `make test` to test it. See README.md.

CARGO ?= cargo
BIN    := target/debug

.PHONY: run migrate build test lint fmt help

help:
	@echo "make run      build, migrate and start the services (Ctrl-C stops them)"
	@echo "make migrate  create the databases if missing and apply every migration"
	@echo "make test     every test, against the real PostgreSQL and RabbitMQ"
	@echo "make lint     rustfmt check and clippy with warnings as errors"

build:
	$(CARGO) build --workspace --bins

migrate: build
	@scripts/preflight.sh
	$(BIN)/line-provider migrate

run: migrate
	@echo "line-provider: http://127.0.0.1:$${LINE_PROVIDER_PORT:-8100}/docs  (operator token: see .env)"
	$(BIN)/line-provider serve

test:
	@scripts/preflight.sh
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
