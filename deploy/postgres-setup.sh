#!/bin/sh
# The service's own login role, `order_service` (no superuser, no
# CREATEDB, no CREATEROLE; its password stored as SCRAM), owning its
# database and everything in it: objects made earlier by another role are
# handed over. Idempotent: run it on every start (scripts/run does; compose
# runs it before the service). Connects with libpq's PGHOST, PGPORT, PGUSER,
# PGPASSWORD as an admin that may create roles and databases.
#   ORDER_SERVICE_DB_PASSWORD  the role's password (required)
#   ORDER_SERVICE_DB           the database (default order_service)
set -eu
db=${ORDER_SERVICE_DB:-order_service}
role=order_service
: "${ORDER_SERVICE_DB_PASSWORD:?set ORDER_SERVICE_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 -q -d postgres -v pw="$ORDER_SERVICE_DB_PASSWORD" <<SQL
SET password_encryption = 'scram-sha-256';
SELECT 'CREATE ROLE $role LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') \gexec
ALTER ROLE $role WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
SELECT 'CREATE DATABASE "$db" OWNER $role'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \gexec
SQL
psql -v ON_ERROR_STOP=1 -q -d "$db" <<SQL
ALTER DATABASE "$db" OWNER TO $role;
ALTER SCHEMA public OWNER TO $role;
SELECT format('ALTER TABLE %I.%I OWNER TO $role', schemaname, tablename)
  FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '$role' \gexec
SELECT format('ALTER SEQUENCE %I.%I OWNER TO $role', schemaname, sequencename)
  FROM pg_sequences WHERE schemaname = 'public' AND sequenceowner <> '$role' \gexec
SQL
