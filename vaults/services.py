"""Writes: vaults, objects (upload, bytes, ingest), and the demo vault."""

from __future__ import annotations

import hashlib
import logging
import posixpath
import secrets
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from agentexec.errors import ApplicationError, ConflictError, PayloadTooLarge
from agentexec.tenancy.models import Organization
from vaults import memory, ocr, subscriptions
from vaults.chunking import Span, chunk_document
from vaults.models import (
    Chunk,
    DeletedObject,
    DeletedVault,
    MultipartUpload,
    ObjectStatus,
    ObjectText,
    Vault,
    VaultEventType,
    VaultGroup,
    VaultObject,
)
from vaults.parsing import bounded, extraction

log = logging.getLogger(__name__)

DEMO_VAULT_NAME = "Demo: sample agreements"
DEMO_DIR = Path(__file__).resolve().parent / "demo" / "files"
DEMO_FILES = ("NDA.pdf", "Master-Services-Agreement.docx", "Office-Lease.md")


# --- Vault groups -----------------------------------------------------------------------------


def group_create(
    *, organization: Organization, name: str, description: str | None = None
) -> VaultGroup:
    return VaultGroup.objects.create(
        organization=organization, name=name, description=description or None
    )


@transaction.atomic
def group_update(*, group: VaultGroup, changes: dict[str, Any]) -> VaultGroup:
    """changes: any of name, description (None removes it)."""
    fields = [f for f in ("name", "description") if f in changes]
    for field in fields:
        setattr(group, field, changes[field])
    if fields:
        group.save(update_fields=[*fields, "updated_at"])
    return group


@transaction.atomic
def group_delete(*, group: VaultGroup) -> VaultGroup:
    """As case.dev does: only an empty group is deleted; its vaults must be moved out first."""
    held = Vault.objects.filter(group=group).count()
    if held:
        raise ConflictError(
            f"Vault group {group.id} still holds {held} vault(s): move them out (PATCH "
            "/vault/:id with groupId null) or delete them first."
        )
    group_id = group.id
    group.delete()
    group.id = group_id  # Django clears the pk of a deleted instance; the answer names it
    return group


# --- Vaults -----------------------------------------------------------------------------------


@transaction.atomic
def vault_create(
    *,
    organization: Organization,
    name: str,
    description: str | None = None,
    enable_indexing: bool = True,
    enable_graph: bool = False,
    metadata: dict[str, Any] | None = None,
    group: VaultGroup | None = None,
) -> Vault:
    return Vault.objects.create(
        organization=organization,
        name=name,
        description=description,
        enable_indexing=enable_indexing,
        enable_graph=enable_graph,
        metadata=metadata or {},
        group=group,
    )


@transaction.atomic
def vault_update(*, vault: Vault, changes: dict[str, Any]) -> Vault:
    """changes: any of name, description, enable_graph, group (a VaultGroup, or None)."""
    fields = [f for f in ("name", "description", "enable_graph", "group") if f in changes]
    for field in fields:
        setattr(vault, field, changes[field])
    if fields:
        vault.save(update_fields=[*fields, "updated_at"])
    return vault


@transaction.atomic
def vault_delete(*, vault: Vault) -> DeletedVault:
    objects = VaultObject.objects.filter(vault=vault)
    totals = objects.aggregate(
        n=Count("id"), size=Coalesce(Sum("size_bytes"), 0), chunks=Coalesce(Sum("chunk_count"), 0)
    )
    names = [n for n in objects.values_list("file", flat=True) if n]
    names += memory.memory_file_names(vault=vault)
    uploads = list(MultipartUpload.objects.filter(vault=vault).values_list("id", flat=True))
    deleted = DeletedVault(
        id=vault.id,
        name=vault.name,
        objects_deleted=totals["n"],
        bytes_freed=totals["size"],
        vectors_deleted=totals["chunks"],
    )
    vault.delete()
    transaction.on_commit(partial(_delete_files, names))
    for upload_id in uploads:
        transaction.on_commit(partial(multipart_part_files_delete, upload_id))
    return deleted


def vault_totals_refresh(*, vault_id: str) -> None:
    totals = VaultObject.objects.filter(vault_id=vault_id).aggregate(
        n=Count("id"), size=Coalesce(Sum("size_bytes"), 0), chunks=Coalesce(Sum("chunk_count"), 0)
    )
    Vault.objects.filter(id=vault_id).update(
        total_objects=totals["n"],
        total_bytes=totals["size"],
        total_chunks=totals["chunks"],
        updated_at=timezone.now(),
    )


# --- Objects: creation and bytes --------------------------------------------------------------


