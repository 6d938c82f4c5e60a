#!/usr/bin/env bash
# NATS users for compose (compose.auth.yaml): runs `dockback-nats-auth` in the DockBack image as
# its user (10001), so the credentials files it writes (0600) are readable by the services only.
#
#   deploy/nats-auth.sh [host-id ...]    # default: $DOCKBACK_HOST_ID or "main"
#
# Writes deploy/nats/auth.conf (the server's authorization block) and
# deploy/secrets/nats/creds/{gateway,scheduler,notifier,executor-<host>,uploader-<host>}.creds.
# Running it again keeps every existing seed and adds the hosts named.
set -euo pipefail
deploy=${DEPLOY_DIR:-$(cd "$(dirname "$0")" && pwd)}  # DEPLOY_DIR: a copy of deploy/ (the smoke test)
image=${DOCKBACK_IMAGE:-dockback:latest}
hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=("${DOCKBACK_HOST_ID:-main}")
mkdir -p "$deploy/secrets/nats"
chmod 0700 "$deploy/secrets"
# The image's user writes here (as root we hand the directory to it; otherwise it must be
# writable by 10001 already).
chown 10001:10001 "$deploy/secrets/nats" 2>/dev/null || true
args=()
for h in "${hosts[@]}"; do args+=(--host "$h"); done
docker run --rm --network none \
  -v "$deploy/secrets/nats:/out" \
  --entrypoint dockback-nats-auth "$image" --dir /out "${args[@]}"
# The server's part (public keys and permissions only) beside nats-server.conf.
install -m 0644 "$deploy/secrets/nats/auth.conf" "$deploy/nats/auth.conf"
