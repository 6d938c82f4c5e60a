"""Reading tar streams without trusting them.

Two jobs, both pure (no Docker, no I/O beyond the stream handed in):

- `TarStreamCounter` counts the entries of an uncompressed tar stream while a backup writes it, from chunks of
  any size, by walking the 512-byte headers and skipping file data by arithmetic.
- `scan_archive` reads a whole archive before a restore writes anything and raises `HostileArchive` for entries
  that could write outside the restore target, or that tar readers could understand differently.

The Docker Engine reads and writes archives with Go's archive/tar, so the header walk follows that reader's rules
for finding entries (sizes, checksums, extended headers); `scan_archive` reads the same bytes with Python's
`tarfile` as well and refuses archives on which the two walks disagree, because the entries we check must be
the entries the engine extracts.
"""

from __future__ import annotations

import io
import tarfile
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Final

__all__ = [
    "ArchiveLimits",
    "ArchiveSummary",
    "HostileArchive",
    "TarFormatError",
    "TarStreamCounter",
    "check_member",
    "check_special_bits",
    "scan_archive",
]

_BLOCK: Final = 512
_ZERO_BLOCK: Final = bytes(_BLOCK)
# Go's archive/tar refuses longer pax and GNU long-name payloads (maxSpecialFileSize), so nothing the engine
# writes or reads is bigger.
_DEFAULT_MAX_EXTENDED_HEADER_BYTES: Final = 1 << 20
_MAX_INT64: Final = (1 << 63) - 1

# Headers that describe the next entry instead of being one.
_EXTENDED_TYPES: Final = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
)
# Entries whose size field, whatever it says, is not followed by data (Go's isHeaderOnlyType; tarfile agrees).
_HEADER_ONLY_TYPES: Final = frozenset(
    {tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE}
)
# The extended headers one entry may carry. With repeats, or pax mixed with GNU long names, tarfile lets the
# first header win and Go the last one (and a GNU long name over a pax path), so the name we check could differ
# from the name the engine writes.
_UNAMBIGUOUS_EXTENDED: Final = frozenset({b"", b"x", b"L", b"K", b"LK", b"KL"})
# tarfile applies these from a global pax header to every later entry; Go does not.
_GLOBAL_KEYS_READERS_DISAGREE_ON: Final = frozenset({"path", "linkpath", "size"})
_OCTAL_DIGITS: Final = b"01234567"


class TarFormatError(ValueError):
    """The bytes fed to a `TarStreamCounter` are not a tar stream it can follow."""