def clean_filename(filename: str) -> str:
    """The last path component, without control characters; never empty."""
    base = posixpath.basename(filename.replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())[:255]
    return base if base.strip(".") else "unnamed"


@transaction.atomic
def object_create(
    *,
    vault: Vault,
    filename: str,
    content_type: str,
    path: str | None = None,
    metadata: dict[str, Any] | None = None,
    size_bytes: int | None = None,
    auto_index: bool = False,
) -> VaultObject:
    """A new object waiting for its bytes (the first step of an upload)."""
    if size_bytes is not None and size_bytes > settings.VAULT_MAX_UPLOAD_BYTES:
        raise ApplicationError(
            f"sizeBytes exceeds the upload limit of {settings.VAULT_MAX_UPLOAD_BYTES} bytes.",
            fields={"sizeBytes": [f"at most {settings.VAULT_MAX_UPLOAD_BYTES}"]},
        )
    obj = VaultObject.objects.create(
        vault=vault,
        filename=clean_filename(filename),
        content_type=content_type or extraction.guess_content_type(filename),
        path=path or None,
        metadata=metadata or {},
        declared_size_bytes=size_bytes,
        auto_index=auto_index,
    )
    vault_totals_refresh(vault_id=vault.id)
    return obj


def storage_name(obj: VaultObject) -> str:
    """Where the bytes live; the client's filename, made safe for a file system, stays only a
    part of it (the id is what makes it unique)."""
    try:
        safe = default_storage.get_valid_name(obj.filename)
    except SuspiciousFileOperation:
        safe = "file"
    return f"vaults/{obj.vault_id}/{obj.id}/{safe[:200]}"


def _spool(chunks: Iterable[bytes], limit: int) -> tuple[IO[bytes], int, str]:
    """Copy a byte stream to a temporary file, counting and hashing; 413 past `limit`. The
    caller closes the file."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    for piece in chunks:
        size += len(piece)
        if size > limit:
            spool.close()
            raise PayloadTooLarge(f"The upload exceeds the limit of {limit} bytes.")
        digest.update(piece)
        spool.write(piece)
    spool.seek(0)
    return spool, size, digest.hexdigest()


def object_content_store(*, obj: VaultObject, chunks: Iterable[bytes]) -> VaultObject:
    """Store an object's bytes (the signed PUT, or a multipart upload). Only a pending object
    without content takes bytes, once: a stored document is never silently replaced, and of
    two uploads racing for one object exactly one wins (the compare-and-set below)."""
    if obj.status != ObjectStatus.PENDING or obj.has_content:
        raise ConflictError(
            f"Object {obj.id} already has content (ingestionStatus {obj.status!r}): an upload "
            "URL takes one upload; upload a new object instead."
        )
    spool, size, sha256 = _spool(chunks, settings.VAULT_MAX_UPLOAD_BYTES)
    try:
        if obj.declared_size_bytes is not None and size != obj.declared_size_bytes:
            raise ApplicationError(
                f"The upload is {size} bytes but sizeBytes was declared as "
                f"{obj.declared_size_bytes}.",
                fields={"sizeBytes": ["does not match the uploaded content"]},
            )
        name = default_storage.save(storage_name(obj), File(spool, name=obj.filename))
    finally:
        spool.close()
    with transaction.atomic():
        updated = VaultObject.objects.filter(
            id=obj.id, status=ObjectStatus.PENDING, file=""
        ).update(
            file=name,
            size_bytes=size,
            sha256=sha256,
            uploaded_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if updated:
            vault_totals_refresh(vault_id=obj.vault_id)
            subscriptions.object_event_emit(
                object_id=obj.id, event_type=VaultEventType.OBJECT_UPLOADED
            )
    if not updated:
        _delete_files([name])  # the other upload's file stays; this one's is nobody's
        raise ConflictError(f"Object {obj.id} received its content from another upload meanwhile.")
    obj.refresh_from_db()
    if obj.auto_index:
        object_ingest_start(obj=obj)
    return obj


def object_create_with_content(
    *,
    vault: Vault,
    filename: str,
    content: Iterable[bytes],
    content_type: str | None = None,
    path: str | None = None,
    metadata: dict[str, Any] | None = None,
    auto_index: bool = False,
) -> VaultObject:
    """One-step upload (multipart, vault.write, the demo)."""
    obj = object_create(
        vault=vault,
        filename=filename,
        content_type=content_type or extraction.guess_content_type(filename),
        path=path,
        metadata=metadata,
        auto_index=auto_index,
    )
    try:
        return object_content_store(obj=obj, chunks=content)
    except ApplicationError:
        obj.delete()
        vault_totals_refresh(vault_id=vault.id)
        raise


@transaction.atomic
def object_confirm_upload(
    *, obj: VaultObject, success: bool, size_bytes: int | None, error_message: str | None
) -> tuple[VaultObject, bool]:
    """The client's word on its PUT. Returns the object and whether it was already confirmed."""
    already = bool(obj.metadata.get("uploadConfirmed"))
    if success:
        if not obj.has_content:
            raise ConflictError(f"Object {obj.id} has no content yet; PUT it to the uploadUrl.")
        if size_bytes is not None and size_bytes != obj.size_bytes:
            raise ApplicationError(
                f"sizeBytes {size_bytes} does not match the {obj.size_bytes} bytes received.",
                fields={"sizeBytes": ["does not match the uploaded content"]},
            )
    elif obj.status == ObjectStatus.PENDING:
        VaultObject.objects.filter(id=obj.id, status=ObjectStatus.PENDING).update(
            status=ObjectStatus.FAILED, error=f"upload failed: {error_message or 'unknown'}"
        )
    obj.metadata = {**obj.metadata, "uploadConfirmed": True}
    VaultObject.objects.filter(id=obj.id).update(metadata=obj.metadata)
    obj.refresh_from_db()
    return obj, already


