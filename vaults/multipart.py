"""Writes for multipart uploads: a large file arrives in parts, each PUT to its own signed URL
and streamed to a file under MEDIA_ROOT/multipart/<uploadId>/; `complete` assembles the parts
by number into the object's bytes through the single-upload path (services.object_content_store:
size check, hash, storage, ingest), and `abort` removes them.

VAULT_MAX_UPLOAD_BYTES bounds the whole file: sizeBytes is checked at init, and every part must
have exactly the size its number implies, so the parts can never add up to more."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import secrets
from collections.abc import Iterable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agentexec.errors import ApplicationError, ConflictError, NotFoundError
from vaults import services, signing
from vaults.models import (
    MultipartPart,
    MultipartStatus,
    MultipartUpload,
    ObjectStatus,
    Vault,
    VaultObject,
)

log = logging.getLogger(__name__)

MAX_PARTS = 10_000  # as S3
EXPIRE_BATCH = 500  # abandoned uploads aborted per sweep
READ_BYTES = 1024 * 1024


def part_file(upload_id: str, number: int) -> Path:
    return services.multipart_part_dir(upload_id) / f"{number:05d}.part"


@transaction.atomic
def multipart_upload_create(
    *,
    vault: Vault,
    filename: str,
    content_type: str,
    size_bytes: int,
    part_size_bytes: int | None = None,
    path: str | None = None,
    metadata: dict[str, Any] | None = None,
    auto_index: bool = True,
) -> MultipartUpload:
    """A pending object of `size_bytes` and the upload that will bring its bytes in parts."""
    part_size = part_size_bytes or settings.VAULT_MULTIPART_PART_BYTES
    if part_size < settings.VAULT_MULTIPART_MIN_PART_BYTES:
        raise ApplicationError(
            f"partSizeBytes must be at least {settings.VAULT_MULTIPART_MIN_PART_BYTES}.",
            fields={"partSizeBytes": [f"at least {settings.VAULT_MULTIPART_MIN_PART_BYTES}"]},
        )
    part_count = max(1, math.ceil(size_bytes / part_size))
    if part_count > MAX_PARTS:
        raise ApplicationError(
            f"{size_bytes} bytes in parts of {part_size} makes {part_count} parts; at most "
            f"{MAX_PARTS} are allowed: use larger parts.",
            fields={"partSizeBytes": [f"makes more than {MAX_PARTS} parts"]},
        )
    obj = services.object_create(
        vault=vault,
        filename=filename,
        content_type=content_type,
        path=path,
        metadata=metadata,
        size_bytes=size_bytes,
        auto_index=auto_index,
    )
    return MultipartUpload.objects.create(
        vault=vault,
        object=obj,
        size_bytes=size_bytes,
        part_size_bytes=min(part_size, size_bytes) if part_count == 1 else part_size,
        part_count=part_count,
    )


def check_part_number(upload: MultipartUpload, number: int, *, field: str) -> None:
    if not 1 <= number <= upload.part_count:
        raise ApplicationError(
            f"Part {number} does not exist: upload {upload.id} has parts 1 to {upload.part_count}.",
            fields={field: [f"between 1 and {upload.part_count}"]},
        )


def part_url_paths(
    *, upload: MultipartUpload, parts: list[tuple[int, int]], expires_in: int
) -> list[tuple[int, str]]:
    """(partNumber, signed path) for each requested (partNumber, sizeBytes): the size must be
    the one the part's number implies, and the URL takes exactly that many bytes."""
    _active(upload)
    paths = []
    for i, (number, size) in enumerate(parts):
        check_part_number(upload, number, field=f"parts[{i}].partNumber")
        expected = upload.part_size(number)
        if size != expected:
            raise ApplicationError(
                f"Part {number} of upload {upload.id} is {expected} bytes, not {size}.",
                fields={f"parts[{i}].sizeBytes": [f"must be {expected}"]},
            )
        paths.append(
            (number, signing.signed_part_path(upload.vault_id, upload.id, number, size, expires_in))
        )
    return paths


