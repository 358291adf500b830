#!/bin/sh
# docker-compose: the service's own login role, owner of its database and
# of everything its migrations make; no superuser, no CREATEDB, no
# CREATEROLE. Runs once, when the volume is first initialised; the
# password is ORDER_SERVICE_DB_PASSWORD (docker-compose.yml).
set -e
psql -v ON_ERROR_STOP=1 -v pw="$ORDER_SERVICE_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE order_service LOGIN PASSWORD :'pw';
ALTER DATABASE order_service OWNER TO order_service;
SQL
