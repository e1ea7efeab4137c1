#!/bin/bash
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d), as the superuser.
# One PostgreSQL, three databases, two roles that cannot read each other's data:
#   temporal, temporal_visibility  Temporal's stores, owned by role "temporal"; the temporal-schema service
#                                  creates and upgrades their schema (temporal-sql-tool)
#   baton                          Baton's own tables (stock ledger, stores, order projection), owned by role
#                                  "baton"; the migrate service runs `alembic upgrade head` on it
# Changing a password in .env later does not change it here: use ALTER ROLE (docs/production.md).
set -euo pipefail
: "${POSTGRES_TEMPORAL_PASSWORD:?}" "${POSTGRES_BATON_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set temporal_password="$POSTGRES_TEMPORAL_PASSWORD" --set baton_password="$POSTGRES_BATON_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE baton LOGIN PASSWORD :'baton_password';
CREATE DATABASE baton OWNER baton;
REVOKE ALL ON DATABASE temporal, temporal_visibility, baton FROM PUBLIC;
-- Temporal's SQL visibility schema needs btree_gin; create it here rather than rely on the owner's rights.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
