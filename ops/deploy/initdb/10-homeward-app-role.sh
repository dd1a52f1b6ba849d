#!/bin/sh
# Runs once, when the PostgreSQL volume is first created (compose.yaml): the service's own
# role. `coordinator migrate`, run by the owner with COORDINATOR_APP_ROLE=homeward_app, grants
# it SELECT and INSERT on the record and nothing that could change it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=app_password="$HOMEWARD_APP_PASSWORD" <<'SQL'
CREATE ROLE homeward_app LOGIN PASSWORD :'app_password';
SQL
