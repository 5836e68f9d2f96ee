#!/bin/sh
# Runs one Threadwork service: `node services/$SERVICE/dist/index.js`.
# SERVICE comes from the first argument (`docker run image worker`), else the environment,
# else api.
set -eu
case "${1:-}" in
  api|worker|webhooks|sandbox) SERVICE="$1"; shift ;;
esac
SERVICE="${SERVICE:-api}"
case "${SERVICE:-}" in
  api|worker|webhooks|sandbox) ;;
  *) echo "docker-entrypoint: SERVICE must be api, worker, webhooks or sandbox (got '${SERVICE:-}')" >&2; exit 64 ;;
esac
export SERVICE
exec node "/app/services/$SERVICE/dist/index.js" "$@"
