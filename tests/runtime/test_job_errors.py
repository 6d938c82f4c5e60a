"""Which errors a job worker retries and which fail a job at once, in words a person can act on."""

from __future__ import annotations

import errno

import pytest

from dockback_runtime.jobs.errors import describe_os_error, os_error_is_permanent


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG, errno.EINVAL, errno.EROFS])
def test_os_errors_no_retry_can_heal_are_permanent(code: int) -> None:
    assert os_error_is_permanent(OSError(code, "x"))


@pytest.mark.parametrize("code", [errno.EIO, errno.ECONNRESET, errno.EAGAIN, errno.ENOENT, None])
def test_other_os_errors_are_worth_a_retry(code: int | None) -> None:
    assert not os_error_is_permanent(OSError(code, "x") if code else OSError("x"))


def test_an_error_that_is_not_an_os_error_is_not_judged_here() -> None:
    assert not os_error_is_permanent(ValueError("no"))


def test_a_full_disk_is_described_with_the_file_it_concerns() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/data/volumes/pg/x.partial")
    assert describe_os_error(full) == "No space left on device: /data/volumes/pg/x.partial"
    assert describe_os_error(OSError(errno.ENAMETOOLONG, "")) == "File name too long"