@transaction.atomic
def object_update(*, obj: VaultObject, changes: dict[str, Any]) -> VaultObject:
    """changes: any of filename, metadata (merged into the existing), path (None removes)."""
    fields = []
    if "filename" in changes:
        obj.filename = clean_filename(changes["filename"])
        fields.append("filename")
    if "metadata" in changes:
        obj.metadata = {**obj.metadata, **(changes["metadata"] or {})}
        fields.append("metadata")
    if "path" in changes:
        obj.path = changes["path"] or None
        fields.append("path")
    if fields:
        obj.save(update_fields=[*fields, "updated_at"])
    return obj


@transaction.atomic
def object_delete(*, obj: VaultObject, force: bool = False) -> DeletedObject:
    if obj.status == ObjectStatus.PROCESSING and not force:
        raise ConflictError(
            f"Object {obj.id} is being ingested; wait for it, or delete with force=true."
        )
    deleted = DeletedObject(
        id=obj.id,
        filename=obj.filename,
        size_bytes=obj.size_bytes,
        vectors_deleted=obj.chunk_count or 0,
    )
    names = [obj.file.name] if obj.file and obj.file.name else []
    vault_id = obj.vault_id
    subscriptions.object_event_emit(object_id=obj.id, event_type=VaultEventType.OBJECT_DELETED)
    obj.delete()
    vault_totals_refresh(vault_id=vault_id)
    transaction.on_commit(partial(_delete_files, names))
    return deleted


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # the row is gone either way; a leftover file is only disk space
            log.warning("could not delete stored file %s", name, exc_info=True)


def multipart_part_dir(upload_id: str) -> Path:
    """Where the parts of a multipart upload wait for `complete` (vaults.multipart)."""
    return Path(settings.MEDIA_ROOT) / "multipart" / upload_id


def multipart_part_files_delete(upload_id: str) -> None:
    try:
        shutil.rmtree(multipart_part_dir(upload_id))
    except FileNotFoundError:
        pass
    except OSError:  # the upload is over either way; a leftover part is only disk space
        log.warning("could not delete the parts of multipart upload %s", upload_id, exc_info=True)


# --- Ingest -----------------------------------------------------------------------------------


def is_extractable(obj: VaultObject) -> bool:
    return obj.vault.enable_indexing and (
        extraction.extractor_for(obj.content_type, obj.filename) is not None
    )


@transaction.atomic
def object_ingest_start(*, obj: VaultObject) -> VaultObject:
    """Queue text extraction, chunking and indexing (vaults.tasks.ingest_object), or end at
    `stored` at once for types without extraction and for storage-only vaults."""
    if not obj.has_content:
        raise ConflictError(
            f"Object {obj.id} has no content yet; PUT the file to its uploadUrl first."
        )
    now = timezone.now()
    not_running = ~Q(status=ObjectStatus.PROCESSING) | Q(
        ingestion_started_at__lt=now - timedelta(seconds=settings.VAULT_INGEST_STALE_S)
    )
    if not is_extractable(obj):
        changes: dict[str, Any] = {"status": ObjectStatus.STORED, "workflow_id": None}
    else:
        changes = {
            "status": ObjectStatus.PROCESSING,
            "workflow_id": f"ingest_{secrets.token_hex(8)}",
        }
    updated = VaultObject.objects.filter(not_running, id=obj.id).update(
        **changes, error=None, ingestion_started_at=now, ingestion_completed_at=None, updated_at=now
    )
    if not updated:
        raise ConflictError(f"Object {obj.id} is already being ingested.")
    obj.refresh_from_db()
    if obj.status == ObjectStatus.PROCESSING:
        transaction.on_commit(partial(_enqueue_ingest, obj.id, obj.workflow_id or ""))
    return obj


