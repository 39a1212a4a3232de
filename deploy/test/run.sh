#!/usr/bin/env bash
# `make test-deploy`: the Docker deployment, built and run for real on this
# machine, and checked from outside through the load balancer.
#
#  1. the tools: the Docker engine (started if it is not running),
#     docker-compose, debootstrap;
#  2. the base images, from Debian packages (images.sh; cached), since no
#     public image registry is reachable here;
#  3. `make up` on them, as its own compose project (betting-test) on ports
#     of its own, so a `make up` of yours is left alone; Grafana and Jaeger
#     are not started (no Debian package, no image here): the dashboard's
#     queries are checked against Prometheus instead;
#  4. the check (system-tests/src/bin/deploy_check.rs): the betting flow
#     through the load balancer, with one replica of each service stopped
#     midway, the broker's users and message flow, /metrics refused (404)
#     through the load balancer, Prometheus's targets (each replica's
#     management port) and the dashboard's queries;
#  5. one trace spanning both services, received by an OTLP receiver the
#     test runs on this machine (system-tests' otlp_receiver);
#  6. the browser tests (deploy/test/browser): both Swagger UIs, RabbitMQ's
#     admin panel, Prometheus's graph page, with screenshots;
#  7. `make down V=1` (also on failure; KEEP_STACK=1 keeps it running).
# Logs of every container are kept in target/deploy-test/.
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$SECONDS
log() { printf 'test-deploy [%4ss]: %s\n' "$((SECONDS - started))" "$*"; }
artefacts=target/deploy-test
mkdir -p "$artefacts"

# --- 1. Tools --------------------------------------------------------------
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}
command -v dockerd >/dev/null || { log "installing the Docker engine (docker.io)"; apt_install docker.io; }
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  log "installing docker-compose"
  apt_install docker-compose
fi
command -v debootstrap >/dev/null || { log "installing debootstrap"; apt_install debootstrap; }
for tool in openssl curl jq; do
  command -v "$tool" >/dev/null || apt_install "$tool"
done

if ! docker info >/dev/null 2>&1; then
  log "starting the Docker engine (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

# --- 2. Base images ----------------------------------------------------------
log "base images (cached after the first run)"
deploy/test/images.sh

# --- 3. The stack --------------------------------------------------------------
# The stand-ins for the official images, and the classic builder (the one
# Debian's docker-compose 1.29 uses).
export DOCKER_BUILDKIT=0
export RUST_IMAGE=betting-local/rust:1.95-bookworm
export RUNTIME_IMAGE=betting-local/debian:bookworm
export POSTGRES_IMAGE=betting-local/postgres:15
export RABBITMQ_IMAGE=betting-local/rabbitmq:3-management
export HAPROXY_IMAGE=betting-local/haproxy:bookworm
export PROMETHEUS_IMAGE=betting-local/prometheus:bookworm
export PGADMIN_IMAGE=betting-local/pgadmin4:pypi
export APP_IMAGE=betting-platform:test-deploy
export COMPOSE_PROJECT=betting-test
# Ports of its own (a `make up` of yours keeps the defaults).
export BET_MAKER_PUBLIC_PORT=18080 LINE_PROVIDER_PUBLIC_PORT=18100 LINE_PROVIDER_PUBLIC_GRPC_PORT=15051
export RABBITMQ_ADMIN_PORT=15673 PGADMIN_PORT=15050 PROMETHEUS_PORT=19090
# A network of its own too: two stacks cannot share a subnet.
export COMPOSE_SUBNET=172.31.251.0/24 COMPOSE_CONTAINER_RANGE=172.31.251.128/25

# Traces: Jaeger has no image here, so the services export OTLP to a small
# receiver of the test's own on this machine (system-tests' otlp_receiver,
# one JSON line per span), which every app container reaches as
# host.docker.internal.
export OTLP_RECEIVER_PORT=${OTLP_RECEIVER_PORT:-14317}
export OTEL_EXPORTER_OTLP_ENDPOINT=http://host.docker.internal:$OTLP_RECEIVER_PORT
spans=$artefacts/spans.jsonl

