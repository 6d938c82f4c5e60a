"""`dockback-nats-auth`: generate the NATS users of a DockBack installation.

    dockback-nats-auth --dir secrets/nats --auth-conf deploy/nats/auth.conf --host h1 --host h2

writes

    <dir>/auth.conf (or --auth-conf)    the server's `authorization { users = [...] }` block
                                        (public keys and permissions only): `include` it in the
                                        server's config (include paths are relative to that file)
    <dir>/creds/gateway.creds           one credentials file per role, mode 0600, for
    <dir>/creds/scheduler.creds         DOCKBACK_NATS_CREDENTIALS_FILE
    <dir>/creds/notifier.creds
    <dir>/creds/executor-<host>.creds
    <dir>/creds/uploader-<host>.creds

Running it again keeps every existing seed: adding a host (`--host h3`) creates only h3's two
files and rewrites auth.conf; the other services keep their credentials. Hosts already in the
directory stay unless `--remove-host` drops them; `--rotate <role>` gives one role a new seed.
Reload the server afterwards (`nats-server --signal reload`, or SIGHUP) to apply auth.conf.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockback_contracts import permissions
from dockback_runtime.connection import NatsCredentials, read_credentials, write_atomically, write_credentials

AUTH_CONF = "auth.conf"
CREDS_DIR = "creds"
CREDS_SUFFIX = ".creds"


@dataclass(frozen=True)
class Generated:
    """What a run produced: the server's config, and which roles got a new seed."""

    auth_conf: Path
    creds: dict[str, Path]
    created: list[str]
    removed: list[str]


def _new_seed() -> str:
    import nkeys
    from nacl.signing import SigningKey

    raw = bytes(SigningKey.generate())
    return str(nkeys.encode_seed(raw, nkeys.PREFIX_BYTE_USER).decode())


def creds_path(directory: Path, role_name: str) -> Path:
    return directory / CREDS_DIR / f"{role_name}{CREDS_SUFFIX}"


def known_hosts(directory: Path) -> list[str]:
    """Hosts that already have an executor's or uploader's credentials in `directory`."""
    hosts: set[str] = set()
    for path in (directory / CREDS_DIR).glob(f"*{CREDS_SUFFIX}"):
        kind, _, host_id = path.name.removesuffix(CREDS_SUFFIX).partition("-")
        if kind in permissions.HOST_ROLES and host_id:
            hosts.add(host_id)
    return sorted(hosts)


def generate(
    directory: Path,
    hosts: Sequence[str] = (),
    *,
    remove_hosts: Sequence[str] = (),
    rotate: Sequence[str] = (),
    auth_conf: Path | None = None,
) -> Generated:
    """Create the missing credentials (keeping every existing seed) and write the server's config
    (`<directory>/auth.conf` unless `auth_conf` says where)."""
    for host_id in (*hosts, *remove_hosts):
        permissions.check_host_id(host_id)
    removed: list[str] = []
    for host_id in remove_hosts:
        for kind in permissions.HOST_ROLES:
            path = creds_path(directory, permissions.host_role_name(kind, host_id))
            if path.exists():
                path.unlink()
                removed.append(path.name.removesuffix(CREDS_SUFFIX))
    wanted = sorted((set(known_hosts(directory)) | set(hosts)) - set(remove_hosts))
    roles = permissions.all_roles(wanted)
    unknown = set(rotate) - {role.name for role in roles}
    if unknown:
        raise ValueError(f"cannot rotate unknown role(s): {', '.join(sorted(unknown))}")

    created: list[str] = []
    users: list[tuple[permissions.Role, str]] = []
    paths: dict[str, Path] = {}
    for role in roles:
        path = creds_path(directory, role.name)
        if path.exists() and role.name not in rotate:
            credentials = read_credentials(path)
            if credentials.role != role.name:
                raise ValueError(f"{path} holds the credentials of {credentials.role!r}, not {role.name!r}")
        else:
            credentials = NatsCredentials(role=role.name, seed=_new_seed())
            write_credentials(path, credentials)
            created.append(role.name)
        users.append((role, credentials.public_key()))
        paths[role.name] = path

    auth_conf = auth_conf or directory / AUTH_CONF
    # public keys and permissions only: the server's user may read it
    write_atomically(auth_conf, permissions.authorization_config(users), 0o644)
    return Generated(auth_conf=auth_conf, creds=paths, created=created, removed=removed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dockback-nats-auth",
        description="Generate DockBack's NATS users (nkeys with subject permissions): the server's auth.conf "
        "and one credentials file per service and per host's executor and uploader. Existing seeds are kept.",
    )
    parser.add_argument("--dir", type=Path, default=Path("nats-auth"), help="output directory (default: ./nats-auth)")
    parser.add_argument("--host", action="append", default=[], help="a Docker host id to add (repeatable)")
    parser.add_argument("--remove-host", action="append", default=[], help="a host id to remove (repeatable)")
    parser.add_argument("--rotate", action="append", default=[], help="give this role a new seed (repeatable)")
    parser.add_argument(
        "--auth-conf",
        type=Path,
        default=None,
        help="where to write the server's config (default: <dir>/auth.conf), e.g. beside nats-server.conf",
    )
    args = parser.parse_args(argv)
    try:
        result = generate(
            args.dir, args.host, remove_hosts=args.remove_host, rotate=args.rotate, auth_conf=args.auth_conf
        )
    except ValueError as exc:
        print(f"dockback-nats-auth: {exc}", file=sys.stderr)
        return 2
    for role, path in result.creds.items():
        state = "new" if role in result.created else "kept"
        print(f"{state:>7}  {role:<40} {path}")
    for role in result.removed:
        print(f"removed  {role}")
    print(f"server config: {result.auth_conf} (include it in nats.conf; reload the server to apply)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
