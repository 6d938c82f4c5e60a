"""The recovery sheet of a repository: the words and commands that get the data back with restic
alone, when DockBack (or its database) is gone."""

from __future__ import annotations

from datetime import datetime

DATA_DIR_WORDS = (
    "DockBack's data dir on that host: the executor's DOCKBACK_DATA_DIR (default /var/lib/dockback/backups); "
    "under Docker Compose the volume `backups`, mounted at /data/backups in the executor"
)


def location(name: str) -> str:
    return f"<data dir>/repositories/{name}"


def sheet_text(
    *, host_id: str, name: str, plan: str | None, password: str, exported_by: str, exported_at: datetime
) -> str:
    """The sheet as plain text (what a person prints or stores in a password manager)."""
    path = f"/var/lib/dockback/backups/repositories/{name}"
    return f"""DockBack recovery sheet: restic repository {name}

Host:        {host_id}
Plan:        {plan or "(deleted)"}
Repository:  {location(name)}
             <data dir> is {DATA_DIR_WORDS}.
Password:    {password}

Exported {exported_at:%Y-%m-%d %H:%M UTC} by {exported_by}.

Keep this sheet apart from the host and from DockBack. Whoever holds it can read every snapshot in
this repository; without it nobody can, DockBack included, once its database is lost.

Read the repository with restic alone (Debian and Ubuntu: apt install restic), on the host or
wherever a copy of the repository directory is:

  export RESTIC_REPOSITORY={path}
      (that is {location(name)} with the default data dir; use yours)
  export RESTIC_PASSWORD='{password}'

  restic snapshots
      every snapshot: its id, time, host and tags (resource=volume:<name>, role=..., plan=..., job=...)
  restic ls <snapshot id>
      what it holds; a volume's files are under /volumes/<volume name>
  restic restore <snapshot id> --target /tmp/restored
      the volume's files appear in /tmp/restored/volumes/<volume name>, owners and modes kept
  restic restore <snapshot id> --target /tmp/restored --include /volumes/<volume name>/<path>
      one file or directory
  restic dump <snapshot id> /image-<name>.tar | docker load
      an image snapshot back into Docker

Into a Docker volume: docker run --rm -v <volume>:/volumes/<volume name> -v /tmp/restored:/from alpine
cp -a /from/volumes/<volume name>/. /volumes/<volume name>/   (or restore with --target / inside a container
that mounts the volume at /volumes/<volume name>).
"""
