#!/usr/bin/env bash
# Build DockBack's local base images without any container registry:
#
#   1. debootstrap a minimal Debian bookworm from the mirror this machine's apt already uses
#      (read at run time from /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list;
#      override with DEBIAN_MIRROR), and `docker import` it as $DEBIAN_IMAGE;
#   2. `docker build` $PYTHON_IMAGE on it: python3 (3.11), venv and pip from Debian's packages;
#   3. `docker build` $NODE_IMAGE on $PYTHON_IMAGE with this machine's Node.js (>= 20.19, which
#      Vite needs; Debian bookworm's nodejs is 18): /usr/bin/node and /usr/lib/node_modules/npm;
#   4. `docker build` $POSTGRES_IMAGE: Debian's postgresql-15 with the official image's interface.
#
# Each image is made only when missing (FORCE=1 remakes them), so a second run takes a second.
# Needs root (debootstrap) and a Docker Engine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

DEBIAN_IMAGE=${DEBIAN_IMAGE:-dockback-local/debian:bookworm}
PYTHON_IMAGE=${PYTHON_IMAGE:-dockback-local/python:3.11}
NODE_IMAGE=${NODE_IMAGE:-dockback-local/node:20}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-dockback-local/postgres:15}
SUITE=${SUITE:-bookworm}
FORCE=${FORCE:-0}
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

log() { echo "base-image: $*"; }
fail() { echo "base-image: $*" >&2; exit 1; }
have_image() { [ "$FORCE" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

# The first Debian mirror in apt's configuration (deb822 or one-line format).
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  if [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
    [ -n "$uri" ] && { echo "$uri"; return; }
  fi
  return 1
}

if have_image "$DEBIAN_IMAGE"; then
  log "$DEBIAN_IMAGE exists"
else
  [ "$(id -u)" -eq 0 ] || fail "debootstrap needs root"
  command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install -y debootstrap)"
  mirror=${DEBIAN_MIRROR:-$(apt_mirror)} || fail "no Debian mirror in apt's configuration; set DEBIAN_MIRROR"
  rootfs=$(mktemp -d /tmp/dockback-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap $SUITE (minbase) into $rootfs"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 30 "$rootfs.log" >&2; fail "debootstrap failed (log: $rootfs.log)"; }
  rm -f "$rootfs.log"
  # Smaller and reproducible: no package lists or caches in the image; apt is configured from
  # the debootstrap mirror, which is what a `docker build` on this machine can reach.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  log "docker import -> $DEBIAN_IMAGE"
  tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

if have_image "$PYTHON_IMAGE"; then
  log "$PYTHON_IMAGE exists"
else
  log "docker build $PYTHON_IMAGE (python3 from Debian)"
  docker build -q -t "$PYTHON_IMAGE" --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -f "$here/python.Dockerfile" "$here" >/dev/null
fi

if have_image "$NODE_IMAGE"; then
  log "$NODE_IMAGE exists"
else
  node_bin=${NODE_BIN:-$(command -v node || true)}
  [ -x "$node_bin" ] || fail "no Node.js on this machine (need >= 20.19 for the web UI)"
  npm_dir=${NPM_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")}
  [ -f "$npm_dir/bin/npm-cli.js" ] || fail "npm not found (looked in $npm_dir)"
  ctx=$(mktemp -d /tmp/dockback-node.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  cp "$node_bin" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  cp "$here/node.Dockerfile" "$ctx/Dockerfile"
  log "docker build $NODE_IMAGE (Node.js $("$node_bin" --version) from this machine)"
  docker build -q -t "$NODE_IMAGE" --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
fi
if have_image "$POSTGRES_IMAGE"; then
  log "$POSTGRES_IMAGE exists"
else
  log "docker build $POSTGRES_IMAGE (postgresql-15 from Debian)"
  docker build -q -t "$POSTGRES_IMAGE" --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" -f "$here/postgres.Dockerfile" "$here" >/dev/null
fi
log "ready: $PYTHON_IMAGE $NODE_IMAGE $POSTGRES_IMAGE"
