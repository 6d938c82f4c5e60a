#!/bin/sh
# DockBack's container entrypoint.
# - DOCKBACK_DATABASE_URL_FILE: read the database URL (it holds the password) from a compose
#   secret instead of the environment.
# - DOCKBACK_MIGRATE_ON_START=1: `dockback-gateway` brings the schema up to date before serving
#   (safe to repeat; several gateways may start at once, alembic takes the migration lock).
set -e
if [ -n "${DOCKBACK_DATABASE_URL_FILE:-}" ] && [ -z "${DOCKBACK_DATABASE_URL:-}" ]; then
  DOCKBACK_DATABASE_URL=$(cat "$DOCKBACK_DATABASE_URL_FILE")
  export DOCKBACK_DATABASE_URL
fi
# The command, without the dev override's `dockback-reload` in front.
service=$1 subcommand=${2:-}
if [ "$service" = dockback-reload ]; then service=${2:-} subcommand=${3:-}; fi
if [ "${DOCKBACK_MIGRATE_ON_START:-0}" = 1 ] && [ "$service" = dockback-gateway ] && { [ -z "$subcommand" ] || [ "$subcommand" = serve ]; }; then
  dockback-gateway migrate
fi
exec "$@"