class HostileArchive(ValueError):
    """An archive a restore must not extract; the message names the entry and the reason."""

    def __init__(self, reason: str, *, entry: str | None = None) -> None:
        self.reason = reason
        self.entry = entry
        super().__init__(reason if entry is None else f"archive entry {_quote(entry)}: {reason}")


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Upper bounds a restore accepts, so an archive cannot exhaust the host while it is checked."""

    max_entries: int = 10_000_000
    max_total_bytes: int = 16 * 2**40
    max_extended_header_bytes: int = _DEFAULT_MAX_EXTENDED_HEADER_BYTES

    @classmethod
    def recorded(cls, entries: int, raw_bytes: int) -> ArchiveLimits:
        """The limits for restoring an archive whose backup recorded `entries` entries and a tar
        stream of `raw_bytes`: those counts plus a margin (1 % and 64 entries, 1 % and 1 MiB), so an
        archive that grew past what was backed up is refused instead of filling the host."""
        return cls(
            max_entries=entries + entries // 100 + 64,
            max_total_bytes=raw_bytes + raw_bytes // 100 + 2**20,
        )


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """What `scan_archive` found: entries as `TarStreamCounter.file_count` counts them, bytes of file content."""

    entries: int
    total_bytes: int


class TarStreamCounter:
    """Counts the entries of an uncompressed tar stream fed to it in chunks of any size.

    Only headers are parsed; file data is skipped by arithmetic. Entries are what a filesystem holds (files,
    hard links, symbolic links, directories, FIFOs, devices); pax extended headers ('x', 'g') and GNU long
    name and long link headers ('L', 'K') are not entries. Sizes may be octal, GNU base-256 or a pax `size`
    record (which Go writes for files of 8 GiB and more). Raises `TarFormatError` on a header it cannot trust
    (bad checksum, bad size) or on an extended header larger than `max_extended_header_bytes`.
    """

    def __init__(self, *, max_extended_header_bytes: int = _DEFAULT_MAX_EXTENDED_HEADER_BYTES) -> None:
        self._max_extended_header_bytes = max_extended_header_bytes
        self._raw_bytes = 0
        self._file_count = 0
        self._complete = False
        self._partial_block = bytearray()  # a header split across chunks
        self._skip = 0  # data and padding still to pass over
        self._pax_payload = bytearray()  # an 'x' payload being collected, for its size record
        self._pax_missing = 0
        self._pax_padding = 0
        self._pax_size: int | None = None  # the size record of the last 'x', for the entry it describes
        self._extended_kinds = b""  # typeflags of the extended headers before the next entry
        self._extended_offset: int | None = None  # where the first of those headers starts
        self._sparse_data: int | None = None  # data size of an old GNU sparse entry whose extension blocks follow
        self._sparse_extension_bytes = 0

    @property
    def raw_bytes(self) -> int:
        """Bytes fed so far, the end-of-archive blocks and anything after them included."""
        return self._raw_bytes

    @property
    def file_count(self) -> int:
        """Entries whose header has been seen so far."""
        return self._file_count

    @property
    def complete(self) -> bool:
        """Whether the end-of-archive zero block has been seen; bytes fed after it are counted but not read."""
        return self._complete

    def feed(self, chunk: bytes | memoryview) -> None:
        """Account for the next chunk of the stream."""
        view = memoryview(chunk).cast("B")
        end = len(view)
        start = self._raw_bytes
        self._raw_bytes += end
        pos = 0
        while pos < end and not self._complete:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
            elif self._pax_missing:
                step = min(self._pax_missing, end - pos)
                self._pax_payload += view[pos : pos + step]
                self._pax_missing -= step
                pos += step
                if not self._pax_missing:
                    self._pax_size = _pax_size_record(bytes(self._pax_payload), start + pos)
                    self._pax_payload.clear()
                    self._skip = self._pax_padding
            elif not self._partial_block and end - pos >= _BLOCK:
                pos += _BLOCK
                self._read_block(bytes(view[pos - _BLOCK : pos]), start + pos - _BLOCK)
            else:
                step = min(_BLOCK - len(self._partial_block), end - pos)
                self._partial_block += view[pos : pos + step]
                pos += step
                if len(self._partial_block) == _BLOCK:
                    block = bytes(self._partial_block)
                    self._partial_block.clear()
                    self._read_block(block, start + pos - _BLOCK)

    def _read_block(self, block: bytes, offset: int) -> None:
        if self._sparse_data is not None:
            self._read_sparse_extension(block, offset)
            return
        if block == _ZERO_BLOCK:
            self._complete = True
            return
        if not _checksum_matches(block):
            raise TarFormatError(f"bad header checksum at byte {offset}; the stream is corrupt or not a tar archive")
        typeflag = block[156:157]
        size = _parse_size(block[124:136], offset)
        if typeflag in _EXTENDED_TYPES:
            self._read_extended_header(typeflag, size, offset)
            return
        entry_offset = offset if self._extended_offset is None else self._extended_offset
        self._entry_seen(entry_offset, self._extended_kinds, block)
        self._file_count += 1
        if self._pax_size is not None:
            size = self._pax_size
        self._pax_size = None
        self._extended_kinds = b""
        self._extended_offset = None
        # Old V7 archives mark directories with a trailing slash on a plain file; both readers honour it.
        v7_directory = typeflag == tarfile.AREGTYPE and block[:100].split(b"\0", 1)[0].endswith(b"/")
        data = 0 if typeflag in _HEADER_ONLY_TYPES or v7_directory else size
        if typeflag == tarfile.GNUTYPE_SPARSE and block[482]:
            self._sparse_data = data
            self._sparse_extension_bytes = 0
        else:
            self._skip = _padded(data)

    def _read_extended_header(self, typeflag: bytes, size: int, offset: int) -> None:
        if size > self._max_extended_header_bytes:
            raise TarFormatError(
                f"extended header of {size} bytes at byte {offset} is over the limit of "
                f"{self._max_extended_header_bytes} bytes (max_extended_header_bytes)"
            )
        if typeflag == tarfile.XGLTYPE:
            # Go hands a global header to its caller as an entry of its own, which ends whatever extended
            # headers came before; it is not counted here because it holds nothing for the filesystem.
            self._pax_size = None
            self._extended_kinds = b""
            self._extended_offset = None
            self._skip = _padded(size)
            return
        if self._extended_offset is None:
            self._extended_offset = offset
        self._extended_kinds += typeflag
        if typeflag != tarfile.XHDTYPE:
            self._skip = _padded(size)
        elif size:
            self._pax_missing = size
            self._pax_padding = _padded(size) - size
        else:
            self._pax_size = None  # an empty 'x' still replaces the records of an earlier one, as in Go

    def _read_sparse_extension(self, block: bytes, offset: int) -> None:
        self._sparse_extension_bytes += _BLOCK
        if self._sparse_extension_bytes > self._max_extended_header_bytes:
            raise TarFormatError(
                f"sparse map ending at byte {offset + _BLOCK} is over the limit of "
                f"{self._max_extended_header_bytes} bytes (max_extended_header_bytes)"
            )
        if not block[504]:
            self._skip = _padded(self._sparse_data or 0)
            self._sparse_data = None

    def _entry_seen(self, offset: int, extended_kinds: bytes, header: bytes) -> None:
        """Called for each entry: where its first header starts, its extended header kinds, its own header."""


def check_member(member: tarfile.TarInfo) -> None:
    """Raise `HostileArchive` if extracting this entry on its own could write outside the restore target.

    Refused: names with a NUL byte, absolute names, names with a '..' component, a non-directory at the
    archive root, device files, entry types other than files, directories, links and FIFOs, negative sizes,
    regular files named like directories, symbolic links whose relative target climbs out of the archive
    root, and hard links whose target is absolute or climbs out of it. Absolute and dangling symbolic links
    are allowed: they are data, written as links and never followed by the restore. Names may start with
    './'. Rules that depend on earlier entries are `scan_archive`'s.
    """
    name = member.name
    if "\0" in name:
        raise HostileArchive("the name contains a NUL byte", entry=name)
    if name.startswith("/"):
        raise HostileArchive("absolute path; entries must be relative to the restore target", entry=name)
    if ".." in name.split("/"):
        raise HostileArchive("the path has a '..' component, which could climb out of the restore target", entry=name)
    parts = _resolve([], name) or []
    if member.ischr() or member.isblk():
        kind = "character" if member.ischr() else "block"
        raise HostileArchive(f"{kind} device file; device files are never restored", entry=name)
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk() or member.isfifo()):
        raise HostileArchive(f"unsupported entry type {member.type!r}", entry=name)
    if member.size < 0:
        raise HostileArchive(f"negative size {member.size}", entry=name)
    if not parts and not member.isdir():
        raise HostileArchive(
            "replaces the root of the restore target with something that is not a directory", entry=name
        )
    if member.isreg() and name.endswith("/"):
        # Go reads a plain file whose name ends in '/' as a directory, tarfile as a file with data.
        raise HostileArchive("a regular file named like a directory (ends in '/'); tar readers disagree", entry=name)
    if member.issym() or member.islnk():
        _check_link_target(member, parts)


def check_special_bits(member: tarfile.TarInfo) -> None:
    """Raise `HostileArchive` for an entry that would restore a setuid or setgid file.

    A setuid-root binary planted in a volume is a way to root for whoever can run it in a
    container; the engine applies a hard link's mode to the file it links to, so hard links
    count. A setgid directory only makes new files inherit its group and is allowed."""
    if member.mode & 0o4000 or (member.mode & 0o2000 and not member.isdir()):
        bits = " and ".join(b for b, mask in (("setuid", 0o4000), ("setgid", 0o2000)) if member.mode & mask)
        raise HostileArchive(
            f"has the {bits} bit (mode {member.mode:o}); such files are restored only when the plan allows "
            "it (restore_special_bits)",
            entry=member.name,
        )


def scan_archive(stream: BinaryIO, limits: ArchiveLimits, *, special_bits: bool = False) -> ArchiveSummary:
    """Read an uncompressed tar stream to its end and raise `HostileArchive` unless a restore may extract it.

    Every entry must pass `check_member`. Besides: a hard link must name an earlier file of the archive; no
    entry and no hard link target may lie under a path an earlier entry made a symbolic link (extracting it
    would write through the link); the entry count, the bytes of file content and the size of each extended
    header must stay within `limits`; the archive must end with its end-of-archive block; and Python's tarfile
    and the header walk of `TarStreamCounter` must find the same entries at the same offsets. The stream is
    read once, front to back, without seeking; memory grows only with the number of entries, because later
    hard links may refer to any earlier file. Unless `special_bits`, setuid and setgid files are refused too
    (`check_special_bits`).
    """
    walk = _HeaderWalk(max_extended_header_bytes=limits.max_extended_header_bytes)
    earlier = _EarlierEntries()
    entries = 0
    total_bytes = 0
    with _open_stream(_TeeReader(stream, walk)) as archive:
        while True:
            with _read_as_archive():
                member = archive.next()
            if member is None:
                break
            # tarfile keeps every member it returns, even in stream mode, until Python 3.13; we never need
            # them again, and millions of TarInfo objects would take gigabytes.
            archive.members.clear()  # type: ignore[attr-defined]
            _check_same_entry(member, walk.entries.popleft() if walk.entries else None, archive)
            check_member(member)
            if not special_bits:
                check_special_bits(member)
            earlier.admit(member)
            entries += 1
            if entries > limits.max_entries:
                raise HostileArchive(f"the archive has more than {limits.max_entries} entries (max_entries)")
            if member.isreg():
                total_bytes += member.size
                if total_bytes > limits.max_total_bytes:
                    raise HostileArchive(
                        f"the files in the archive hold more than {limits.max_total_bytes} bytes (max_total_bytes)"
                    )
    if not walk.complete:
        raise HostileArchive("the archive is truncated or corrupt: it ends without its end-of-archive block")
    if walk.entries:
        raise HostileArchive(
            f"the archive is corrupt or crafted: tarfile stopped after {entries} entries, "
            f"the header walk found {walk.file_count}"
        )
    return ArchiveSummary(entries=entries, total_bytes=total_bytes)


@dataclass(frozen=True, slots=True)
class _WalkedEntry:
    offset: int
    extended_kinds: bytes
    header: bytes


class _HeaderWalk(TarStreamCounter):
    """A counter that remembers the entries tarfile has not reached yet, to compare them with tarfile's."""

    def __init__(self, *, max_extended_header_bytes: int) -> None:
        super().__init__(max_extended_header_bytes=max_extended_header_bytes)
        # tarfile reads ahead in records of 10 KiB, so this holds at most a record's worth of entries.
        self.entries: deque[_WalkedEntry] = deque()

    def _entry_seen(self, offset: int, extended_kinds: bytes, header: bytes) -> None:
        self.entries.append(_WalkedEntry(offset, extended_kinds, header))


