"""How a job can fail, and whether trying again may help.

Transient errors are retried through JetStream redelivery (a nack with a delay); permanent
ones end the job with `JobFailed` at once. The message says what is wrong in words a person
can act on; it ends up in the UI and in the alert mail.
"""

from __future__ import annotations


class JobError(Exception):
    """A job cannot go on. `retryable` says whether running it again may succeed."""

    retryable = False


class TransientError(JobError):
    """Worth trying again later: the engine is unreachable, the resource is busy."""

    retryable = True


class PermanentError(JobError):
    """Will fail again the same way: fix the cause first."""


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


class NotAllowed(PermanentError):
    """The request asks for something this executor's configuration forbids."""