for port in $BET_MAKER_PUBLIC_PORT $LINE_PROVIDER_PUBLIC_PORT $LINE_PROVIDER_PUBLIC_GRPC_PORT \
  $RABBITMQ_ADMIN_PORT $PGADMIN_PORT $PROMETHEUS_PORT $OTLP_RECEIVER_PORT; do
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    log "port $port is taken: stop what uses it (or a stack left by KEEP_STACK=1: make down V=1 COMPOSE_PROJECT=betting-test)"
    exit 1
  fi
done

if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
dc() { (cd deploy && "${compose[@]}" -p "$COMPOSE_PROJECT" -f compose.yaml "$@"); }

receiver=
finish() {
  local status=$?
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null
  dc ps >"$artefacts/ps.txt" 2>&1 || true
  dc logs --no-color >"$artefacts/compose.log" 2>&1 || true
  if [ "${KEEP_STACK:-0}" = 1 ]; then
    log "KEEP_STACK=1: the stack stays up (make down V=1 COMPOSE_PROJECT=$COMPOSE_PROJECT)"
  else
    log "make down V=1"
    make --no-print-directory down V=1 >/dev/null 2>&1 || log "make down failed"
  fi
  if [ "$status" = 0 ]; then
    log "PASSED in $((SECONDS - started)) s"
  else
    log "FAILED (exit $status); container logs: $artefacts/compose.log"
  fi
}
trap finish EXIT

# The checker is built while nothing else is: cargo and docker build both
# want the two cores.
log "building the checker (deploy_check) and the OTLP receiver"
cargo build -q -p system-tests --bin deploy_check --bin otlp_receiver
: >"$spans"
target/debug/otlp_receiver "0.0.0.0:$OTLP_RECEIVER_PORT" --out "$spans" 2>"$artefacts/otlp_receiver.log" &
receiver=$!

services=(postgres rabbitmq line-provider-migrate bet-maker-migrate line-provider-1 line-provider-2
  bet-maker-1 bet-maker-2 load-balancer prometheus pgadmin)
log "make up (without grafana and jaeger)"
make --no-print-directory up SERVICES="${services[*]}"

# Every long-running container must report healthy.
for service in "${services[@]}"; do
  case $service in *-migrate) continue ;; esac
  id=$(dc ps -q "$service")
  for _ in $(seq 1 120); do
    health=$(docker inspect -f '{{.State.Health.Status}}' "$id")
    [ "$health" = healthy ] && break
    sleep 1
  done
  [ "$health" = healthy ] || { log "$service is $health"; exit 1; }
done
log "every container healthy"

# --- 4. The check --------------------------------------------------------------
# shellcheck source=../../scripts/dotenv.sh
. scripts/dotenv.sh
load_dotenv deploy/.env
run=$(date +%s)
bettors=()
for n in 1 2 3 4 5 6; do
  name=deploy-$run-$n
  bettors+=("$name=$(docker exec "$(dc ps -q bet-maker-1)" bet-maker token "$name" --ttl 1h)")
done
export DEPLOY_BET_MAKER_URL=http://127.0.0.1:$BET_MAKER_PUBLIC_PORT
export DEPLOY_LINE_PROVIDER_URL=http://127.0.0.1:$LINE_PROVIDER_PUBLIC_PORT
export DEPLOY_OPERATOR_TOKEN=$LINE_PROVIDER_ADMIN_TOKEN
export DEPLOY_BETTOR_TOKENS="${bettors[*]}"
export DEPLOY_RABBITMQ_URL=http://127.0.0.1:$RABBITMQ_ADMIN_PORT
export DEPLOY_RABBITMQ_USER=$RABBITMQ_ADMIN_USER DEPLOY_RABBITMQ_PASSWORD=$RABBITMQ_ADMIN_PASSWORD
export DEPLOY_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
export DEPLOY_DASHBOARD=deploy/grafana/dashboards/betting.json
export DEPLOY_STOP_MID_FLOW="line-provider-2=$(dc ps -q line-provider-2) bet-maker-2=$(dc ps -q bet-maker-2)"