def _enqueue_ingest(object_id: str, workflow_id: str) -> None:
    from django_q.tasks import async_task

    async_task("vaults.tasks.ingest_object", object_id, task_name=workflow_id)


def object_ingest_run(*, object_id: str) -> VaultObject | None:
    """Extract, chunk and index one object, ending completed, stored or failed. Any failure is
    this object's own: it is recorded on the object, never raised. Callable directly (the demo,
    vault.write) as well as from the task.

    No transaction is held for long, so nothing else waits on a big document: the text is
    extracted in a bounded child process (vaults.parsing.bounded) outside any transaction, the
    chunks are written in short batches, and the end is a compare-and-set on this ingest's
    claim (the object still `processing`, with the start time this ingest saw), so an object
    deleted or ingested again meanwhile is left alone."""
    obj = VaultObject.objects.select_related("vault").filter(id=object_id).first()
    claim = _ingest_claim(obj) if obj is not None else None
    if obj is None or claim is None:
        log.info("ingest of %s skipped: the object no longer exists", object_id)
        return None
    try:
        with obj.file.open("rb") as handle:
            data = handle.read()
        extracted = (
            bounded.extract(data, content_type=obj.content_type, filename=obj.filename)
            if obj.vault.enable_indexing
            else None
        )
        del data
    except extraction.ExtractionError as exc:
        return _ingest_end(obj, claim, ObjectStatus.FAILED, error=str(exc))
    except Exception as exc:
        log.exception("ingest of %s failed while extracting text", obj.id)
        return _ingest_end(
            obj, claim, ObjectStatus.FAILED, error=f"text extraction failed unexpectedly ({exc!r})"
        )
    if extracted is None:
        return _ingest_end(obj, claim, ObjectStatus.STORED)
    try:
        return _index(obj, claim, extracted)
    except Exception as exc:
        log.exception("ingest of %s failed while indexing", obj.id)
        return _ingest_end(obj, claim, ObjectStatus.FAILED, error=f"indexing failed ({exc!r})")


def _ingest_claim(obj: VaultObject) -> datetime | None:
    """The start time that identifies this ingest: the one object_ingest_start set, or a new one
    for a direct call on an object that is not processing. None if the object is gone."""
    if obj.status == ObjectStatus.PROCESSING and obj.ingestion_started_at is not None:
        return obj.ingestion_started_at
    now = timezone.now()
    claimed = VaultObject.objects.filter(id=obj.id).update(
        status=ObjectStatus.PROCESSING,
        error=None,
        ingestion_started_at=now,
        ingestion_completed_at=None,
    )
    if not claimed:
        return None
    # Read back, not `now`: the claim is compared with what the database stored.
    return (
        VaultObject.objects.filter(id=obj.id).values_list("ingestion_started_at", flat=True).first()
    )


def _still_claimed(object_id: str, claim: datetime) -> bool:
    """Inside a transaction: the object exists and this ingest still owns it (locked on
    PostgreSQL, so a delete or a new claim waits for the batch)."""
    return (
        VaultObject.objects.select_for_update()
        .filter(id=object_id, status=ObjectStatus.PROCESSING, ingestion_started_at=claim)
        .exists()
    )


def _relaxed_commit() -> None:
    if connection.vendor == "postgresql":
        # A crash that loses this commit loses the ones after it too, and the object stays
        # `processing`, to be ingested again: no need to wait for the WAL flush of each batch.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _index(
    obj: VaultObject, claim: datetime, extracted: extraction.Extracted
) -> VaultObject | None:
    text, offsets, spans = chunk_document(
        extracted.pages, paged=extracted.paged, headings=extracted.headings
    )
    if not _chunks_delete(obj.id, claim):
        return _ingest_lost(obj)
    batch = settings.INGEST_CHUNK_BATCH
    for start in range(0, len(spans), batch):
        if not _chunks_add(obj, claim, spans[start : start + batch]):
            return _ingest_lost(obj)
    return _ingest_end(
        obj,
        claim,
        ObjectStatus.COMPLETED,
        text=(text, offsets),
        ocr_pages=extracted.ocr_pages,
        page_count=len(extracted.pages) if extracted.paged else None,
        text_length=len(text),
        chunk_count=len(spans),
    )