class _TeeReader(io.RawIOBase):
    """Hands tarfile the stream's bytes and feeds the same bytes to the header walk."""

    def __init__(self, stream: BinaryIO, walk: TarStreamCounter) -> None:
        super().__init__()
        self._stream = stream
        self._walk = walk

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._walk.feed(data)
        return data


class _EarlierEntries:
    """What the entries read so far left at each path, as far as later entries depend on it."""

    def __init__(self) -> None:
        self._linkable: set[str] = set()  # everything a hard link may point at: all but directories
        self._symlinks: set[str] = set()  # symbolic links, and hard links to them (which are links too)

    def admit(self, member: tarfile.TarInfo) -> None:
        parts = _resolve([], member.name) or []
        path = "/".join(parts)
        link = self._symlink_above(parts)
        if link is not None:
            raise HostileArchive(
                f"lies under {_quote(link)}, which an earlier entry made a symbolic link; "
                "restoring it would write through the link",
                entry=member.name,
            )
        is_symlink = member.issym()
        if member.islnk():
            target_parts = _resolve([], member.linkname) or []
            target = "/".join(target_parts)
            link = self._symlink_above(target_parts)
            if link is not None:
                raise HostileArchive(
                    f"hard link target {_quote(member.linkname)} lies under {_quote(link)}, "
                    "which an earlier entry made a symbolic link",
                    entry=member.name,
                )
            if target not in self._linkable:
                raise HostileArchive(
                    f"hard link target {_quote(member.linkname)} is not an earlier file in the archive",
                    entry=member.name,
                )
            is_symlink = target in self._symlinks
        if is_symlink:
            self._symlinks.add(path)
        else:
            self._symlinks.discard(path)
        if member.isdir():
            self._linkable.discard(path)
        else:
            self._linkable.add(path)

    def _symlink_above(self, parts: list[str]) -> str | None:
        if not self._symlinks:
            return None
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            if prefix in self._symlinks:
                return prefix
        return None


