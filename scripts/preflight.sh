#!/usr/bin/env bash
# Checks that the PostgreSQL and RabbitMQ the services will use (the
# environment, else .env, else the defaults) are reachable, and says plainly
# which one is not and how to start it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/dotenv.sh
. scripts/dotenv.sh
load_dotenv

failed=0
# $1: the variable naming the database, $2: the service's default for it.
check_postgres() {
  local host port
  read -r host port < <(endpoint "${!1:-$2}" 5432)
  if ! reachable "$host" "$port"; then
    echo "PostgreSQL is not reachable at $host:$port ($1)." >&2
    echo "  Start it:  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
    failed=1
  fi
}
check_postgres LINE_PROVIDER_DATABASE_URL postgres://postgres@127.0.0.1:5432/line_provider
check_postgres BET_MAKER_DATABASE_URL postgres://postgres@127.0.0.1:5432/bet_maker
read -r mq_host mq_port < <(endpoint "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" 5672)
if ! reachable "$mq_host" "$mq_port"; then
  echo "RabbitMQ is not reachable at $mq_host:$mq_port (AMQP_URL)." >&2
  echo "  Start it:  rabbitmq-server -detached && rabbitmqctl await_startup" >&2
  failed=1
fi
exit $failed