log "checking the flow through the load balancer"
target/debug/deploy_check flow

# gRPC through the load balancer (HTTP/2 end to end): the standard health
# service must say SERVING for line.v1.LineService. grpcurl is no Debian
# package; curl speaks h2c, and the messages are five bytes of framing
# around a protobuf: the request's field 1 is the service name, and the
# answer 08 01 is status = SERVING.
request='\0\0\0\0\025\012\023line.v1.LineService'
answer=$(curl -s --http2-prior-knowledge --max-time 10 -H 'content-type: application/grpc' -H 'te: trailers' \
  --data-binary @<(printf "$request") \
  "http://127.0.0.1:$LINE_PROVIDER_PUBLIC_GRPC_PORT/grpc.health.v1.Health/Check" | od -An -tx1 | tr -s ' \n' ' ')
if [ "$answer" != " 00 00 00 00 02 08 01 " ]; then
  log "gRPC Health/Check through the load balancer answered [$answer], not SERVING"
  exit 1
fi
log "ok  gRPC through the load balancer (HTTP/2): line.v1.LineService SERVING"

# pgAdmin was given both databases (servers.json, loaded at its first
# start): read its configuration back. (Paths of the stand-in image; the
# official one keeps pgAdmin in /pgadmin4.)
servers=$(docker exec "$(dc ps -q pgadmin)" bash -c \
  '/venv/bin/python3 /pgadmin4-app/setup.py dump-servers /tmp/servers.json --user "$PGADMIN_DEFAULT_EMAIL" >/dev/null && cat /tmp/servers.json')
for database in line_provider bet_maker; do
  if ! grep -q "\"MaintenanceDB\": \"$database\"" <<<"$servers"; then
    log "pgAdmin has no server for the database $database: $servers"
    exit 1
  fi
done
log "ok  pgAdmin has both databases registered"

# --- 5. One trace across both services ------------------------------------
# Of the flow's operator actions, at least one trace must hold spans of both
# services, from line-provider's request through bet-maker's settlement
# (the services export in batches: allow them a few seconds).
one_trace='group_by(.trace_id)
  | map(select((map(.service_name) | unique) == ["bet-maker", "line-provider"]
               and any(.[]; .name == "settle bets")
               and any(.[]; .service_name == "line-provider" and .kind == "server")))
  | length > 0'
for _ in $(seq 1 30); do
  jq -s -e "$one_trace" "$spans" >/dev/null 2>&1 && break
  sleep 1
done
if ! jq -s -e "$one_trace" "$spans" >/dev/null; then
  log "no trace in $spans spans line-provider's request and bet-maker's settlement"
  exit 1
fi
log "ok  one trace spans both services ($(wc -l <"$spans") spans received, in $spans)"

# --- 6. The browser tests ------------------------------------------------------
# deploy/test/browser/run.sh installs chromium and playwright-core when
# missing, then opens the pages people use; screenshots under target/.
log "browser tests (deploy/test/browser)"
LINE_PROVIDER_URL=$DEPLOY_LINE_PROVIDER_URL BET_MAKER_URL=$DEPLOY_BET_MAKER_URL \
  LINE_PROVIDER_ADMIN_TOKEN=$DEPLOY_OPERATOR_TOKEN BET_MAKER_BETTOR_TOKEN=${bettors[0]#*=} \
  RABBITMQ_ADMIN_URL=$DEPLOY_RABBITMQ_URL RABBITMQ_USER=$RABBITMQ_ADMIN_USER RABBITMQ_PASSWORD=$RABBITMQ_ADMIN_PASSWORD \
  PROMETHEUS_URL=$DEPLOY_PROMETHEUS_URL SCREENSHOT_DIR=$artefacts/screenshots \
  deploy/test/browser/run.sh
