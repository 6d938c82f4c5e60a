"""Where a volume's data lives: its driver and the driver's options, and that said in words.

A `local` volume with options is not necessarily a fresh directory: `type=none,o=bind,
device=/srv/app` is the host directory /srv/app, `type=nfs,o=addr=nas,device=:/export` an
NFS share. Creating a second volume with the same driver and options writes into the same
place, so a restore "to a new volume" uses the plain `local` driver unless the person
chose the original's storage (`RestoreTarget.storage`), after being told in words where
that writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from dockback_contracts.base import Model

PLAIN_LOCAL = "a new, empty directory in Docker's own volume storage (the plain local driver, no options)"

# Mount options that carry credentials (cifs `password=`, ...): never carried off the host.
_SECRET_MOUNT_OPTIONS = ("password", "pass", "passwd", "credentials", "secret", "key", "token")
REDACTED = "(not carried)"


class VolumeStorage(Model):
    """A volume's driver and driver options, as `docker volume inspect` reports them.

    Mount options that hold a credential (a CIFS `password=`) are replaced by
    `REDACTED` (`from_inspect`), so they never leave the host; such a storage cannot be
    recreated (`recreatable` is False)."""

    driver: str = Field(default="local", min_length=1, max_length=255)
    options: Mapping[str, str] = Field(default_factory=dict, description="The driver's options (DriverOpts).")

    @classmethod
    def from_inspect(cls, inspected: Mapping[str, Any]) -> VolumeStorage:
        """The storage of a volume from its `docker volume inspect`, credentials redacted."""
        options = {str(k): _without_credentials(str(k), str(v)) for k, v in (inspected.get("Options") or {}).items()}
        return cls(driver=str(inspected.get("Driver") or "local"), options=options)

    @property
    def plain(self) -> bool:
        """Docker's own volume storage: a new volume is a new, empty directory."""
        return self.driver == "local" and not self.options

    @property
    def recreatable(self) -> bool:
        """Whether a volume with exactly this storage can be created from what is carried here."""
        return REDACTED not in "".join(self.options.values())

    def in_words(self) -> str:
        """Where a volume with this storage writes, for the person about to choose it."""
        if self.plain:
            return PLAIN_LOCAL
        if self.driver != "local":
            return f"the storage of the volume driver {self.driver!r} (options: {_keys(self.options)})"
        kind = self.options.get("type", "")
        device = self.options.get("device", "")
        flags = [f.strip() for f in self.options.get("o", "").split(",") if f.strip()]
        if "bind" in flags or "rbind" in flags or (kind == "none" and device):
            return f"the host directory {device}"
        if kind.startswith("nfs"):
            address = next((f.split("=", 1)[1] for f in flags if f.startswith("addr=")), "")
            share = device if not address or not device.startswith(":") else f"{address}{device}"
            return f"the NFS share {share}"
        if kind in ("cifs", "smb3", "smbfs"):
            return f"the SMB share {device}"
        if kind == "tmpfs":
            return "a new tmpfs in the host's memory"
        if device:
            return f"the {kind or 'filesystem'} device {device}"
        return f"a local volume with the options {_keys(self.options)}"


def _without_credentials(key: str, value: str) -> str:
    if key != "o":
        return REDACTED if key.lower() in _SECRET_MOUNT_OPTIONS else value
    parts = []
    for flag in value.split(","):
        name, eq, _ = flag.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and name.strip().lower() in _SECRET_MOUNT_OPTIONS else flag)
    return ",".join(parts)


def _keys(options: Mapping[str, str]) -> str:
    return ", ".join(sorted(options)) or "none"
