#!/bin/bash
# First start: create pgAdmin's database with the login from the
# environment and load the servers file; then serve on port 80 (binding a
# port below 1024 needs root, so gunicorn drops to the pgadmin user itself).
set -euo pipefail
: "${PGADMIN_DEFAULT_EMAIL:?set PGADMIN_DEFAULT_EMAIL}" "${PGADMIN_DEFAULT_PASSWORD:?set PGADMIN_DEFAULT_PASSWORD}"
app=/pgadmin4-app
chown -R pgadmin /var/lib/pgadmin
as_pgadmin() { setpriv --reuid=pgadmin --regid=pgadmin --init-groups "$@"; }
if [ ! -f /var/lib/pgadmin/pgadmin4.db ]; then
  PGADMIN_SETUP_EMAIL=$PGADMIN_DEFAULT_EMAIL PGADMIN_SETUP_PASSWORD=$PGADMIN_DEFAULT_PASSWORD \
    as_pgadmin /venv/bin/python3 "$app/setup.py" setup-db
  servers=${PGADMIN_SERVER_JSON_FILE:-/pgadmin4/servers.json}
  if [ -f "$servers" ]; then
    as_pgadmin /venv/bin/python3 "$app/setup.py" load-servers "$servers" --user "$PGADMIN_DEFAULT_EMAIL"
  fi
fi
exec /venv/bin/gunicorn --bind 0.0.0.0:80 --workers 1 --threads 25 --user pgadmin --group pgadmin \
  --chdir "$app" pgAdmin4:app
