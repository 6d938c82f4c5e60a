"""Answering `CheckTarget` from the API: can this uploader reach the target with its credentials,
and does the bucket exist? The target comes in the request, its keys sealed to this uploader's
key (the gateway asks the host an admin chose; the host's own settings may not hold the target).
The reply says what to fix; it never carries a secret."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from dockback_contracts.control import CheckResult, CheckTarget
from dockback_runtime.jobs.errors import JobError
from dockback_uploader.s3 import S3Bucket
from dockback_uploader.targets import TargetSettings

log = logging.getLogger(__name__)


class TargetCheck:
    def __init__(self, targets: TargetSettings, host_id: str) -> None:
        self.targets = targets
        self.answered_by = f"uploader on host {host_id}"

    async def run(self, request: CheckTarget) -> CheckResult:
        target = request.target
        try:
            credentials = self.targets.opened(target, sealed_to=request.recipient)
            async with S3Bucket.open(target, credentials, self.targets.policy) as bucket:
                await bucket.check()
        except JobError as exc:
            return self._result(False, str(exc))
        except Exception as exc:  # an answer we did not foresee: still answer, so the API need not time out
            log.warning("checking S3 target %s failed unexpectedly", target.target_id, exc_info=True)
            return self._result(
                False, f"S3 target {target.target_id!r}: the check failed unexpectedly ({type(exc).__name__})"
            )
        detail = f"S3 target {target.target_id!r}: bucket {target.bucket!r} at {target.endpoint} is reachable"
        return self._result(True, detail)

    def _result(self, ok: bool, detail: str) -> CheckResult:
        return CheckResult(ok=ok, detail=detail, answered_by=self.answered_by, checked_at=datetime.now(UTC))
