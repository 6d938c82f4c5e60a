"""The executor's ways for a job to fail (the kinds, transient or permanent, are the job-worker kit's:
dockback_runtime.jobs.errors)."""

from __future__ import annotations

from dockback_runtime.jobs.errors import PermanentError, TransientError


class EngineUnavailable(TransientError):
    """The Docker Engine did not answer or answered with a server error."""


class ResourceBusy(TransientError):
    """Another job holds the resource's lock."""


class ResourceMissing(PermanentError):
    """The volume, container or image does not exist on this host."""


class NothingSelected(PermanentError):
    """A plan's target selectors match nothing on this host."""


class EngineRefused(PermanentError):
    """The Docker Engine refused the request (a 4xx other than 404)."""


class ChecksumMismatch(PermanentError):
    """An archive's bytes do not hash to the sha256 in its manifest."""


class RestoreRefused(PermanentError):
    """A restore would overwrite something it was not allowed to."""


class HookFailed(PermanentError):
    """A pre- or post-command failed and its on-error policy is `fail`."""


class HookRefused(PermanentError):
    """A hook names a container it may not run in (not backed up by the job, or one of DockBack's own)."""


class NotAllowed(PermanentError):
    """The request asks for something this executor's configuration forbids."""


class EngineFailed(PermanentError):
    """The Docker Engine failed in a way no retry can heal: a file name too long, no space left, an invalid argument."""


class DataDirFull(PermanentError):
    """The data dir's filesystem has no room left for an archive."""
