from django.db import models

from agentexec import ids
from agentexec.models import WebhookDelivery
from agentexec.tenancy.models import ApiKey, Organization


class Agent(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.agent_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    instructions = models.TextField(blank=True)
    model = models.CharField(max_length=200)
    enabled_tools = models.JSONField(null=True, blank=True)
    disabled_tools = models.JSONField(null=True, blank=True)
    vault_ids = models.JSONField(default=list, blank=True)
    vault_groups = models.JSONField(default=list, blank=True)
    sandbox_cpu = models.PositiveSmallIntegerField(null=True, blank=True)
    sandbox_memory_mib = models.PositiveIntegerField(null=True, blank=True)
    is_ephemeral = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /agent/v1/agents: the org's live, non-ephemeral agents, newest first.
            models.Index(
                fields=["organization", "is_ephemeral", "deleted_at", "-created_at"],
                name="agent_list_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)


class Run(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.run_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="runs")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="runs")
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    prompt = models.TextField()
    instructions = models.TextField(blank=True)
    guidance = models.TextField(blank=True, null=True)
    model = models.CharField(max_length=200)
    vault_ids = models.JSONField(default=list, blank=True)
    object_ids = models.JSONField(default=list, blank=True)
    enabled_tools = models.JSONField(null=True, blank=True)
    disabled_tools = models.JSONField(null=True, blank=True)
    sandbox_cpu = models.PositiveSmallIntegerField(default=1)
    sandbox_memory_mib = models.PositiveIntegerField(default=512)
    provider = models.CharField(max_length=32, blank=True)
    runtime_id = models.CharField(max_length=40, blank=True)
    runtime_state = models.CharField(max_length=16, blank=True)
    workflow_id = models.CharField(max_length=64, blank=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    output = models.TextField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    final_response = models.JSONField(null=True, blank=True)
    output_object_ids = models.JSONField(default=list, blank=True)
    logs_runner = models.TextField(blank=True)
    logs_linc = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    tool_calls = models.PositiveIntegerField(default=0)
    cost_micros = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)  # handed to the worker (exec)
    # The last time a worker task was queued for this run; null while a handed-over run waits
    # for a slot under its organization's concurrency limit. See runs.services.runs_reap.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_count = models.PositiveIntegerField(default=0)
    event_seq = models.PositiveIntegerField(default=0)  # the last RunEvent sequence number
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # SHA-256 of an execute's canonical JSON body: a client's automatic retry of the same
    # execute is answered with this run instead of starting another one.
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A retried execute finds the run its first attempt started.
            models.Index(fields=["api_key", "request_hash", "-created_at"], name="run_retry_idx"),
            # GET /agent/v1/run and the staff run list: an org's runs, newest first.
            models.Index(fields=["organization", "-created_at"], name="run_org_recent_idx"),
            # The reaper: running/queued runs by heartbeat age.
            models.Index(fields=["status", "heartbeat_at"], name="run_reaper_idx"),
            models.Index(fields=["-created_at"], name="run_recent_idx"),
            # The concurrency limit: an organization's running runs, and its runs waiting for
            # a slot.
            models.Index(fields=["organization", "status"], name="run_org_status_idx"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class StepType(models.TextChoices):
    OUTPUT = "output"
    THINKING = "thinking"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"


class StepSource(models.TextChoices):
    AGENT = "agent"
    CLI = "cli"


class RunStep(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.step_id, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=16, choices=StepType.choices)
    content = models.TextField(null=True, blank=True)
    tool_name = models.CharField(max_length=100, null=True, blank=True)
    tool_input = models.JSONField(null=True, blank=True)
    tool_output = models.JSONField(null=True, blank=True)
    is_error = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Who made the call: the agent's model, or a `casedev` CLI command run in the sandbox.
    source = models.CharField(max_length=8, choices=StepSource.choices, default=StepSource.AGENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sequence"], name="runstep_run_sequence_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.sequence} {self.type}"


class UsageKind(models.TextChoices):
    LLM = "llm"
    API = "api"


class UsageEntry(models.Model):
    """One model call or host tool call, billed to an organization: a run's, or (run empty) a
    job's outside any run, such as a vault summary job (job_id)."""

    id = models.CharField(primary_key=True, max_length=40, default=ids.usage_id, editable=False)
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, null=True, blank=True, related_name="usage_entries"
    )
    job_id = models.CharField(max_length=40, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="usage_entries"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage_entries"
    )
    kind = models.CharField(max_length=8, choices=UsageKind.choices)
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    cost_micros = models.BigIntegerField(null=True, blank=True)
    service = models.CharField(max_length=100, blank=True)
    endpoint = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=16, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The usage audit: rollups per organization / key / model over a date range.
            models.Index(fields=["created_at", "organization"], name="usage_audit_idx"),
            # The monthly budget check: one organization's entries since the month began.
            models.Index(fields=["organization", "created_at"], name="usage_org_month_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.model or self.service} ({self.run_id or self.job_id})"


class RunEvent(models.Model):
    """Everything a watcher of a run sees, in order: status changes and steps."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=32)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sequence"], name="runevent_run_sequence_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.sequence} {self.type}"


class Watcher(models.Model):
    """A callback URL to notify when a run ends (from run create or POST /run/:id/watch)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="watchers")
    callback_url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "callback_url"], name="watcher_run_url_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} → {self.callback_url}"


class CallbackDelivery(WebhookDelivery):
    """The callback outbox: one row per (run end, watcher), retried until delivered or given up."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="deliveries")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=32)

    class Meta:
        indexes = [
            # The dispatcher: pending deliveries that are due.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
        ]


class IdempotencyRecord(models.Model):
    """A POST made with an Idempotency-Key: its body hash and, once done, its response."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "path"], name="idempotency_org_key_path_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.path}"


class CitationStatus(models.TextChoices):
    VERIFIED = "verified"  # in the document, word for word (whitespace, quote marks aside)
    ALTERED = "altered"  # a close passage exists; `matched_text` and `diff` show it
    NOT_FOUND = "not_found"


class Citation(models.Model):
    """A quotation in a run's output, checked against the documents in the run's scope when the
    run ended. Offsets are into the object's extracted text (vaults.ObjectText.text)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="citations")
    index = models.PositiveIntegerField()  # order in the output
    quote = models.TextField()
    status = models.CharField(max_length=16, choices=CitationStatus.choices)
    # Where the quotation sits in the output (its marks included), for the review page.
    output_start = models.PositiveIntegerField()
    output_end = models.PositiveIntegerField()
    object = models.ForeignKey(
        "vaults.VaultObject",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    vault_id = models.CharField(max_length=40, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    section = models.CharField(max_length=300, blank=True)
    char_start = models.PositiveIntegerField(null=True, blank=True)
    char_end = models.PositiveIntegerField(null=True, blank=True)
    matched_text = models.TextField(blank=True)  # the document's passage, for an altered one
    similarity = models.FloatField(null=True, blank=True)
    diff = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="citation_run_index_uniq"),
        ]
        indexes = [
            # The staff run list: runs with unverified quotations.
            models.Index(fields=["status", "run"], name="citation_status_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.index} {self.status}"

    @property
    def is_linked(self) -> bool:
        return self.object_id is not None and self.char_start is not None
