#!/usr/bin/env bash
# Creates (or updates) the two RabbitMQ users the services run as, each
# with the least it needs, with rabbitmqctl on the broker's machine:
#
#   user           configure                      write                                 read
#   line-provider  its exchange, ops.alerts       its exchange, ops.alerts              nothing
#   bet-maker      its queue, the DLQ, ops.alerts its queue, amq.default, ops.alerts    its queue, the DLQ, the exchange
#
# line-provider declares and publishes to its exchange, nothing else.
# bet-maker declares its own queues (the queue's dead-lettering needs write
# on the default exchange, which it also publishes dead letters through),
# binds its queue to the exchange (write on the queue, read on the
# exchange) and only checks that the exchange exists (a passive declare,
# no configure). Both declare and publish to the alerts exchange
# (OPS_ALERTS_EXCHANGE, a fanout). Neither can touch anything else:
# bet-maker cannot publish a line message, line-provider cannot read
# bet-maker's queue, and neither can read the alerts.
#
# Passwords come from the environment; names default to the services'.
#   LINE_PROVIDER_AMQP_PASSWORD=... BET_MAKER_AMQP_PASSWORD=... scripts/broker-users.sh
# Then point each service's AMQP_URL at its user, and set bet-maker's
# LINE_PROVIDER_AMQP_USER to line-provider's user.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/dotenv.sh
. scripts/dotenv.sh
load_dotenv

vhost=${AMQP_VHOST:-/}
exchange=${LINE_EVENTS_EXCHANGE:-line-provider.events}
queue=${BET_MAKER_QUEUE:-bet-maker.line-events}
alerts=${OPS_ALERTS_EXCHANGE-ops.alerts}
line_provider=${LINE_PROVIDER_AMQP_USER:-line-provider}
bet_maker=${BET_MAKER_AMQP_USER:-bet-maker}
: "${LINE_PROVIDER_AMQP_PASSWORD:?set LINE_PROVIDER_AMQP_PASSWORD}"
: "${BET_MAKER_AMQP_PASSWORD:?set BET_MAKER_AMQP_PASSWORD}"

# A name as a regular expression that matches exactly it.
literal() { printf '%s' "$1" | sed 's/[][\.|$(){}?+*^]/\\&/g'; }
x=$(literal "$exchange")
q=$(literal "$queue")
# With alerts off (OPS_ALERTS_EXCHANGE empty) nothing more is granted.
a=$(literal "$alerts")
[ -n "$alerts" ] && a="|$a"

user() {
  if rabbitmqctl -q list_users | awk '{print $1}' | grep -qxF -- "$1"; then
    rabbitmqctl -q change_password "$1" "$2"
  else
    rabbitmqctl -q add_user "$1" "$2"
  fi
}

user "$line_provider" "$LINE_PROVIDER_AMQP_PASSWORD"
rabbitmqctl -q set_permissions -p "$vhost" "$line_provider" "^($x$a)\$" "^($x$a)\$" '^$'

user "$bet_maker" "$BET_MAKER_AMQP_PASSWORD"
rabbitmqctl -q set_permissions -p "$vhost" "$bet_maker" \
  "^($q(\\.dlq)?$a)\$" "^($q|amq\\.default$a)\$" "^($q(\\.dlq)?|$x)\$"

echo "broker users: $line_provider (publishes to $exchange), $bet_maker (consumes $queue) on vhost $vhost"
