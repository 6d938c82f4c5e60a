"""The words of a "needs attention" line and the series it belongs to (pure functions): a job's
failure reason cut to its first clause with no archive file names, paths, ids or hashes; the
cause several failures share, to group them into one line; and each series' stable key, which an
acknowledgement names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

SHORT_REASON_LENGTH = 160
NAMED_IN_GROUP = 3  # a grouped line names this many of its failures, then "and N more"

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# "plan <id>'s " / "job <id>'s " that starts the executor's reasons: the line names the plan already.
_WHOSE = re.compile(rf"^(?:plan|job) {_UUID}'s\s+", re.IGNORECASE)
_ARCHIVE_NAME = re.compile(
    r"[\w@+=.,-]*\.(?:tar(?:\.(?:zst|gz|age))?|tgz|zst|gz|age|json|manifest)\b(?:\.(?:zst|gz|age))*", re.IGNORECASE
)
_PATH = re.compile(
    r"(?<![\w'\"])(?:[a-z][\w+.-]*://[^\s'\";,)]+|/[^\s'\";,):]+|(?:[\w.-]+/){2,}[^\s'\";,):]*)", re.IGNORECASE
)
_HASH = re.compile(rf"\b(?:sha256:)?(?:{_UUID}|[0-9a-f]{{12,}})\b", re.IGNORECASE)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_ELIDED = "…"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])|\n")
_SPACES = re.compile(r"[ \t]+")
_KIND_PLURAL = {"backup": "backups", "restore": "restores", "verify": "verifications", "prune": "prunes"}


def short_reason(error: str | None) -> str:
    """A failure reason as the dashboard says it: archive file names, paths, ids and hashes
    replaced by "…", cut to its first sentence, and a list of problems ("a; b; c") to its first
    with how many more; at most SHORT_REASON_LENGTH characters. The job's page has the whole
    reason."""
    if not error or not error.strip():
        return "no reason given"
    text = _WHOSE.sub("", error.strip())
    text = _HASH.sub(_ELIDED, _PATH.sub(_ELIDED, _ARCHIVE_NAME.sub(_ELIDED, text)))
    text = _SENTENCE_END.split(text, maxsplit=1)[0]
    problems = [part for part in text.split("; ") if part.strip()] or [text]
    # Only a list of the same problem ("volume 'a' does not exist; volume 'b' does not exist")
    # counts as more; a clause of advice after the problem is left out.
    # The first one may carry what it is a list of ("backup is incomplete: volume 'a' ...").
    first = _shape(problems[0].rsplit(": ", 1)[-1])
    alike = sum(_shape(part) == first for part in problems[1:])
    text = _SPACES.sub(" ", problems[0]).strip().rstrip(".:;,")
    if alike:
        text += f" (and {alike} more)"
    return _cut(text, SHORT_REASON_LENGTH)


def _shape(problem: str) -> str:
    """A problem with its names, numbers and a trailing remark in brackets left out."""
    problem = re.sub(r"\s*\([^()]*\)\s*$", "", problem)
    return re.sub(r"\d+", "#", _QUOTED.sub(_ELIDED, problem)).strip()


def cause(error: str | None) -> str:
    """What failures must share to be one line: the first problem of the short reason with
    every name, number, id, path and hash left out (lower case). Two restores of different
    missing volumes on different hosts have the same cause."""
    text = short_reason(error)
    text = re.sub(r" \(and \d+ more\)$", "", text)
    text = _QUOTED.sub(_ELIDED, text)
    text = re.sub(r"\b(?:on|of|from|to) host \S+", "", text)
    text = re.sub(r"\d+(?:[.,]\d+)?", "#", text)
    return _SPACES.sub(" ", text).strip().lower()


def cause_words(error: str | None) -> str:
    """The shared cause as a grouped line says it: the short reason's first problem with the
    quoted names and hosts left out ("volume does not exist")."""
    text = re.sub(r" \(and \d+ more\)$", "", short_reason(error))
    text = _QUOTED.sub("", text)
    text = re.sub(r"\b(?:on|of|from|to) host \S+", "", text)
    text = re.sub(r"\s+([,:;)])", r"\1", _SPACES.sub(" ", text))
    return text.strip().rstrip(".:;,") or "no reason given"


def cause_digest(error: str | None) -> str:
    return hashlib.sha256(cause(error).encode()).hexdigest()[:16]


def failure_key(
    job_kind: str,
    plan_id: object | None,
    host_id: str,
    resource_kind: str | None,
    resource_name: str | None,
    error: str | None,
) -> str:
    """One failed job's series: its kind, plan, host, resource and cause."""
    parts = [job_kind, str(plan_id or "-"), host_id, resource_kind or "-", resource_name or "-", cause_digest(error)]
    return "failed_job:" + ":".join(parts)


def failure_group_key(job_kind: str, error: str | None) -> str:
    """Failures of one kind with one cause, whatever plan, host or resource they hit."""
    return f"failed_jobs:{job_kind}:{cause_digest(error)}"


def missed_run_key(plan_id: object) -> str:
    return f"missed_run:{plan_id}"


def offline_host_key(host_id: str) -> str:
    return f"offline_host:{host_id}"


def low_space_key(host_id: str) -> str:
    return f"low_space:{host_id}"


def unprotected_volume_key(host_id: str, name: str) -> str:
    return f"unprotected_volume:{host_id}:{name}"


def subject(plan_name: str | None, resource_kind: str | None, resource_name: str | None) -> str:
    """What a job or an archive was of: "of volume data (plan nightly)", "of plan nightly", or ""
    when neither is known."""
    if resource_name is not None:
        return f"of {resource_kind} {resource_name}" + (f" (plan {plan_name})" if plan_name else "")
    return f"of plan {plan_name}" if plan_name else ""


def group_message(job_kind: str, error: str | None, subjects: Sequence[str]) -> str:
    """ "12 restores failed: volume does not exist (a, b, c and 9 more)"."""
    count = len(subjects)
    named = ", ".join(subjects[:NAMED_IN_GROUP])
    more = f" and {count - NAMED_IN_GROUP} more" if count > NAMED_IN_GROUP else ""
    plural = _KIND_PLURAL.get(job_kind, f"{job_kind} jobs")
    return _cut(f"{count} {plural} failed: {cause_words(error)}", SHORT_REASON_LENGTH) + f" ({named}{more})"


def _cut(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    cut = text[: length - 1].rsplit(" ", 1)[0] if " " in text[: length - 1] else text[: length - 1]
    return cut.rstrip(".:;, ") + _ELIDED
