#!/bin/sh
# Service temporal-setup (temporalio/admin-tools), once the Temporal server answers: create Baton's namespace
# and its custom search attributes (workflows/search_attributes.py; tests/test_compose.py keeps the two equal).
# Idempotent: what exists is left alone, so it runs on every `docker compose up`.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}"
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-720h}  # how long closed orders' histories (the audit log) are kept
ATTEMPTS=${SETUP_ATTEMPTS:-60}
PAUSE=${SETUP_PAUSE_SECONDS:-2}
changed=0

give_up() {
  echo "temporal-setup: $*" >&2
  exit 1
}

echo "temporal-setup: waiting for Temporal at $TEMPORAL_ADDRESS"
n=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  [ "$n" -lt "$ATTEMPTS" ] || give_up "Temporal at $TEMPORAL_ADDRESS is not healthy"
  n=$((n + 1))
  sleep "$PAUSE"
done

n=1
until temporal operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if temporal operator namespace create -n "$TEMPORAL_NAMESPACE" --retention "$RETENTION" \
    --description "Baton order workflows" --address "$TEMPORAL_ADDRESS"; then
    echo "temporal-setup: created namespace $TEMPORAL_NAMESPACE (retention $RETENTION)"
    changed=1
  fi
  [ "$n" -lt "$ATTEMPTS" ] || give_up "cannot create namespace $TEMPORAL_NAMESPACE"
  n=$((n + 1))
  sleep "$PAUSE"
done

has_search_attribute() {  # name
  temporal operator search-attribute list -n "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" 2>/dev/null \
    | grep -qw "$1"
}

ensure_search_attribute() {  # name type
  n=1
  until has_search_attribute "$1"; do
    if temporal operator search-attribute create -n "$TEMPORAL_NAMESPACE" --name "$1" --type "$2" \
      --address "$TEMPORAL_ADDRESS"; then
      echo "temporal-setup: created search attribute $1 ($2)"
      changed=1
    fi
    [ "$n" -lt "$ATTEMPTS" ] || give_up "cannot create search attribute $1"
    n=$((n + 1))
    sleep "$PAUSE"
  done
}

ensure_search_attribute OrderNumber Keyword
ensure_search_attribute OrderStatus Keyword
ensure_search_attribute StoreId Keyword
ensure_search_attribute Channel Keyword
ensure_search_attribute HasAlert Bool

if [ "$changed" = 1 ]; then
  # Every Temporal service caches namespaces and their search attributes (refreshed about every 10 s); let
  # the new ones reach them all before the API and workers start using them.
  sleep "${SETTLE_SECONDS:-15}"
fi
echo "temporal-setup: namespace $TEMPORAL_NAMESPACE ready"