def _open_stream(reader: _TeeReader) -> tarfile.TarFile:
    with _read_as_archive():
        # tarfile reads the first header while opening, so opening can fail like reading.
        return tarfile.open(None, "r|", reader, encoding="utf-8", errors="surrogateescape")


@contextmanager
def _read_as_archive() -> Iterator[None]:
    """Turn what tarfile and the header walk raise on a bad stream into `HostileArchive`."""
    try:
        yield
    except TarFormatError as error:
        raise HostileArchive(f"the archive cannot be read safely: {error}") from error
    except (tarfile.TarError, ValueError) as error:
        # ValueError: tarfile lets a few parse failures (sparse maps, numbers) escape unwrapped.
        raise HostileArchive(f"the archive is truncated or corrupt: {error}") from error


def _check_same_entry(member: tarfile.TarInfo, walked: _WalkedEntry | None, archive: tarfile.TarFile) -> None:
    if walked is None or walked.offset != member.offset:
        raise HostileArchive(
            f"tarfile and the header walk disagree on where this entry starts (byte {member.offset}); "
            "the archive is corrupt or crafted",
            entry=member.name,
        )
    if walked.extended_kinds not in _UNAMBIGUOUS_EXTENDED:
        kinds = ", ".join(repr(chr(kind)) for kind in walked.extended_kinds)
        raise HostileArchive(
            f"carries conflicting extended headers ({kinds}); tar readers disagree on which one applies",
            entry=member.name,
        )
    header = walked.header
    plain_ustar = header[257:263] == b"ustar\x00" and header[508:512] != b"tar\x00"
    if header[345] and (not plain_ustar or header[156:157] == tarfile.GNUTYPE_SPARSE):
        # tarfile reads bytes 345-500 as a name prefix in every header; Go only in ustar headers.
        raise HostileArchive(
            "the header has data where ustar keeps a name prefix, but it is not a ustar header; "
            "tar readers disagree on the name",
            entry=member.name,
        )
    conflicting = _GLOBAL_KEYS_READERS_DISAGREE_ON.intersection(archive.pax_headers)
    if conflicting:
        raise HostileArchive(
            f"a global pax header sets {', '.join(sorted(conflicting))}, which tar readers apply differently",
            entry=member.name,
        )


