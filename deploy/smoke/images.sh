#!/usr/bin/env bash
# Build every image the compose smoke test needs, locally (no registry is reachable here):
# the base images (deploy/base-image/build.sh), then DockBack's image from deploy/Dockerfile on
# them. The classic builder's layer cache makes a second run quick (nothing changed: seconds).
#
# Package indexes: the web and build stages fetch npm and PyPI packages. When this machine
# reaches them through a TLS-intercepting proxy, its CA bundle (CA_BUNDLE, default
# /etc/ssl/certs/ca-certificates.crt) is copied into deploy/build-ca/ (gitignored) for those
# stages only; it never reaches the final image or a committed file.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DOCKBACK_IMAGE=${DOCKBACK_IMAGE:-dockback:local}
PYTHON_IMAGE=${PYTHON_IMAGE:-dockback-local/python:3.11}
NODE_IMAGE=${NODE_IMAGE:-dockback-local/node:20}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
NO_CACHE=${NO_CACHE:-0}  # 1: build DockBack's image without the layer cache (a cold build)
# The build context: "worktree" (the files as they are, default) or a git revision such as HEAD
# (`git archive`: only what is committed, e.g. while others edit the tree).
SOURCE=${SOURCE:-worktree}
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}  # no buildx plugin here; the Dockerfile needs no BuildKit

PYTHON_IMAGE=$PYTHON_IMAGE NODE_IMAGE=$NODE_IMAGE "$root/deploy/base-image/build.sh"

if [ -r "$CA_BUNDLE" ]; then
  # Only when it changed, so the layers after it stay cached.
  cmp -s "$CA_BUNDLE" "$root/deploy/build-ca/ca-certificates.crt" 2>/dev/null \
    || install -m 0644 "$CA_BUNDLE" "$root/deploy/build-ca/ca-certificates.crt"
fi
context=$root
if [ "$SOURCE" != worktree ]; then
  context=$(mktemp -d /tmp/dockback-context.XXXXXX)
  trap 'rm -rf "$context"' EXIT
  git -C "$root" archive "$SOURCE" | tar -x -C "$context"
  cp -a "$root/deploy/build-ca/." "$context/deploy/build-ca/"
fi
echo "images: docker build $DOCKBACK_IMAGE (deploy/Dockerfile, sources: $SOURCE)"
log=$(mktemp /tmp/dockback-build.XXXXXX.log)
cache=()
[ "$NO_CACHE" = 1 ] && cache=(--no-cache)
if ! docker build "${cache[@]}" -f "$context/deploy/Dockerfile" -t "$DOCKBACK_IMAGE" \
    --build-arg BASE_IMAGE="$PYTHON_IMAGE" --build-arg NODE_IMAGE="$NODE_IMAGE" "$context" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "images: docker build failed (whole log: $log)" >&2
  exit 1
fi
rm -f "$log"
echo "images: ready: $DOCKBACK_IMAGE $(docker image inspect -f '{{.Size}}' "$DOCKBACK_IMAGE" | awk '{printf "(%.0f MB)", $1/1e6}')"
