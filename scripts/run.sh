#!/usr/bin/env bash
# Starts line-provider and bet-maker side by side (already built and
# migrated by `make run`); Ctrl-C stops both, gracefully.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=target/debug

"$bin/line-provider" serve &
line_provider=$!
"$bin/bet-maker" serve &
bet_maker=$!

stop() {
  kill -TERM "$line_provider" "$bet_maker" 2>/dev/null
  wait "$line_provider" "$bet_maker" 2>/dev/null
}
trap 'stop; exit 0' INT TERM

set -a
# shellcheck disable=SC1091
[ -f .env ] && . ./.env
set +a
sleep 1
cat <<MSG

  line-provider  http://127.0.0.1:${LINE_PROVIDER_PORT:-8100}/docs   (operator token: LINE_PROVIDER_ADMIN_TOKEN in .env)
  bet-maker      http://127.0.0.1:${BET_MAKER_PORT:-8080}/docs
  RabbitMQ       http://127.0.0.1:15672                 (guest/guest)
  Ctrl-C stops both.

MSG

# If either stops on its own, stop the other too.
wait -n "$line_provider" "$bet_maker"
status=$?
stop
exit $status
