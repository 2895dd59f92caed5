from dataclasses import dataclass

from django.db import models

from agentexec import ids
from agentexec.models import WebhookDelivery
from agentexec.tenancy.models import ApiKey, Organization


class VaultGroup(models.Model):
    """A named set of an organization's vaults; agents may be scoped to groups (vaultGroups)."""

    id = models.CharField(
        primary_key=True, max_length=40, default=ids.vault_group_id, editable=False
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="vault_groups"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /vault/groups: an organization's groups, newest first.
            models.Index(fields=["organization", "-created_at"], name="vaultgroup_org_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Vault(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.vault_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="vaults")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, null=True)
    enable_indexing = models.BooleanField(default=True)
    enable_graph = models.BooleanField(default=False)  # accepted for compatibility; no GraphRAG
    metadata = models.JSONField(default=dict, blank=True)
    # A group is only deleted once empty (group_delete); SET_NULL covers a vault moved into it
    # meanwhile.
    group = models.ForeignKey(
        VaultGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="vaults"
    )
    # Totals are recomputed from the objects after every change (vault_totals_refresh), never
    # incremented, so a crashed ingest cannot leave them drifting.
    total_objects = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    total_chunks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /vault: an organization's vaults, newest first; demo_vault_create by name.
            models.Index(fields=["organization", "-created_at"], name="vault_org_recent_idx"),
            models.Index(fields=["organization", "name"], name="vault_org_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ObjectStatus(models.TextChoices):
    PENDING = "pending"  # created; bytes not uploaded yet, or uploaded and not ingested
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    STORED = "stored"  # kept as a file only: no text extraction for this type


class VaultObject(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.object_id, editable=False)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="vault_objects")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200)
    path = models.CharField(max_length=1000, blank=True, null=True)  # the client's folder path
    metadata = models.JSONField(default=dict, blank=True)
    auto_index = models.BooleanField(default=False)
    # The bytes, through Django's storage API (MEDIA_ROOT by default); empty until uploaded.
    file = models.FileField(max_length=500, blank=True)
    declared_size_bytes = models.BigIntegerField(null=True, blank=True)  # sizeBytes at upload
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=ObjectStatus.choices, default=ObjectStatus.PENDING
    )
    error = models.TextField(blank=True, null=True)
    workflow_id = models.CharField(max_length=64, blank=True, null=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    text_length = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(null=True, blank=True)
    ingestion_started_at = models.DateTimeField(null=True, blank=True)
    ingestion_completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /vault/:id/objects and vault.list: a vault's objects, newest first.
            models.Index(fields=["vault", "-created_at"], name="vaultobject_vault_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"

    @property
    def has_content(self) -> bool:
        return bool(self.file)


class ObjectText(models.Model):
    """The extracted text of an object, kept whole (chunks overlap) for /text and vault.read.
    page_offsets[i] is where page i+1 starts in `text`; empty for documents without pages."""

    object = models.OneToOneField(
        VaultObject, on_delete=models.CASCADE, primary_key=True, related_name="extracted"
    )
    text = models.TextField()
    page_offsets = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"text of {self.object_id}"


class Chunk(models.Model):
    """A passage of an object's text, the unit of search. Full-text indexing (of the section and
    the text) lives in the database: an FTS5 table kept in step by triggers on SQLite, a
    generated tsvector column with a GIN index on PostgreSQL (created in migration 0002, remade
    with the section in 0003). A later migration that makes SQLite rebuild this table drops those
    triggers: it must create them again, as 0003 does."""

    object = models.ForeignKey(VaultObject, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised from object.vault: search filters chunks by vault without a join.
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    text = models.TextField()
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    # The heading path the passage sits under ("Article 2 > 2.1 Definitions"); blank if none.
    # Indexed for search with the text, and weighted above it.
    section = models.CharField(max_length=300, blank=True, default="")
    # Where the passage is in ObjectText.text: text[char_start:char_end] == self.text. Null only
    # for chunks made before offsets were kept (manage.py reingest fills them).
    char_start = models.PositiveIntegerField(null=True, blank=True)
    char_end = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["object", "index"]
        constraints = [
            models.UniqueConstraint(fields=["object", "index"], name="chunk_object_index_uniq"),
        ]
        indexes = [
            # Search narrows matches to the vaults (and objects) in scope.
            models.Index(fields=["vault", "object"], name="chunk_vault_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_id}#{self.index}"


class MultipartStatus(models.TextChoices):
    ACTIVE = "active"  # taking parts
    COMPLETING = "completing"  # parts being assembled into the object
    COMPLETED = "completed"
    ABORTED = "aborted"


class MultipartUpload(models.Model):
    """A large file uploaded in parts (POST /vault/:id/multipart/init). Each part is PUT to its
    own signed URL and kept as a file under MEDIA_ROOT (vaults.multipart) until `complete`
    assembles them into the object's bytes, or `abort` removes them."""

    id = models.CharField(
        primary_key=True, max_length=40, default=ids.multipart_upload_id, editable=False
    )
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="multipart_uploads")
    # SET_NULL: an aborted upload outlives the pending object it had created.
    object = models.ForeignKey(
        VaultObject,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="multipart_uploads",
    )
    status = models.CharField(
        max_length=16, choices=MultipartStatus.choices, default=MultipartStatus.ACTIVE
    )
    size_bytes = models.BigIntegerField()
    part_size_bytes = models.BigIntegerField()
    part_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    def part_size(self, number: int) -> int:
        """The exact size part `number` (1-based) must have: the last one takes the rest."""
        if number < self.part_count:
            return self.part_size_bytes
        return self.size_bytes - self.part_size_bytes * (self.part_count - 1)


class MultipartPart(models.Model):
    """A part received for a multipart upload; its bytes are a file (vaults.multipart)."""

    upload = models.ForeignKey(MultipartUpload, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    size_bytes = models.BigIntegerField()
    etag = models.CharField(max_length=64)  # md5 hex of the part's bytes, as S3 gives it
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["upload", "number"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "number"], name="multipartpart_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.upload_id} part {self.number}"


# --- What a delete removed (plain records, not tables) -----------------------------------------


@dataclass(frozen=True)
class DeletedVault:
    id: str
    name: str
    objects_deleted: int
    bytes_freed: int
    vectors_deleted: int


@dataclass(frozen=True)
class DeletedObject:
    id: str
    filename: str
    size_bytes: int | None
    vectors_deleted: int


class ObjectOcrPage(models.Model):
    """The words OCR read on one page of an object (a scanned PDF page, an image), for
    GET .../ocr-words. words: [[text, x0, y0, x1, y1, confidence], ...] in reading order, the
    box normalised to the page (0-1, origin top left); word_start is the index of the page's
    first word among all the object's OCR words."""

    object = models.ForeignKey(VaultObject, on_delete=models.CASCADE, related_name="ocr_pages")
    page = models.PositiveIntegerField()
    word_start = models.PositiveIntegerField()
    words = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["object", "page"]
        constraints = [
            models.UniqueConstraint(fields=["object", "page"], name="ocrpage_object_page_uniq"),
        ]

    def __str__(self) -> str:
        return f"OCR of {self.object_id} p. {self.page}"


# --- Event subscriptions (vaults.subscriptions) ----------------------------------------------


def subscription_id() -> str:
    return ids.new_id("vsub")


class VaultEventType(models.TextChoices):
    OBJECT_UPLOADED = "vault.object.uploaded"
    INGEST_COMPLETED = "vault.ingest.completed"
    INGEST_FAILED = "vault.ingest.failed"
    OBJECT_DELETED = "vault.object.deleted"


class EventSubscription(models.Model):
    """A webhook for a vault's lifecycle events, optionally only for some objects. Deliveries
    are signed with its own signing secret if it has one, else the organization's."""

    id = models.CharField(primary_key=True, max_length=40, default=subscription_id, editable=False)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="event_subscriptions")
    callback_url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)  # VaultEventType values
    object_ids = models.JSONField(default=list, blank=True)  # empty: every object
    signing_secret = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Every vault event: the vault's active subscriptions.
            models.Index(fields=["vault", "is_active"], name="vaultsub_vault_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.vault_id} → {self.callback_url}"


class EventDelivery(WebhookDelivery):
    """The vault events outbox: one row per (event, subscription), sent and retried by
    agentexec.webhooks exactly as run callbacks are."""

    subscription = models.ForeignKey(
        EventSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [
            # The dispatcher: pending deliveries that are due.
            models.Index(fields=["state", "next_attempt_at"], name="vaultdelivery_due_idx"),
        ]


# --- Memory (vaults.memory) --------------------------------------------------------------------


def memory_entry_id() -> str:
    return ids.new_id("mem")


class MemoryType(models.TextChoices):
    FACT = "fact"
    PARTY = "party"
    ISSUE = "issue"
    DEADLINE = "deadline"
    DISCOVERY = "discovery"
    CORRECTION = "correction"
    PREFERENCE = "preference"


class MemoryEntry(models.Model):
    """A vault's memory: what its organization's agents (and API clients) note for later runs.
    The content is kept as a file (`file`, under MEDIA_ROOT); `content` is its indexed copy:
    an FTS5 table on SQLite, a generated tsvector column on PostgreSQL (migration 0003)."""

    id = models.CharField(primary_key=True, max_length=40, default=memory_entry_id, editable=False)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="memory_entries")
    type = models.CharField(max_length=16, choices=MemoryType.choices)
    content = models.TextField()
    source = models.CharField(max_length=500, blank=True, null=True)
    tags = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=100)  # "api:<key prefix>" or "run:<run id>"
    file = models.FileField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # GET /vault/:id/memory: a vault's entries, oldest first.
            models.Index(fields=["vault", "created_at"], name="memory_vault_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


# --- Summaries (vaults.summaries) --------------------------------------------------------------


def summary_job_id() -> str:
    return ids.new_id("sumjob")


class SummaryStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class SummaryJob(models.Model):
    """A summary of an object, made on the worker through the model router and stored as a
    new text object in the same vault (result_object). Its model calls are also usage entries
    (runs.UsageEntry.summary_job)."""

    id = models.CharField(primary_key=True, max_length=40, default=summary_job_id, editable=False)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="summary_jobs")
    source_object = models.ForeignKey(
        VaultObject, on_delete=models.CASCADE, related_name="summary_jobs"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=SummaryStatus.choices, default=SummaryStatus.PENDING
    )
    model = models.CharField(max_length=200)
    error = models.TextField(blank=True, null=True)
    result_object = models.ForeignKey(
        VaultObject, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_micros = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The staff object page: an object's summaries, newest first.
            models.Index(fields=["source_object", "-created_at"], name="summaryjob_object_idx"),
        ]

    def __str__(self) -> str:
        return f"summary {self.id} of {self.source_object_id} ({self.status})"
