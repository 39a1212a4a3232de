#!/usr/bin/env bash
# Prepares what `make up` needs and git must never hold, once:
#   deploy/.env                      every password, token and secret, random
#   deploy/secrets/line-events/      the Ed25519 key pair line messages are signed with
#   deploy/generated/definitions.json RabbitMQ's users and permissions, with
#                                    password hashes (rendered from deploy/.env)
# Existing files are kept: delete one to have it made again (a secret
# added since is appended to an existing deploy/.env). The broker's
# definitions are rendered again whenever deploy/.env is newer, so a
# changed password applies at the broker's next start.
set -euo pipefail
cd "$(dirname "$0")/.."

umask 077
random() { openssl rand -hex 24; }

if [ ! -f .env ]; then
  cat >.env <<ENV
# Secrets of the Docker deployment, made by \`make up\` on first use
# (deploy/scripts/init-env.sh). Never committed; change any value, then
# \`make up\` again (see README, "Run it with Docker").
POSTGRES_PASSWORD=$(random)
LINE_PROVIDER_ADMIN_TOKEN=$(openssl rand -hex 32)
BET_MAKER_JWT_SECRET=$(openssl rand -hex 32)
BET_MAKER_PAYMENTS_WEBHOOK_SECRET=$(openssl rand -hex 32)
RABBITMQ_ADMIN_USER=admin
RABBITMQ_ADMIN_PASSWORD=$(random)
LINE_PROVIDER_AMQP_PASSWORD=$(random)
BET_MAKER_AMQP_PASSWORD=$(random)
PGADMIN_EMAIL=admin@example.com
PGADMIN_PASSWORD=$(random)
GRAFANA_ADMIN_PASSWORD=$(random)
ENV
  echo "deploy/.env created with random secrets"
fi

# Secrets added since a deploy/.env was first made: appended to an older
# one, its other values kept.
if ! grep -q '^BET_MAKER_PAYMENTS_WEBHOOK_SECRET=' .env; then
  # What the payment provider (here bet-maker's sandbox) signs its webhooks with.
  if [ -s .env ] && [ -n "$(tail -c 1 .env)" ]; then echo >>.env; fi
  printf 'BET_MAKER_PAYMENTS_WEBHOOK_SECRET=%s\n' "$(openssl rand -hex 32)" >>.env
  echo "deploy/.env: BET_MAKER_PAYMENTS_WEBHOOK_SECRET added"
fi

# The key pair: the private key for line-provider, the public one for
# bet-maker. The services run as an unprivileged user of the image, so the
# files are readable by all inside their directory, which only its owner
# on this machine can enter.
keys=secrets/line-events
if [ ! -f "$keys/line-events.key" ]; then
  mkdir -p "$keys"
  chmod 700 secrets
  openssl genpkey -algorithm ed25519 -out "$keys/line-events.key"
  openssl pkey -in "$keys/line-events.key" -pubout -out "$keys/line-events.pub"
  chmod 755 "$keys"
  chmod 644 "$keys/line-events.key" "$keys/line-events.pub"
  echo "deploy/$keys: new signing key pair"
fi

# shellcheck source=../../scripts/dotenv.sh
. ../scripts/dotenv.sh
load_dotenv .env

# RabbitMQ's password hash (rabbit_password_hashing_sha256): base64 of a
# 4-byte salt followed by SHA-256(salt + password).
rabbit_hash() {
  local dir
  dir=$(mktemp -d)
  head -c 4 /dev/urandom >"$dir/salt"
  { cat "$dir/salt"; printf '%s' "$1"; } | openssl dgst -sha256 -binary >"$dir/digest"
  cat "$dir/salt" "$dir/digest" | base64 | tr -d '\n'
  rm -rf "$dir"
}

# The least-privilege users of scripts/broker-users.sh, plus ops.alerts,
# the fanout exchange both services publish alerts to (declare and write):
#   line-provider  configure/write its exchange and ops.alerts; read nothing
#   bet-maker      configure its queue, the DLQ and ops.alerts; write its
#                  queue, amq.default and ops.alerts; read its queues and
#                  line-provider's exchange (to bind)
#   admin          everything, for the admin panel (and for watching alerts)
definitions=generated/definitions.json
if [ ! -f "$definitions" ] || [ .env -nt "$definitions" ]; then
  mkdir -p generated
  cat >"$definitions" <<JSON
{
  "vhosts": [{"name": "/"}],
  "users": [
    {"name": "${RABBITMQ_ADMIN_USER}", "password_hash": "$(rabbit_hash "$RABBITMQ_ADMIN_PASSWORD")",
     "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]},
    {"name": "line-provider", "password_hash": "$(rabbit_hash "$LINE_PROVIDER_AMQP_PASSWORD")",
     "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []},
    {"name": "bet-maker", "password_hash": "$(rabbit_hash "$BET_MAKER_AMQP_PASSWORD")",
     "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
  ],
  "permissions": [
    {"user": "${RABBITMQ_ADMIN_USER}", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "line-provider", "vhost": "/",
     "configure": "^(line-provider\\\\.events|ops\\\\.alerts)\$",
     "write": "^(line-provider\\\\.events|ops\\\\.alerts)\$",
     "read": "^\$"},
    {"user": "bet-maker", "vhost": "/",
     "configure": "^(bet-maker\\\\.line-events(\\\\.dlq)?|ops\\\\.alerts)\$",
     "write": "^(bet-maker\\\\.line-events|amq\\\\.default|ops\\\\.alerts)\$",
     "read": "^(bet-maker\\\\.line-events(\\\\.dlq)?|line-provider\\\\.events)\$"}
  ]
}
JSON
  # Read by the broker's own user inside its container.
  chmod 644 "$definitions"
  echo "deploy/$definitions rendered from deploy/.env"
fi
