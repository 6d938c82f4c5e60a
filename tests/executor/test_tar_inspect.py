"""Counting tar streams during a backup and refusing hostile archives before a restore."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockback_executor.tar_inspect import (
    ArchiveLimits,
    ArchiveSummary,
    HostileArchive,
    TarFormatError,
    TarStreamCounter,
    check_member,
    scan_archive,
)

FORMATS = pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
LONG = "x" * 150  # longer than the 100-byte name field: needs a GNU long-name or pax header

Member = tuple[tarfile.TarInfo, bytes]


def _file(name: str, data: bytes = b"", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def _entry(name: str, kind: bytes, linkname: str = "", mode: int = 0o755) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    return info, b""


def _tar(*members: Member, fmt: int = tarfile.PAX_FORMAT, pax_headers: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape", pax_headers=pax_headers
    ) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def _tar_without_end(*members: Member, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
        return buffer.getvalue()  # before close() appends the end-of-archive blocks


def _with_checksum(header: bytearray) -> bytes:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _scan(archive: bytes, limits: ArchiveLimits | None = None, *, special_bits: bool = True) -> ArchiveSummary:
    return scan_archive(io.BytesIO(archive), limits or ArchiveLimits(), special_bits=special_bits)


def _count(archive: bytes) -> TarStreamCounter:
    counter = TarStreamCounter()
    counter.feed(archive)
    return counter


# -- TarStreamCounter --------------------------------------------------------------------------------------------

_NAMES = st.text(alphabet="abcé/", min_size=1, max_size=140)
_SIZES = st.one_of(st.integers(min_value=0, max_value=2000), st.sampled_from([0, 512, 1024, 4096]))
_KINDS = st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo", "chardev"])
_ENTRIES = st.lists(st.tuples(_KINDS, _NAMES, _SIZES, _NAMES), max_size=20)


def _member(kind: str, name: str, size: int, target: str) -> Member:
    if kind == "file":
        return _file(name, bytes([size % 251]) * size)
    types = {
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "fifo": tarfile.FIFOTYPE,
        "chardev": tarfile.CHRTYPE,
    }
    return _entry(name, types[kind], linkname=target if kind in ("symlink", "hardlink") else "")


@FORMATS
@given(entries=_ENTRIES, data=st.data())
def test_counter_counts_every_entry_whatever_the_chunk_boundaries(
    fmt: int, entries: list[tuple[str, str, int, str]], data: st.DataObject
) -> None:
    archive = _tar(*(_member(*entry) for entry in entries), fmt=fmt)
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(archive)), max_size=30)))
    counter = TarStreamCounter()
    view = memoryview(archive)
    for start, end in zip([0, *cuts], [*cuts, len(archive)], strict=True):
        counter.feed(view[start:end])
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r|", encoding="utf-8", errors="surrogateescape") as tar:
        members = sum(1 for _ in tar)
    assert counter.file_count == len(entries) == members
    assert counter.complete
    assert counter.raw_bytes == len(archive)


@FORMATS
def test_counter_does_not_count_long_name_headers(fmt: int) -> None:
    archive = _tar(_file(LONG, b"data"), _entry(LONG + "-link", tarfile.SYMTYPE, linkname=LONG), fmt=fmt)
    assert b"././@LongLink" in archive if fmt == tarfile.GNU_FORMAT else b"path=" + LONG.encode() in archive
    assert _count(archive).file_count == 2


def test_counter_reads_a_header_split_across_chunks() -> None:
    archive = _tar(_file("a", b"1" * 700), _file("b"), _entry("c", tarfile.DIRTYPE))
    counter = TarStreamCounter()
    for index in range(len(archive)):
        counter.feed(archive[index : index + 1])
    assert (counter.file_count, counter.complete) == (3, True)


def test_counter_is_incomplete_until_the_end_of_archive_block() -> None:
    counter = _count(_tar_without_end(_file("a", b"data"), _file("b")))
    assert counter.file_count == 2
    assert not counter.complete


def test_counter_ignores_bytes_after_the_end_of_archive() -> None:
    archive = _tar(_file("a", b"data"))
    counter = _count(archive + b"trailing garbage" * 100)
    assert (counter.file_count, counter.complete, counter.raw_bytes) == (1, True, len(archive) + 1600)


@FORMATS
def test_counter_follows_sizes_too_big_for_the_octal_field(fmt: int) -> None:
    huge = tarfile.TarInfo("huge")
    huge.size = 9 * 2**30
    header = _tar_without_end((huge, b""), fmt=fmt)  # the header alone
    if fmt == tarfile.GNU_FORMAT:
        assert header[124] == 0x80, "the size should be base-256"
    else:
        assert b" size=9663676416\n" in header, "the size should be a pax record"
    counter = TarStreamCounter()
    counter.feed(header)
    zeros = memoryview(bytes(2**24))  # 9 GiB of file data without 9 GiB in memory
    for _ in range(huge.size // len(zeros)):
        counter.feed(zeros)
    counter.feed(_tar(_file("small", b"data"), fmt=fmt))
    assert (counter.file_count, counter.complete) == (2, True)


def _old_gnu_sparse_member() -> bytes:
    info = tarfile.TarInfo("sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 1024  # bytes stored in the archive
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape"))
    header[482] = 1  # an extension block with more of the sparse map follows
    header[483:495] = b"%011o\0" % 4096  # the file's real size
    extension = bytearray(512)
    extension[0:24] = b"%011o\0%011o\0" % (2048, 1024)  # offset and length of the data held
    return _with_checksum(header) + bytes(extension) + b"s" * 1024


def test_counter_skips_the_extension_blocks_of_old_gnu_sparse_files() -> None:
    archive = _old_gnu_sparse_member() + _tar(_file("after", b"data"), fmt=tarfile.GNU_FORMAT)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r|") as tar:
        names = [member.name for member in tar]
    assert names == ["sparse", "after"]
    assert _count(archive).file_count == 2


def test_counter_refuses_a_header_with_a_bad_checksum() -> None:
    archive = bytearray(_tar(_file("a", b"data"), _file("b")))
    archive[1024] ^= 0xFF  # the second header's name
    with pytest.raises(TarFormatError, match="checksum at byte 1024"):
        _count(bytes(archive))


def test_counter_refuses_an_extended_header_over_its_limit() -> None:
    counter = TarStreamCounter(max_extended_header_bytes=100)
    with pytest.raises(TarFormatError, match="max_extended_header_bytes"):
        counter.feed(_tar(_file(LONG)))


# -- scan_archive: archives a restore accepts ---------------------------------------------------------------------

UNDECODABLE = b"caf\xe9-latin1".decode("utf-8", "surrogateescape")


def _volume(prefix: str) -> list[Member]:
    return [
        _entry(prefix or ".", tarfile.DIRTYPE, mode=0o1777),
        _entry(f"{prefix}etc", tarfile.DIRTYPE),
        _file(f"{prefix}etc/app.conf", b"setting = 1\n"),
        _file(f"{prefix}etc/setuid-helper", b"\x7fELF" * 300, mode=0o4755),
        _entry(f"{prefix}etc/editor", tarfile.SYMTYPE, linkname="/etc/alternatives/editor"),
        _entry(f"{prefix}etc/dangling", tarfile.SYMTYPE, linkname="no/such/file"),
        _entry(f"{prefix}etc/up", tarfile.SYMTYPE, linkname="../etc/app.conf"),
        _entry(f"{prefix}queue", tarfile.FIFOTYPE, mode=0o600),
        _entry(f"{prefix}same-conf", tarfile.LNKTYPE, linkname=f"{prefix}etc/app.conf"),
        _entry(
            f"{prefix}same-helper", tarfile.LNKTYPE, linkname="./" + f"{prefix}etc/setuid-helper".removeprefix("./")
        ),
        _entry(f"{prefix}same-link", tarfile.LNKTYPE, linkname=f"{prefix}etc/editor"),
        _file(f"{prefix}{UNDECODABLE}", b"bytes that are not UTF-8 in the name"),
        _file(f"{prefix}{LONG}/{LONG}", b"deep"),
    ]


@FORMATS
@pytest.mark.parametrize("prefix", ["./", "", "data/"], ids=["dot-slash", "bare", "directory"])
def test_scan_accepts_a_legitimate_volume_archive(fmt: int, prefix: str) -> None:
    members = _volume(prefix)
    summary = _scan(_tar(*members, fmt=fmt))
    assert summary == ArchiveSummary(entries=len(members), total_bytes=sum(len(data) for _, data in members))


def test_scan_counts_what_the_counter_counts() -> None:
    archive = _tar(*_volume("./"))
    assert _scan(archive).entries == _count(archive).file_count


def test_scan_accepts_an_empty_archive() -> None:
    assert _scan(_tar()) == ArchiveSummary(entries=0, total_bytes=0)


def test_scan_accepts_old_gnu_sparse_files() -> None:
    archive = _old_gnu_sparse_member() + _tar(_file("after", b"data"), fmt=tarfile.GNU_FORMAT)
    assert _scan(archive) == ArchiveSummary(entries=2, total_bytes=4096 + 4)


def test_check_member_accepts_the_root_directory_of_a_docker_archive() -> None:
    check_member(_entry("./", tarfile.DIRTYPE)[0])


# -- scan_archive: hostile entries ---------------------------------------------------------------------------------


def _refused(*members: Member, fmt: int = tarfile.PAX_FORMAT) -> str:
    with pytest.raises(HostileArchive) as refused:
        _scan(_tar(*members, fmt=fmt))
    return str(refused.value)


def test_absolute_path_is_refused() -> None:
    assert _refused(_file("/etc/cron.d/job", b"* * * * * root sh")) == (
        "archive entry '/etc/cron.d/job': absolute path; entries must be relative to the restore target"
    )


def test_path_climbing_out_with_dotdot_is_refused() -> None:
    message = _refused(_file("./a/../../etc/passwd", b"root::0:0::/:/bin/sh"))
    assert "'./a/../../etc/passwd'" in message
    assert "'..' component" in message


def test_dotdot_is_refused_even_when_the_path_stays_inside() -> None:
    assert "'..' component" in _refused(_file("a/../b"))


def test_relative_symlink_leading_out_of_the_root_is_refused() -> None:
    message = _refused(_entry("./a", tarfile.DIRTYPE), _entry("./a/link", tarfile.SYMTYPE, linkname="../../etc"))
    assert message == "archive entry './a/link': symbolic link target '../../etc' leads out of the restore target"


def test_hard_link_to_an_absolute_path_is_refused() -> None:
    message = _refused(_entry("shadow", tarfile.LNKTYPE, linkname="/etc/shadow"))
    assert message == "archive entry 'shadow': hard link target '/etc/shadow' is an absolute path"


def test_hard_link_leading_out_of_the_root_is_refused() -> None:
    message = _refused(_entry("shadow", tarfile.LNKTYPE, linkname="a/../../etc/shadow"))
    assert "hard link target 'a/../../etc/shadow' leads out of the restore target" in message


def test_hard_link_to_a_later_entry_is_refused() -> None:
    message = _refused(_entry("early", tarfile.LNKTYPE, linkname="late"), _file("late", b"data"))
    assert message == "archive entry 'early': hard link target 'late' is not an earlier file in the archive"


def test_hard_link_to_a_directory_is_refused() -> None:
    assert "is not an earlier file" in _refused(_entry("d", tarfile.DIRTYPE), _entry("h", tarfile.LNKTYPE, "d"))


def test_character_device_is_refused() -> None:
    message = _refused(_entry("./dev/mem", tarfile.CHRTYPE))
    assert message == "archive entry './dev/mem': character device file; device files are never restored"


def test_block_device_is_refused() -> None:
    assert "block device file" in _refused(_entry("./dev/sda", tarfile.BLKTYPE))


def test_nul_in_a_name_is_refused() -> None:
    info, data = _file("harmless")
    info.pax_headers = {"path": "evil\0.txt"}
    assert _refused((info, data)) == "archive entry 'evil\\x00.txt': the name contains a NUL byte"


def test_nul_in_a_link_target_is_refused() -> None:
    info, data = _entry("link", tarfile.SYMTYPE, linkname="x")
    info.pax_headers = {"linkpath": "inside\0/../../outside"}
    assert "link target contains a NUL byte" in _refused((info, data))


def test_entry_under_an_earlier_symlink_is_refused() -> None:
    message = _refused(
        _entry("./etc", tarfile.SYMTYPE, linkname="/etc"), _file("./etc/cron.d/job", b"* * * * * root sh")
    )
    assert message == (
        "archive entry './etc/cron.d/job': lies under 'etc', which an earlier entry made a symbolic link; "
        "restoring it would write through the link"
    )


def test_directory_replaced_by_a_symlink_cannot_be_written_through() -> None:
    message = _refused(
        _entry("a", tarfile.DIRTYPE),
        _entry("a", tarfile.SYMTYPE, linkname="/etc"),
        _file("a/passwd", b"root::0:0::/:/bin/sh"),
    )
    assert "lies under 'a'" in message


def test_symlink_replaced_by_a_directory_can_be_written_into() -> None:
    summary = _scan(
        _tar(_entry("a", tarfile.SYMTYPE, linkname="/etc"), _entry("a", tarfile.DIRTYPE), _file("a/f", b"x"))
    )
    assert summary.entries == 3


def test_hard_link_to_a_symlink_is_a_symlink_too() -> None:
    message = _refused(
        _entry("s", tarfile.SYMTYPE, linkname="/etc"),
        _entry("h", tarfile.LNKTYPE, linkname="s"),
        _file("h/passwd", b"root::0:0::/:/bin/sh"),
    )
    assert "lies under 'h'" in message


def test_hard_link_through_an_earlier_symlink_is_refused() -> None:
    message = _refused(
        _entry("a", tarfile.DIRTYPE),
        _file("a/passwd", b"decoy"),
        _entry("a", tarfile.SYMTYPE, linkname="/etc"),
        _entry("stolen", tarfile.LNKTYPE, linkname="a/passwd"),
    )
    assert "hard link target 'a/passwd' lies under 'a'" in message


def test_non_directory_at_the_archive_root_is_refused() -> None:
    assert "replaces the root" in _refused(_entry("./", tarfile.SYMTYPE, linkname="/"))


def test_unsupported_entry_type_is_refused() -> None:
    assert _refused(_entry("label", b"V")) == "archive entry 'label': unsupported entry type b'V'"


def test_regular_file_named_like_a_directory_is_refused() -> None:
    assert "named like a directory" in _refused(_file("dir/", b"data"))


def test_check_member_refuses_a_negative_size() -> None:
    info, _ = _file("a")
    info.size = -1
    with pytest.raises(HostileArchive, match="negative size -1"):
        check_member(info)


def test_message_shows_undecodable_bytes_as_escapes() -> None:
    assert _refused(_file("/" + UNDECODABLE)).startswith("archive entry '/caf\\xe9-latin1': absolute path")


# -- scan_archive: archives that tar readers could read differently ---------------------------------------------


def test_entry_with_two_pax_headers_is_refused() -> None:
    # tarfile takes the first path, Go's archive/tar (the engine) the last.
    first, _ = _file("x")
    first.pax_headers = {"path": "checked"}
    pax_header_only = _tar_without_end((first, b""))[:-512]
    second, _ = _file("x")
    second.pax_headers = {"path": "extracted"}
    with pytest.raises(HostileArchive, match=r"conflicting extended headers \('x', 'x'\)"):
        _scan(pax_header_only + _tar((second, b"")))


def test_global_pax_path_is_refused() -> None:
    with pytest.raises(HostileArchive, match="a global pax header sets path"):
        _scan(_tar(_file("a"), pax_headers={"path": "everything-is-called-this"}))


def test_size_field_read_differently_by_tarfile_and_go_is_refused() -> None:
    # Go skips leading NULs in a number, tarfile stops at them: tarfile sees the first file as empty and
    # reads its data as the header of a file Go never sees.
    hidden = _tar_without_end(_file("hidden", b"h" * 512))
    outer = bytearray(_tar_without_end(_file("outer", hidden)))
    outer[124:136] = b"\0%010o\0" % len(hidden)
    archive = _with_checksum(outer[:512]) + bytes(outer[512:]) + _tar(_file("after"))
    with pytest.raises(HostileArchive, match="disagree on where this entry starts"):
        _scan(archive)


def test_name_prefix_in_a_gnu_header_is_refused() -> None:
    header = bytearray(_tar(_file("x"), fmt=tarfile.GNU_FORMAT))
    header[345:350] = b"evil\0"  # tarfile reads 'evil/x'; Go ignores the field in GNU headers
    archive = _with_checksum(header[:512]) + bytes(header[512:])
    with pytest.raises(HostileArchive, match="name prefix"):
        _scan(archive)


# -- scan_archive: broken archives and limits ---------------------------------------------------------------------


def test_archive_cut_inside_file_data_is_refused() -> None:
    archive = _tar(_file("a", b"d" * 2000))
    with pytest.raises(HostileArchive, match="truncated or corrupt"):
        _scan(archive[:1500])


def test_archive_without_its_end_block_is_refused() -> None:
    with pytest.raises(HostileArchive, match="ends without its end-of-archive block"):
        _scan(_tar_without_end(_file("a", b"data"), _file("b")))


def test_empty_stream_is_refused() -> None:
    with pytest.raises(HostileArchive, match="truncated or corrupt"):
        _scan(b"")


def test_corrupt_header_is_refused() -> None:
    archive = bytearray(_tar(_file("a", b"data"), _file("b")))
    archive[1030] ^= 0x55
    with pytest.raises(HostileArchive, match="cannot be read safely: bad header checksum at byte 1024"):
        _scan(bytes(archive))


def test_entry_limit_is_enforced() -> None:
    with pytest.raises(HostileArchive, match=r"more than 2 entries \(max_entries\)"):
        _scan(_tar(_file("a"), _file("b"), _file("c")), ArchiveLimits(max_entries=2))


def test_entry_limit_allows_exactly_the_limit() -> None:
    assert _scan(_tar(_file("a"), _file("b")), ArchiveLimits(max_entries=2)).entries == 2


def test_total_bytes_limit_is_enforced() -> None:
    with pytest.raises(HostileArchive, match=r"more than 1000 bytes \(max_total_bytes\)"):
        _scan(_tar(_file("a", b"a" * 600), _file("b", b"b" * 600)), ArchiveLimits(max_total_bytes=1000))


def test_recorded_limits_are_the_recorded_counts_and_a_margin() -> None:
    limits = ArchiveLimits.recorded(entries=1000, raw_bytes=100 * 2**20)
    assert (limits.max_entries, limits.max_total_bytes) == (1000 + 10 + 64, 100 * 2**20 + 2**20 + 2**20)


# -- scan_archive: setuid and setgid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "bits"),
    [
        (_file("./su", b"x", mode=0o4755), "setuid"),
        (_file("./sg", b"x", mode=0o2755), "setgid"),
        (_file("./both", b"x", mode=0o6755), "setuid and setgid"),
        (_entry("./d", tarfile.DIRTYPE, mode=0o4755), "setuid"),
    ],
    ids=["setuid file", "setgid file", "both", "setuid directory"],
)
def test_special_bits_are_refused_unless_allowed(member: Member, bits: str) -> None:
    archive = _tar(member)
    with pytest.raises(HostileArchive, match=f"has the {bits} bit"):
        _scan(archive, special_bits=False)
    assert _scan(archive, special_bits=True).entries == 1


def test_a_hard_link_carrying_the_setuid_bit_is_refused() -> None:
    # The engine applies a hard link's mode to the file it links to.
    archive = _tar(_file("./tool", b"x"), _entry("./again", tarfile.LNKTYPE, linkname="./tool", mode=0o4755))
    with pytest.raises(HostileArchive, match="setuid"):
        _scan(archive, special_bits=False)


def test_a_setgid_directory_is_allowed() -> None:
    # New files in it inherit its group; nobody gains a privilege from it.
    assert _scan(_tar(_entry("./shared", tarfile.DIRTYPE, mode=0o2775)), special_bits=False).entries == 1


def test_extended_header_limit_is_enforced() -> None:
    with pytest.raises(HostileArchive, match="max_extended_header_bytes"):
        _scan(_tar(_file(LONG)), ArchiveLimits(max_extended_header_bytes=100))
