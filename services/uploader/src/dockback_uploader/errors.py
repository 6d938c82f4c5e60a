"""How an uploader job can fail, and whether trying again may help.

Transient errors are retried through JetStream redelivery (a nack with a delay); permanent
ones end the job with `JobFailed` at once. Messages are meant for a person: they end up in
the UI and in the alert mail.
"""

from __future__ import annotations


class JobError(Exception):
    """A job cannot go on. `retryable` says whether running it again may succeed."""

    retryable = False


class TransientError(JobError):
    """Worth trying again later: NATS did not take a publish, the data dir is not there yet."""

    retryable = True


class PermanentError(JobError):
    """Will fail again the same way: fix the cause first."""


class OutOfScope(PermanentError):
    """A prune names a file that is not provably the artifact of the request's scope."""