def _active(upload: MultipartUpload) -> None:
    if upload.status != MultipartStatus.ACTIVE:
        raise NotFoundError(
            f"Multipart upload {upload.id} is {upload.status}: it takes no more parts."
        )


def multipart_part_store(
    *, vault_id: str, upload_id: str, number: int, chunks: Iterable[bytes]
) -> MultipartPart:
    """Stream one part to its file (replacing an earlier one of the same number, as S3 does) and
    record its size and ETag (the md5 of its bytes)."""
    upload = MultipartUpload.objects.filter(id=upload_id, vault_id=vault_id).first()
    if upload is None:
        raise NotFoundError(f"Multipart upload {upload_id} not found.")
    _active(upload)
    check_part_number(upload, number, field="partNumber")
    expected = upload.part_size(number)
    directory = services.multipart_part_dir(upload.id)
    directory.mkdir(parents=True, exist_ok=True)
    spool = directory / f"{number:05d}.{secrets.token_hex(6)}.tmp"
    try:
        try:
            size, etag = _write(spool, chunks, expected)
        except FileNotFoundError as exc:  # the directory went with an abort meanwhile
            raise NotFoundError(f"Multipart upload {upload_id} was aborted.") from exc
        if size != expected:
            raise ApplicationError(
                f"Part {number} is {size} bytes; upload {upload.id} needs exactly {expected}.",
                fields={"sizeBytes": [f"part {number} must be {expected} bytes"]},
            )
        with transaction.atomic():
            current = MultipartUpload.objects.select_for_update().filter(id=upload.id).first()
            if current is None:
                raise NotFoundError(f"Multipart upload {upload_id} not found.")
            _active(current)
            os.replace(spool, part_file(upload.id, number))
            part, _ = MultipartPart.objects.update_or_create(
                upload=upload, number=number, defaults={"size_bytes": size, "etag": etag}
            )
    finally:
        spool.unlink(missing_ok=True)
    return part