def _chunks_add(obj: VaultObject, claim: datetime, spans: list[Span]) -> bool:
    """One batch of chunks in its own short transaction; False if the object was deleted or
    claimed by another ingest meanwhile."""
    with transaction.atomic():
        _relaxed_commit()
        if not _still_claimed(obj.id, claim):
            return False
        _insert_chunks(obj, spans)
    return True


def _chunks_delete(object_id: str, claim: datetime) -> bool:
    """Delete the object's chunks in short batches; False if the object was deleted or claimed
    by another ingest meanwhile."""
    batch = settings.INGEST_CHUNK_BATCH
    while True:
        with transaction.atomic():
            if not _still_claimed(object_id, claim):
                return False
            ids = list(
                Chunk.objects.filter(object_id=object_id).values_list("id", flat=True)[:batch]
            )
            if ids:
                Chunk.objects.filter(id__in=ids).delete()
        if len(ids) < batch:
            return True


def _insert_chunks(obj: VaultObject, spans: list[Span]) -> None:
    """COPY on PostgreSQL, one executemany elsewhere, rather than bulk_create: ingest
    throughput is bound by this insert, and building a model instance per chunk doubled its
    cost."""
    quote = connection.ops.quote_name
    names = (
        "object_id", "vault_id", "index", "text", "page_start", "page_end", "section",
        "char_start", "char_end",
    )  # fmt: skip
    table, columns = quote(Chunk._meta.db_table), ", ".join(quote(c) for c in names)
    rows = [
        (
            obj.id,
            obj.vault_id,
            span.index,
            span.text,
            span.page_start,
            span.page_end,
            span.section,
            span.start,
            span.end,
        )
        for span in spans
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def _ingest_end(
    obj: VaultObject,
    claim: datetime,
    status: ObjectStatus,
    *,
    error: str | None = None,
    text: tuple[str, list[int]] | None = None,
    ocr_pages: list[Any] | None = None,
    **counts: int | None,
) -> VaultObject | None:
    """Compare-and-set the object from this ingest's `processing` to `status`, with its text
    (`completed`) or without chunks and text (otherwise), in one short transaction."""
    if status != ObjectStatus.COMPLETED:
        counts = {"page_count": None, "text_length": None, "chunk_count": None}
        if not _chunks_delete(obj.id, claim):
            return _ingest_lost(obj)
    with transaction.atomic():
        now = timezone.now()
        ended = VaultObject.objects.filter(
            id=obj.id, status=ObjectStatus.PROCESSING, ingestion_started_at=claim
        ).update(status=status, error=error, ingestion_completed_at=now, updated_at=now, **counts)
        if not ended:
            return _ingest_lost(obj)
        if text is None:
            ObjectText.objects.filter(object_id=obj.id).delete()
        else:
            ObjectText.objects.update_or_create(
                object_id=obj.id, defaults={"text": text[0], "page_offsets": text[1]}
            )
        ocr.ocr_pages_replace(object_id=obj.id, pages=ocr_pages or [])
        vault_totals_refresh(vault_id=obj.vault_id)
        subscriptions.ingest_event_emit(object_id=obj.id, status=status)
    obj.refresh_from_db()
    return obj


def _ingest_lost(obj: VaultObject) -> VaultObject | None:
    log.info("ingest of %s stopped: the object was deleted or is being ingested again", obj.id)
    return VaultObject.objects.filter(id=obj.id).first()


# --- The quickstart's demo vault --------------------------------------------------------------


def demo_vault_create(*, organization: Organization) -> Vault:
    """The demo vault with the sample agreements in vaults/demo/files, ingested before this
    returns. Idempotent: found by name, each file added and ingested once."""
    vault = Vault.objects.filter(organization=organization, name=DEMO_VAULT_NAME).first()
    if vault is None:
        vault = vault_create(
            organization=organization,
            name=DEMO_VAULT_NAME,
            description="Sample agreements written for agentexec: an NDA (PDF), a master "
            "services agreement (DOCX) and an office lease (Markdown).",
            metadata={"demo": True},
        )
    existing = {o.filename: o for o in VaultObject.objects.filter(vault=vault)}
    for filename in DEMO_FILES:
        obj = existing.get(filename)
        if obj is None:
            obj = object_create_with_content(
                vault=vault,
                filename=filename,
                content=[(DEMO_DIR / filename).read_bytes()],
                metadata={"demo": True},
            )
        if obj.status != ObjectStatus.COMPLETED:
            object_ingest_run(object_id=obj.id)
    vault.refresh_from_db()
    return vault
