"""The passwords of this host's restic repositories: from the executor's own share of the
settings (`executor.<host id>` in the settings bucket), sealed to the executor's key, which
derives from its NATS credentials (`dockback_runtime.sealing`). An opened password goes into a
`Repository` and from there only into the FIFO restic reads it from: never a log, an event or a
container's configuration.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.js import JetStreamContext

from dockback_contracts.snapshots import executor_settings_key, repository_password
from dockback_executor.restic import Repository
from dockback_runtime.jobs.errors import PermanentError
from dockback_runtime.settings_share import SettingsShare

MISSING_REPOSITORY_WAIT_SECONDS = 5.0
"""How long a job looks for a repository missing from this host's settings before it fails."""
_HINT = "choose the format `repository` for a plan of this host"


class RepositoryKeys:
    """Finds a repository's password in this executor's settings, on every job (no restart
    needed when a plan gets its repository). `key` is None when this executor has no sealing key
    (`no_key_because` says why): it then runs archive backups only."""

    def __init__(
        self,
        jetstream: Callable[[], JetStreamContext],
        host_id: str,
        key: X25519PrivateKey | None,
        no_key_because: str = "",
        missing_wait: float = MISSING_REPOSITORY_WAIT_SECONDS,
    ) -> None:
        self.host_id = host_id
        self.share = (
            None if key is None else SettingsShare(jetstream, executor_settings_key(host_id), key, "this executor")
        )
        self.no_key_because = no_key_because
        self.missing_wait = missing_wait

    async def repository(self, name: str) -> Repository:
        """The repository `name` of this host, with its opened password."""
        if self.share is None:
            raise PermanentError(
                f"repository {name!r}: this executor cannot open repository passwords ({self.no_key_because})"
            )
        found, snapshot = await self.share.find(
            lambda s: next((r for r in s.repositories if r.name == name), None), _HINT, self.missing_wait
        )
        if found is None:
            raise PermanentError(
                f"repository {name!r} is not in this host's settings (revision {snapshot.revision}): "
                "a host gets the repositories of its plans"
            )
        password = self.share.open(
            repository_password(self.host_id, name), found.password, f"the password of repository {name!r}"
        )
        return Repository(name, password=password)
