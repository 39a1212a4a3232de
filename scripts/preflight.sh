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
# $1: what (PostgreSQL, RabbitMQ), $2: the variable, $3 and $4: its host
# and port, $5: the default port, $6: how to start it on this machine.
unreachable() {
  local what=$1 variable=$2 host=$3 port=$4 default_port=$5 start=$6
  echo "$what is not reachable at $host:$port ($variable, $(origin "$variable"))." >&2
  if ! is_this_machine "$host"; then
    echo "  $host is not this machine: start $what there, or point $variable at one that runs." >&2
  elif [ "$port" != "$default_port" ] && reachable "$host" "$default_port"; then
    echo "  Something answers on $host:$default_port, $what's usual port: is $variable's port right?" >&2
  else
    echo "  Start it:  $start" >&2
    [ "$port" = "$default_port" ] ||
      echo "  (it listens on $default_port unless configured otherwise; $variable asks for $port)" >&2
  fi
  failed=1
}

# $1: the variable naming the database, $2: the service's default for it.
check_postgres() {
  local host port
  read -r host port < <(endpoint "${!1:-$2}" 5432)
  if ! reachable "$host" "$port"; then
    unreachable PostgreSQL "$1" "$host" "$port" 5432 \
      "pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
  fi
}
check_postgres LINE_PROVIDER_DATABASE_URL postgres://postgres@127.0.0.1:5432/line_provider
check_postgres BET_MAKER_DATABASE_URL postgres://postgres@127.0.0.1:5432/bet_maker
# Only the host and port are ever shown: the URL's password never is.
read -r mq_host mq_port < <(endpoint "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" 5672)
if ! reachable "$mq_host" "$mq_port"; then
  unreachable RabbitMQ AMQP_URL "$mq_host" "$mq_port" 5672 \
    "rabbitmq-server -detached && rabbitmqctl await_startup"
fi
exit $failed
