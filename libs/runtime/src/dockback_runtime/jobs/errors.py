"""How a job can fail, and whether trying again may help.

Transient errors are retried through JetStream redelivery (a nack with a delay); permanent
ones end the job with `JobFailed` at once. The message says what is wrong in words a person
can act on; it ends up in the UI and in the alert mail.
"""

from __future__ import annotations

import errno
import os

PERMANENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # no space left: retrying fills the disk again, for every other job too
        errno.EDQUOT,
        errno.EFBIG,
        errno.ENAMETOOLONG,
        errno.EINVAL,
        errno.EROFS,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ELOOP,
    }
)
"""OS errors that fail the same way on every attempt: the job fails at once, naming the cause."""


class JobError(Exception):
    """A job cannot go on. `retryable` says whether running it again may succeed.

    `output` is what a command of the job printed (a hook's), kept out of the message: the
    message is shown to every role and sent in alerts, the output only to operators and admins.
    """

    retryable = False
    output: str | None = None

    def __init__(self, *args: object, output: str | None = None) -> None:
        super().__init__(*args)
        self.output = output


class TransientError(JobError):
    """Worth trying again later: a server is unreachable, the resource is busy, a publish was not taken."""

    retryable = True


class PermanentError(JobError):
    """Will fail again the same way: fix the cause first."""


def os_error_is_permanent(exc: BaseException) -> bool:
    """Whether `exc` is an OS error that no retry can heal (full disk, name too long, invalid argument)."""
    return isinstance(exc, OSError) and exc.errno in PERMANENT_ERRNOS


def describe_os_error(exc: OSError) -> str:
    """`exc` in words, with the file it concerns: "No space left on device: /data/x.tar.zst"."""
    what = (exc.strerror or os.strerror(exc.errno)) if exc.errno else str(exc)
    return f"{what}: {exc.filename}" if exc.filename else str(what)