def _write(target: Path, chunks: Iterable[bytes], limit: int) -> tuple[int, str]:
    """Copy a byte stream to `target`, hashing it; stops past `limit` bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with target.open("wb") as out:
        for piece in chunks:
            size += len(piece)
            if size > limit:
                break
            digest.update(piece)
            out.write(piece)
    return size, digest.hexdigest()


def _unquoted(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"').lower()


def multipart_upload_complete(
    *, upload: MultipartUpload, size_bytes: int, parts: list[tuple[int, str]]
) -> VaultObject:
    """Assemble the parts (listed as (partNumber, etag), in any order) into the object's bytes,
    after checking that every part is listed once, was received, and has the ETag given."""
    _active(upload)
    if size_bytes != upload.size_bytes:
        raise ApplicationError(
            f"sizeBytes {size_bytes} is not the {upload.size_bytes} bytes declared at init.",
            fields={"sizeBytes": [f"must be {upload.size_bytes}"]},
        )
    _check_parts(upload, parts)
    if not MultipartUpload.objects.filter(id=upload.id, status=MultipartStatus.ACTIVE).update(
        status=MultipartStatus.COMPLETING, updated_at=timezone.now()
    ):
        raise ConflictError(f"Multipart upload {upload.id} is being completed or aborted.")
    obj = VaultObject.objects.select_related("vault").filter(id=upload.object_id).first()
    if obj is None:
        _set_status(upload, MultipartStatus.COMPLETING, MultipartStatus.ABORTED)
        _remove_parts(upload.id)
        raise NotFoundError(f"Object {upload.object_id} was deleted; the upload is aborted.")
    numbers = sorted(number for number, _ in parts)
    try:
        obj = services.object_content_store(obj=obj, chunks=_assembled(upload.id, numbers))
    except Exception:
        _set_status(upload, MultipartStatus.COMPLETING, MultipartStatus.ACTIVE)
        raise
    _set_status(upload, MultipartStatus.COMPLETING, MultipartStatus.COMPLETED)
    _remove_parts(upload.id)
    return obj


def _check_parts(upload: MultipartUpload, parts: list[tuple[int, str]]) -> None:
    received = {p.number: p for p in MultipartPart.objects.filter(upload=upload)}
    seen: set[int] = set()
    for i, (number, etag) in enumerate(parts):
        check_part_number(upload, number, field=f"parts[{i}].partNumber")
        if number in seen:
            raise ApplicationError(
                f"Part {number} is listed twice.",
                fields={f"parts[{i}].partNumber": ["listed twice"]},
            )
        seen.add(number)
        part = received.get(number)
        if part is None:
            raise ApplicationError(
                f"Part {number} was never uploaded.",
                fields={f"parts[{i}].partNumber": [f"part {number} was not uploaded"]},
            )
        if _unquoted(etag) != part.etag:
            raise ApplicationError(
                f"The etag of part {number} does not match the part received.",
                fields={f"parts[{i}].etag": [f"does not match part {number}"]},
            )
    missing = [n for n in range(1, upload.part_count + 1) if n not in seen]
    if missing:
        names = ", ".join(str(n) for n in missing[:20])
        raise ApplicationError(
            f"Part(s) {names} missing: a complete lists every part, 1 to {upload.part_count}.",
            fields={"parts": [f"missing part(s): {names}"]},
        )


def _assembled(upload_id: str, numbers: list[int]) -> Iterator[bytes]:
    for number in numbers:
        with part_file(upload_id, number).open("rb") as handle:
            yield from iter(partial(handle.read, READ_BYTES), b"")


def _set_status(upload: MultipartUpload, old: str, new: str) -> None:
    MultipartUpload.objects.filter(id=upload.id, status=old).update(
        status=new, updated_at=timezone.now()
    )
    upload.refresh_from_db(fields=["status", "updated_at"])


@transaction.atomic
def multipart_upload_abort(*, upload: MultipartUpload) -> MultipartUpload:
    """Make the upload and its part URLs unusable, remove its parts, and the object it created
    (still pending, without bytes). Aborting twice is harmless."""
    if upload.status == MultipartStatus.ABORTED:
        return upload
    if not MultipartUpload.objects.filter(id=upload.id, status=MultipartStatus.ACTIVE).update(
        status=MultipartStatus.ABORTED, updated_at=timezone.now()
    ):
        upload.refresh_from_db(fields=["status"])
        raise ConflictError(f"Multipart upload {upload.id} is {upload.status}: too late to abort.")
    MultipartPart.objects.filter(upload=upload).delete()
    obj = VaultObject.objects.filter(id=upload.object_id).first()
    if obj is not None and obj.status == ObjectStatus.PENDING and not obj.has_content:
        services.object_delete(obj=obj)
    transaction.on_commit(partial(services.multipart_part_files_delete, upload.id))
    upload.refresh_from_db()
    return upload


def multipart_uploads_expire() -> int:
    """Aborts the uploads still taking parts VAULT_MULTIPART_ABANDON_S after they began: their
    parts leave the disk and their pending objects the vault. How many were aborted."""
    cutoff = timezone.now() - timedelta(seconds=settings.VAULT_MULTIPART_ABANDON_S)
    aborted = 0
    stale = MultipartUpload.objects.filter(status=MultipartStatus.ACTIVE, created_at__lt=cutoff)
    for upload in stale.order_by("created_at")[:EXPIRE_BATCH]:
        try:
            multipart_upload_abort(upload=upload)
        except ConflictError:  # completed (or aborted) since it was read
            continue
        aborted += 1
    return aborted


def _remove_parts(upload_id: str) -> None:
    MultipartPart.objects.filter(upload_id=upload_id).delete()
    services.multipart_part_files_delete(upload_id)
