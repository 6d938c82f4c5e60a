"""Filling and describing volumes with a busybox container (the docker CLI, so output stays bytes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

POPULATE = r"""
set -e
cd /data
echo "plain text" > regular.txt
dd if=/dev/urandom of=random.bin bs=1024 count=300 2>/dev/null
: > empty-file
mkdir -p empty-dir nested/deeper/deepest
echo inner > nested/deeper/deepest/file
ln -s regular.txt link-relative
ln -s ../regular.txt nested/link-up-within
ln -s /etc/hostname link-absolute
ln -s does-not-exist link-dangling
ln regular.txt hardlink-to-regular
mkfifo a-fifo
echo s > setuid-file && chmod 4755 setuid-file
mkdir sticky-dir && chmod 1777 sticky-dir
echo owned > owned-by-1000 && chown 1000:1001 owned-by-1000
mkdir owned-dir && chown 2000:2001 owned-dir && chmod 0710 owned-dir
touch "$(printf 'latin1-\351t\351')"
touch "$(printf 'bytes-\377\376')"
touch "unicode-名前-ü"
touch "spaces and 'quotes'"
long=$(printf 'n%.0s' $(seq 1 200)); touch "$long"
deep="$(printf 'd%.0s' $(seq 1 120))/$(printf 'e%.0s' $(seq 1 120))"
mkdir -p "$deep" && echo deep > "$deep/f"
mkdir many
for i in $(seq 1 {small_files}); do echo "small file $i" > many/f$i; done
chown 1234:5678 /data && chmod 0750 /data
"""

LISTING = r"""
cd /data
find . -exec stat -c '%n|%F|%a|%u|%g|%s|%h' {} + | sort
echo ---
find . -type f -exec sha256sum {} + | sort
echo ---
find . -type l -exec stat -c '%n|%N' {} + | sort
"""


async def docker_cli(*args: str, stdin: bytes | None = None) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "docker",
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    if process.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {err.decode(errors='replace')}")
    return out


async def volume_exists(name: str) -> bool:
    return name in (await docker_cli("volume", "ls", "-q")).decode().split()


async def create_volume(name: str, labels: dict[str, str]) -> None:
    await docker_cli("volume", "create", *[f"--label={k}={v}" for k, v in labels.items()], name)


async def run_in(image: str, volume: str, script: str, labels: dict[str, str], read_only: bool = False) -> bytes:
    mount = f"{volume}:/data" + (":ro" if read_only else "")
    return await docker_cli(
        "run", "--rm", *[f"--label={k}={v}" for k, v in labels.items()], "-v", mount, image, "sh", "-c", script
    )


async def populate(image: str, volume: str, labels: dict[str, str], small_files: int = 3000) -> None:
    await run_in(image, volume, POPULATE.replace("{small_files}", str(small_files)), labels)


async def describe(image: str, volume: str, labels: dict[str, str]) -> bytes:
    """Every path's type, mode, owner, size, link count, content hash and link target."""
    return await run_in(image, volume, LISTING, labels, read_only=True)


def partial_files(data_dir: Path) -> list[Path]:
    return list(data_dir.rglob(".partial-*"))


async def volume_of_random_bytes(image: str, name: str, labels: dict[str, str], megabytes: int) -> None:
    """A volume of `megabytes` MiB that no compression makes smaller."""
    await create_volume(name, labels)
    await run_in(image, name, f"dd if=/dev/urandom of=/data/big bs=1M count={megabytes} 2>/dev/null", labels)
