#!/usr/bin/env bash
# Create the compose secrets that are missing in deploy/secrets/ (never overwrites one).
#
#   secret_key, encryption_key, settings_key   32 random bytes as hex
#   postgres_password                          random
#   database_url                               postgresql+asyncpg://dockback:<postgres_password>@postgres/dockback
#   minio_root_user, minio_root_password       for the optional s3 profile
#
# Permissions: the directory is 0700 (only its owner on this machine gets in); the files are
# 0444 because compose (without swarm) bind-mounts them as they are, and the services read them
# as their own users (dockback, 10001; postgres in its image).
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)/secrets}
mkdir -p "$dir"
chmod 0700 "$dir"
umask 077

made=()
put() {  # put NAME VALUE: write the file unless it exists
  local file="$dir/$1"
  [ -e "$file" ] && return
  printf '%s\n' "$2" >"$file.tmp"
  chmod 0444 "$file.tmp"
  mv "$file.tmp" "$file"
  made+=("$1")
}
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

put secret_key "$(rand_hex 32)"
put encryption_key "$(rand_hex 32)"
put settings_key "$(rand_hex 32)"
put postgres_password "$(rand_hex 24)"
put database_url "postgresql+asyncpg://dockback:$(tr -d '\n' <"$dir/postgres_password")@postgres/dockback"
put minio_root_user "dockback"
put minio_root_password "$(rand_hex 24)"
if [ ${#made[@]} -gt 0 ]; then echo "compose-secrets: created ${made[*]} in $dir"; fi
