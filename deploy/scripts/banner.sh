#!/usr/bin/env bash
# What `make up` started, where, and with which login (the secrets are in
# deploy/.env; this prints where to find them, not the values).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../../scripts/dotenv.sh
. ../scripts/dotenv.sh
load_dotenv .env
host=${PUBLISH_ADDRESS:-127.0.0.1}
[ "$host" = 0.0.0.0 ] && host=127.0.0.1
cat <<MSG

  bet-maker      http://$host:${BET_MAKER_PUBLIC_PORT:-8080}/docs       bettor tokens: docker exec \$(docker ps -qf name=bet-maker-1) bet-maker token alice
  line-provider  http://$host:${LINE_PROVIDER_PUBLIC_PORT:-8100}/docs       operator token: LINE_PROVIDER_ADMIN_TOKEN in deploy/.env
                 gRPC $host:${LINE_PROVIDER_PUBLIC_GRPC_PORT:-50051}
  RabbitMQ       http://$host:${RABBITMQ_ADMIN_PORT:-15672}            ${RABBITMQ_ADMIN_USER:-admin} / RABBITMQ_ADMIN_PASSWORD
  pgAdmin        http://$host:${PGADMIN_PORT:-5050}             ${PGADMIN_EMAIL:-} / PGADMIN_PASSWORD (databases: POSTGRES_PASSWORD)
  Prometheus     http://$host:${PROMETHEUS_PORT:-9090}
  Grafana        http://$host:${GRAFANA_PORT:-3000}             admin / GRAFANA_ADMIN_PASSWORD
  Jaeger         http://$host:${JAEGER_UI_PORT:-16686}
  (passwords and tokens: deploy/.env)   make logs · make ps · make down [V=1]

MSG
