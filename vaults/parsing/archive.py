"""Archive bomb checks for ZIP-based documents (DOCX), before any parser inflates a member.

Every member is checked on what it declares AND on what it really inflates to: its compressed
bytes are inflated as a stream with a running cap, so a header that lies about the size gains
nothing, and no more than the cap is ever held (the output is counted, then dropped). Limits: the
size of each member and of all of them together, and the compression ratio of large members and
of the whole archive (small members of real documents compress far better than 100:1).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

RATIO_FLOOR_BYTES = 1024 * 1024  # members (and archives) smaller than this skip the ratio check
MAX_MEMBERS = 10_000
_INFLATE_STEP = 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length


class ArchiveRejected(ValueError):
    """The archive is (or looks like) a bomb; the message says which member and which limit."""


def human_bytes(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} bytes"
    value, unit = (n / 1024, "KiB") if n < 1024 * 1024 else (n / 1024 / 1024, "MiB")
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def _compressed(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The member's compressed bytes, exactly what zipfile would feed its decompressor."""
    signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(data, info.header_offset)
    if signature != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local file header for {info.filename}")
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    return memoryview(data)[start : start + info.compress_size]


def inflated_size(compressed: memoryview, method: int, limit: int) -> int:
    """How many bytes the member inflates to, counting no further than just past `limit`."""
    if method == zipfile.ZIP_STORED:
        return len(compressed)
    if method != zipfile.ZIP_DEFLATED:
        raise ValueError(method)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size = 0
    for offset in range(0, len(compressed), _INFLATE_STEP):
        pending = bytes(compressed[offset : offset + _INFLATE_STEP])
        while pending:
            size += len(inflater.decompress(pending, _INFLATE_STEP))
            if size > limit:
                return size
            pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    return size


def check_zip(data: bytes, *, kind: str, max_bytes: int, max_ratio: float) -> None:
    """Raise ArchiveRejected if the archive breaks a limit; zipfile.BadZipFile (and friends) if
    it is not a readable ZIP at all."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ArchiveRejected(
                f"document rejected: the {kind} has {len(members)} parts, over the limit of "
                f"{MAX_MEMBERS}"
            )
        declared = 0
        for info in members:
            declared += info.file_size
            _check_declared(kind, info, max_bytes, max_ratio)
        if declared > max_bytes:
            raise ArchiveRejected(
                f"document rejected: the {kind} declares {human_bytes(declared)} uncompressed, "
                f"over the limit of {human_bytes(max_bytes)}"
            )
        total = 0
        for info in members:
            total += _check_actual(kind, data, info, max_bytes, max_ratio)
            if total > max_bytes:
                raise ArchiveRejected(
                    f"document rejected: the {kind} expands beyond {human_bytes(max_bytes)} "
                    "in total"
                )
        if total > RATIO_FLOOR_BYTES and total > max_ratio * max(len(data), 1):
            raise ArchiveRejected(
                f"document rejected: the {kind} expands {total / max(len(data), 1):.0f}:1, over "
                f"the limit of {max_ratio:g}:1"
            )


def _check_declared(kind: str, info: zipfile.ZipInfo, max_bytes: int, max_ratio: float) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ArchiveRejected(f"document rejected: {kind} member {name} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveRejected(
            f"document rejected: {kind} member {name} uses compression method "
            f"{info.compress_type}, which Office documents do not use"
        )
    if info.file_size > max_bytes:
        raise ArchiveRejected(
            f"document rejected: {kind} member {name} declares {human_bytes(info.file_size)} "
            f"uncompressed, over the limit of {human_bytes(max_bytes)}"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR_BYTES and ratio > max_ratio:
        raise ArchiveRejected(
            f"document rejected: {kind} member {name} declares a compression ratio of "
            f"{ratio:.0f}:1, over the limit of {max_ratio:g}:1"
        )


def _check_actual(
    kind: str, data: bytes, info: zipfile.ZipInfo, max_bytes: int, max_ratio: float
) -> int:
    """The member's real inflated size, after checking it against the limits."""
    compressed = _compressed(data, info)
    by_ratio = max(int(max_ratio * len(compressed)), RATIO_FLOOR_BYTES)
    size = inflated_size(compressed, info.compress_type, min(max_bytes, by_ratio))
    if size <= min(max_bytes, by_ratio):
        return size
    if by_ratio < max_bytes:
        raise ArchiveRejected(
            f"document rejected: {kind} member {info.filename} expands more than "
            f"{max_ratio:g}:1 (over {human_bytes(by_ratio)} from {human_bytes(len(compressed))})"
        )
    raise ArchiveRejected(
        f"document rejected: {kind} member {info.filename} expands beyond "
        f"{human_bytes(max_bytes)} (ratio over {size / max(len(compressed), 1):.0f}:1)"
    )
