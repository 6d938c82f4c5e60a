"""The uploader's ways for a job to fail (the kinds are the job-worker kit's: dockback_runtime.jobs.errors)."""

from __future__ import annotations

from dockback_runtime.jobs.errors import PermanentError


class OutOfScope(PermanentError):
    """A prune names a file that is not provably the artifact of the request's scope."""
