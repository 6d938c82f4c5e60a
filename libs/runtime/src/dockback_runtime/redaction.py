"""Secrets taken out of text a command printed (a hook's output) before it leaves the host.

A hook is often a dump tool given its password on the command line or in the environment,
and tools echo both in their errors. What is masked: the value after a password-like option
(`-p secret`, `-psecret`, `--password=secret`, `--token secret`), the value of an environment-like
assignment whose name says it is a secret (`PGPASSWORD=...`, `API_TOKEN=...`), the user
information of a URL (`postgres://user:pw@db/x`), and bearer/basic credentials. It is a net
under the rule that secrets belong in files, not in argv; it cannot know every tool's habits.
"""

from __future__ import annotations

import re

MASK = "***"

_SECRET_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|auth|credentials?)"  # noqa: S105 - names of secrets, not one
)
_OPTION = re.compile(rf"(?i)(?<![\w-])(--?[\w-]*{_SECRET_WORD}[\w-]*)(=|[ \t]+)(['\"]?)[^\s'\"]+\3")
_SHORT_P = re.compile(r"(?<![\w-])-p(?:[ \t]+(?!-))?[^\s]+")
_ASSIGNMENT = re.compile(rf"(?i)\b([A-Z_][\w]*{_SECRET_WORD}[\w]*)(\s*[=:]\s*)(['\"]?)[^\s'\"]+\3")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_SCHEME_CREDENTIALS = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """`text` with the secrets this module knows the shapes of replaced by `***`."""
    text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
    text = _OPTION.sub(rf"\1\2{MASK}", text)
    text = _SHORT_P.sub(f"-p {MASK}", text)
    text = _ASSIGNMENT.sub(rf"\1\2{MASK}", text)
    return _SCHEME_CREDENTIALS.sub(rf"\1 {MASK}", text)
