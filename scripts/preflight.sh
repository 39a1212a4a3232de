#!/usr/bin/env bash
# Checks that PostgreSQL and RabbitMQ named in .env (or the environment) are
# reachable, and says plainly which one is not and how to start it.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a
# shellcheck disable=SC1091
[ -f .env ] && . ./.env
set +a

# host and port of a URL like scheme://user:pw@host:port/path
endpoint() {
  local rest=${1#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  local host=${rest%%:*} port=${rest##*:}
  [ "$port" = "$rest" ] && port=$2
  echo "$host $port"
}

reachable() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

failed=0
read -r pg_host pg_port < <(endpoint "${LINE_PROVIDER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/line_provider}" 5432)
if ! reachable "$pg_host" "$pg_port"; then
  echo "PostgreSQL is not reachable at $pg_host:$pg_port (LINE_PROVIDER_DATABASE_URL)." >&2
  echo "  Start it:  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  failed=1
fi
read -r mq_host mq_port < <(endpoint "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" 5672)
if ! reachable "$mq_host" "$mq_port"; then
  echo "RabbitMQ is not reachable at $mq_host:$mq_port (AMQP_URL)." >&2
  echo "  Start it:  rabbitmq-server -detached && rabbitmqctl await_startup" >&2
  failed=1
fi
exit $failed