def _check_link_target(member: tarfile.TarInfo, parts: list[str]) -> None:
    target = member.linkname
    if "\0" in target:
        raise HostileArchive("the link target contains a NUL byte", entry=member.name)
    if member.issym():
        if target.startswith("/"):
            return
        if _resolve(parts[:-1], target) is None:
            raise HostileArchive(
                f"symbolic link target {_quote(target)} leads out of the restore target", entry=member.name
            )
        return
    if target.startswith("/"):
        raise HostileArchive(f"hard link target {_quote(target)} is an absolute path", entry=member.name)
    if _resolve([], target) is None:
        raise HostileArchive(f"hard link target {_quote(target)} leads out of the restore target", entry=member.name)


def _resolve(base: list[str], path: str) -> list[str] | None:
    """The components of `path` taken from directory `base` inside the archive, or None if it climbs out."""
    resolved = list(base)
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            resolved.append(part)
        elif resolved:
            resolved.pop()
        else:
            return None
    return resolved


def _quote(name: str) -> str:
    """A name as a person can read it: undecodable bytes as \\xNN, control characters escaped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "'" + "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text) + "'"


def _padded(size: int) -> int:
    return -(-size // _BLOCK) * _BLOCK


def _checksum_matches(block: bytes) -> bool:
    try:
        stored = _parse_octal(block[148:156])
    except ValueError:
        return False
    # The checksum field itself counts as eight spaces.
    unsigned = sum(block) - sum(block[148:156]) + 8 * 0x20
    if stored == unsigned:
        return True
    # Some old tars summed signed bytes; readers accept both.
    high = sum(1 for index, byte in enumerate(block) if byte >= 0x80 and not 148 <= index < 156)
    return stored == unsigned - 0x100 * high


def _parse_size(field: bytes, offset: int) -> int:
    if field[0] & 0x80:
        # GNU base-256: big-endian two's complement behind the marker bit, 0x40 being the sign.
        if field[0] & 0x40:
            raise TarFormatError(f"negative size in the header at byte {offset}")
        value = int.from_bytes(field, "big") & ~(0x80 << (8 * (len(field) - 1)))
    else:
        try:
            value = _parse_octal(field)
        except ValueError:
            raise TarFormatError(f"unreadable size field {field!r} in the header at byte {offset}") from None
    if value > _MAX_INT64:
        raise TarFormatError(f"size {value} in the header at byte {offset} is out of range")
    return value


def _parse_octal(field: bytes) -> int:
    # As Go reads it: NULs and spaces around the digits are padding, and the digits end at a NUL.
    digits = field.strip(b" \0").split(b"\0", 1)[0]
    if digits.translate(None, _OCTAL_DIGITS):
        raise ValueError(f"not an octal number: {field!r}")
    return int(digits, 8) if digits else 0


def _pax_size_record(payload: bytes, end_offset: int) -> int | None:
    """The value of the `size` record in a pax payload, read as strictly as Go reads it."""
    size: int | None = None
    pos = 0
    while pos < len(payload):
        space = payload.find(b" ", pos, pos + 21)
        length_text = payload[pos:space] if space > pos else b""
        length = int(length_text) if length_text.isdigit() else 0  # at most 20 digits, found above
        record_end = pos + length
        keyword, equals, value = payload[space + 1 : record_end - 1].partition(b"=")
        if length < 5 or record_end > len(payload) or payload[record_end - 1 : record_end] != b"\n" or not equals:
            raise TarFormatError(f"malformed pax record in the extended header ending at byte {end_offset}")
        if keyword == b"size":
            if not value.isdigit() or len(value) > 19 or int(value) > _MAX_INT64:
                raise TarFormatError(f"bad pax size {value!r} in the extended header ending at byte {end_offset}")
            size = int(value)
        pos = record_end
    return size
