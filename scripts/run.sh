#!/usr/bin/env bash
# Starts line-provider and bet-maker side by side (already built and
# migrated by `make run`); Ctrl-C stops both, gracefully.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/dotenv.sh
. scripts/dotenv.sh
# The same settings the services read: the environment, else .env.
load_dotenv
# The binaries `make run` built; RUN_BIN_DIR names others (the tests' own).
bin=${RUN_BIN_DIR:-target/debug}

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

# Whether process $1 holds the listening socket of TCP port $2, so that
# an answer on the port is its own, not another program's that took the
# port first (a second `make run`, say). Read from Linux's /proc; where
# there is none, the answer is taken as its own.
listens_on() {
  local pid=$1 port inode
  [ -d "/proc/$pid/fd" ] && [ -r /proc/net/tcp ] || return 0
  port=$(printf ':%04X' "$2")
  for inode in $(awk -v port="$port" '$4 == "0A" && substr($2, length($2) - 4) == port { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
    find "/proc/$pid/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q . && return 0
  done
  return 1
}

# What service $1 (process $2, answering at URL $3 on port $4) is doing:
# `up` once its own listener answers /health/live, `stopped` once it
# has exited, else `starting`.
state_of() {
  if ! kill -0 "$2" 2>/dev/null; then
    echo stopped
  elif curl -fsS -o /dev/null --max-time 1 "$3/health/live" 2>/dev/null && listens_on "$2" "$4"; then
    echo up
  else
    echo starting
  fi
}

# Each service is waited for on its own: the banner is shown only once
# both answer. If one stops (or does not answer within RUN_START_SECS),
# it is named, the other is stopped too, and the exit status is not 0.
deadline=$((SECONDS + ${RUN_START_SECS:-60}))
while :; do
  line_provider_state=$(state_of line-provider "$line_provider" "$line_provider_url" "${LINE_PROVIDER_PORT:-8100}")
  bet_maker_state=$(state_of bet-maker "$bet_maker" "$bet_maker_url" "${BET_MAKER_PORT:-8080}")
  [[ $line_provider_state == up && $bet_maker_state == up ]] && break
  [[ $line_provider_state == stopped || $bet_maker_state == stopped ]] && break
  ((SECONDS < deadline)) || break
  sleep 0.2
done
if [[ $line_provider_state != up || $bet_maker_state != up ]]; then
  status=1
  for service in line-provider bet-maker; do
    if [[ $service == line-provider ]]; then
      state=$line_provider_state pid=$line_provider url=$line_provider_url
    else
      state=$bet_maker_state pid=$bet_maker url=$bet_maker_url
    fi
    case $state in
      stopped)
        wait "$pid" 2>/dev/null
        code=$?
        ((code != 0)) && status=$code
        echo "$service stopped (exit status $code) before it answered at $url/health/live: its log lines above say why." >&2
        ;;
      starting)
        echo "$service did not answer at $url/health/live within ${RUN_START_SECS:-60} s: its log lines above say what it was doing." >&2
        ;;
    esac
  done
  echo "Stopping what still runs; nothing is left running." >&2
  stop
  exit "$status"
fi

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

# If either stops on its own, say which, and stop the other too.
wait -n "$line_provider" "$bet_maker"
status=$?
for service in line-provider bet-maker; do
  pid=$line_provider
  [[ $service == bet-maker ]] && pid=$bet_maker
  kill -0 "$pid" 2>/dev/null ||
    echo "$service stopped (exit status $status): its log lines above say why; stopping the other." >&2
done
stop
exit $status
