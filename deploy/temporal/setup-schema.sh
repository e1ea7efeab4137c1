#!/bin/sh
# Service temporal-schema (temporalio/admin-tools), before the Temporal server starts: create or upgrade
# Temporal's schema in the temporal and temporal_visibility databases (made by deploy/postgres/init-databases.sh).
# Safe on every start: setup-schema leaves an existing schema alone and update-schema applies only newer
# versions, so raising TEMPORAL_VERSION upgrades the schema before the new server starts.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"  # temporal-sql-tool reads SQL_PASSWORD
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

setup() {  # database, schema (temporal | visibility)
  echo "temporal-schema: $1"
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" \
    --db "$1" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" \
    --db "$1" update-schema -d "$SCHEMA_DIR/$2/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "temporal-schema: done"
