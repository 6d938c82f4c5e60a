"""The formats the API accepts in text fields, each with the words a 422 says about it.

Pydantic's own message for a mismatch quotes the regular expression ("String should match
pattern '^[^\\x00-\\x1f\\x7f]*$'"), which tells a person nothing; `describe` gives the sentence
instead. Every pattern of the API is one of these (tests/gateway/test_validation_messages.py).
"""

from __future__ import annotations

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
SOME_TEXT = r"^[^\x00-\x1f\x7f]+$"
NO_NUL = r"^[^\x00]+$"
SAFE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # the contracts' HostId; S3 target and webhook ids
USERNAME = r"^[A-Za-z0-9._-]{1,64}$"
DOCKER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,254}$"
# Docker's own rule for volume and container names, [a-zA-Z0-9][a-zA-Z0-9_.-]*; the Engine API sets
# no length limit, a local volume's name is a directory name (at most 255 bytes), so 255 here.
VOLUME_OR_CONTAINER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$"
TOTP_CODE = r"^[0-9]{6}$"
EMAIL_ADDRESS = r"^[^@ <>,;\x00-\x1f\x7f-\x9f]+@[^@ <>,;\x00-\x1f\x7f-\x9f]+$"
# http(s), a host name or IPv4 address, an optional port, then anything printable (explicit
# classes, not \s: the JSON Schema and pydantic regex dialects differ on it)
HTTP_URL = r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?([/?#][^ \x00-\x1f\x7f-\x9f]*)?$"
S3_ENDPOINT = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$"
S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
MAIL_HOST = r"^[A-Za-z0-9.:\[\]-]+$"
LABEL = r"^[^=\x00-\x1f\x7f]+=[^\x00-\x1f\x7f]*$"
SHA256 = r"^[0-9a-f]{64}$"

_WORDS = {
    NO_CONTROL_CHARACTERS: "Must not contain control characters such as line breaks or tabs",
    SOME_TEXT: "Must not be empty or contain control characters such as line breaks or tabs",
    NO_NUL: "Must not contain a NUL character",
    SAFE_ID: "Use 1-64 letters, digits, '-' or '_', starting with a letter or a digit",
    USERNAME: "Use 1-64 letters, digits, '.', '_' or '-'",
    DOCKER_NAME: (
        "Use an image reference: letters, digits, '_', '.', ':', '/', '@' or '-', starting with a letter or a "
        "digit, at most 255 characters"
    ),
    VOLUME_OR_CONTAINER_NAME: (
        "Use letters, digits, '_', '.' or '-', starting with a letter or a digit, at most 255 characters "
        "(Docker's rule for volume and container names)"
    ),
    TOTP_CODE: "Enter the 6 digits your authenticator app shows",
    EMAIL_ADDRESS: "Enter an email address such as ops@example.com",
    HTTP_URL: "Enter an http:// or https:// URL such as https://hooks.example.net/dockback",
    S3_ENDPOINT: (
        "Enter host[:port] without http:// or https://, such as s3.eu-central-1.amazonaws.com or minio.lan:9000"
    ),
    S3_BUCKET: (
        "Use an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', "
        "starting and ending with a letter or a digit"
    ),
    MAIL_HOST: "Enter a host name or an IP address, such as smtp.example.com",
    LABEL: "Use key=value",
    SHA256: "Use a SHA-256 digest: 64 lowercase hexadecimal digits",
}


def describe(pattern: str) -> str | None:
    """What a value of `pattern` must look like, in words; None for a pattern not listed here."""
    return _WORDS.get(pattern)
