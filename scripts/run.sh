#!/usr/bin/env bash
# Starts line-provider and bet-maker side by side (already built and
# migrated by `make run`); Ctrl-C stops both, gracefully.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/dotenv.sh
. scripts/dotenv.sh
# The same settings the services read: the environment, else .env.
load_dotenv
bin=target/debug

# Development keys for signing line messages, made on the first run where
# .env points (under .dev-keys/, ignored by git); never overwritten, never
# made anywhere else: a real deployment brings its own (`line-provider keygen`).
signing_key=${LINE_EVENTS_SIGNING_KEY_FILE:-}
if [[ $signing_key == .dev-keys/*.key && ! -e $signing_key ]]; then
  echo "Creating a development key pair for signing line messages:"
  "$bin/line-provider" keygen "$(dirname "$signing_key")" --name "$(basename "$signing_key" .key)" || exit 1
fi

"$bin/line-provider" serve &
line_provider=$!
# Development plays the payment provider itself: bet-maker confirms each
# deposit (and pays each withdrawal) with a signed webhook it sends itself
# half a second later. Nothing else runs the sandbox unless told to.
# And the bettor app (http://127.0.0.1:8080/) signs anyone in by name.
BET_MAKER_PAYMENTS_PROVIDER="${BET_MAKER_PAYMENTS_PROVIDER:-sandbox}" \
  BET_MAKER_DEV_SIGN_IN="${BET_MAKER_DEV_SIGN_IN:-true}" "$bin/bet-maker" serve &
bet_maker=$!

stop() {
  kill -TERM "$line_provider" "$bet_maker" 2>/dev/null
  wait "$line_provider" "$bet_maker" 2>/dev/null
}
trap 'stop; exit 0' INT TERM

# A browser cannot open 0.0.0.0 everywhere; the loopback address works
# whenever the service listens on all addresses.
browsable() {
  case $1 in
    0.0.0.0 | '::' | '[::]') echo 127.0.0.1 ;;
    *) echo "$1" ;;
  esac
}
line_provider_url="http://$(browsable "${LINE_PROVIDER_HOST:-127.0.0.1}"):${LINE_PROVIDER_PORT:-8100}"
line_provider_grpc="$(browsable "${LINE_PROVIDER_HOST:-127.0.0.1}"):${LINE_PROVIDER_GRPC_PORT:-50051}"
bet_maker_url="http://$(browsable "${BET_MAKER_HOST:-127.0.0.1}"):${BET_MAKER_PORT:-8080}"
# /metrics is on each service's management listener only.
management_host=$(browsable "${MANAGEMENT_BIND:-127.0.0.1}")
line_provider_metrics="http://$management_host:${LINE_PROVIDER_ADMIN_PORT:-9100}/metrics"
bet_maker_metrics="http://$management_host:${BET_MAKER_ADMIN_PORT:-9080}/metrics"
read -r mq_host _ < <(endpoint "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" 5672)

# The banner is shown once both answer (or one of them has stopped).
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "$line_provider_url/health/live" 2>/dev/null &&
    curl -fsS -o /dev/null "$bet_maker_url/health/live" 2>/dev/null; then
    break
  fi
  kill -0 "$line_provider" "$bet_maker" 2>/dev/null || break
  sleep 0.1
done

if curl -fsS -o /dev/null --max-time 2 "http://$mq_host:15672/" 2>/dev/null; then
  rabbit="http://$mq_host:15672                 (guest/guest)"
else
  rabbit="admin panel off at $mq_host:15672; enable it with: rabbitmq-plugins enable rabbitmq_management"
fi
if [[ ${BET_MAKER_DEV_SIGN_IN:-true} == true ]]; then
  bettor_sign_in="sign in with any name: the development sign-in"
else
  bettor_sign_in="sign in with a token from your identity provider"
fi
cat <<MSG

  line-provider  $line_provider_url/docs   (operator token: LINE_PROVIDER_ADMIN_TOKEN in .env)
                 gRPC $line_provider_grpc      (grpcurl -plaintext $line_provider_grpc list)
  bet-maker      $bet_maker_url/docs
  bettor app     $bet_maker_url/        ($bettor_sign_in)
  metrics        $line_provider_metrics, $bet_maker_metrics
  RabbitMQ       $rabbit
  Ctrl-C stops both.

MSG

# If either stops on its own, stop the other too.
wait -n "$line_provider" "$bet_maker"
status=$?
stop
exit $status
