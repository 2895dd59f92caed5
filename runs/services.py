"""Writes for agents and runs. Status changes are compare-and-set updates whose count is checked."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from agentexec.llm import router
from agentexec.llm.base import ModelReply
from agentexec.llm.pricing import cost_micros
from agentexec.tenancy.models import ApiKey
from runs import callbacks, grounding, quotas, selectors
from runs.events import status_event, step_event
from runs.models import Agent, Run, RunStatus, RunStep, StepSource, UsageEntry, UsageKind, Watcher
from sandboxes import services as sandbox_services

if TYPE_CHECKING:
    from vaults.models import SummaryJob

log = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = (
    "You are a careful legal assistant working for a legal team. Use the tools you are given to "
    "read the documents in scope, cite the document and page for every finding, and say plainly "
    "when something is not in the documents. When you quote a document, quote it verbatim, word "
    'for word, in double quotes ("..."), never paraphrased, shortened or joined with an '
    "ellipsis, and follow each quotation with its document and page, e.g. (NDA.pdf, p. 3): "
    "every quotation in your answer is checked against the documents."
)


@dataclass(frozen=True)
class RunParams:
    """What a client asked for, already validated."""

    prompt: str
    instructions: str | None = None
    guidance: str | None = None
    model: str | None = None
    vault_ids: list[str] | None = None
    object_ids: list[str] | None = None
    enabled_tools: list[str] | None = None
    disabled_tools: list[str] | None = None
    sandbox_cpu: int | None = None
    sandbox_memory_mib: int | None = None


@transaction.atomic
def run_create_ephemeral(
    *, api_key: ApiKey, params: RunParams, status: str, request_hash: str = ""
) -> Run:
    """An ephemeral agent and its run, in one transaction (execute). Over the organization's
    monthly budget, or (for a run that starts now) its concurrency limit: a 429, and nothing
    is created."""
    organization = quotas.organization_lock(api_key.organization_id)
    quotas.budget_check(organization)
    if status == RunStatus.RUNNING:
        quotas.concurrency_check(organization.id)
    model = params.model or router.default_model()
    agent = Agent.objects.create(
        organization_id=api_key.organization_id,
        name=f"ephemeral-{timezone.now():%Y%m%dT%H%M%S}",
        instructions=params.instructions or DEFAULT_INSTRUCTIONS,
        model=model,
        enabled_tools=params.enabled_tools,
        disabled_tools=params.disabled_tools,
        vault_ids=params.vault_ids or [],
        sandbox_cpu=params.sandbox_cpu,
        sandbox_memory_mib=params.sandbox_memory_mib,
        is_ephemeral=True,
    )
    now = timezone.now()
    run = Run.objects.create(
        organization_id=api_key.organization_id,
        agent=agent,
        api_key=api_key,
        status=status,
        prompt=params.prompt,
        instructions=agent.instructions,
        guidance=params.guidance,
        model=model,
        vault_ids=params.vault_ids or [],
        object_ids=params.object_ids or [],
        enabled_tools=params.enabled_tools,
        disabled_tools=params.disabled_tools,
        sandbox_cpu=params.sandbox_cpu or settings.SANDBOX_CPU_DEFAULT,
        sandbox_memory_mib=params.sandbox_memory_mib or settings.SANDBOX_MEMORY_MIB_DEFAULT,
        started_at=now if status == RunStatus.RUNNING else None,
        heartbeat_at=now if status == RunStatus.RUNNING else None,
        request_hash=request_hash,
    )
    status_event(run, status)
    return run


def run_heartbeat(*, run_id: str) -> bool:
    """Marks the run alive; False when it is no longer running (cancelled or reaped)."""
    return bool(
        Run.objects.filter(id=run_id, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())
    )


def db_safe(value: Any) -> Any:
    """Text and JSON as every database stores them: PostgreSQL refuses NUL characters, which a
    tool's output (say, `printf '\\0'`) may well contain."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [db_safe(v) for v in value]
    if isinstance(value, dict):
        return {db_safe(k): db_safe(v) for k, v in value.items()}
    return value


def step_record(
    *,
    run: Run,
    sequence: int,
    type: str,
    content: str | None = None,
    tool_name: str | None = None,
    tool_input: Any = None,
    tool_output: Any = None,
    is_error: bool = False,
    duration_ms: int | None = None,
    source: str = StepSource.AGENT,
) -> RunStep:
    with transaction.atomic():
        step = RunStep.objects.create(
            run=run,
            sequence=sequence,
            type=type,
            content=db_safe(content),
            tool_name=db_safe(tool_name),
            tool_input=db_safe(tool_input),
            tool_output=db_safe(tool_output),
            is_error=is_error,
            duration_ms=duration_ms,
            source=source,
        )
        step_event(step)
    return step


def usage_record_llm(*, run: Run, reply: ModelReply, duration_ms: int) -> UsageEntry:
    usage = reply.usage
    cost = cost_micros(run.model, usage)
    metadata = {
        "provider": reply.provider,
        "providerModel": reply.model,
        "stopReason": reply.stop_reason,
        "estimated": usage.estimated,
        "cacheReadTokens": usage.cache_read_tokens,
        "cacheWriteTokens": usage.cache_write_tokens,
        "attempts": reply.attempts,
        "durationMs": duration_ms,
        **reply.metadata,
    }
    entry = UsageEntry.objects.create(
        run=run,
        organization_id=run.organization_id,
        api_key_id=run.api_key_id,
        kind=UsageKind.LLM,
        model=run.model,
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cost_micros=cost,
        service=reply.provider,
        metadata=metadata,
    )
    Run.objects.filter(id=run.id).update(
        input_tokens=F("input_tokens") + usage.input_tokens,
        output_tokens=F("output_tokens") + usage.output_tokens,
    )
    return entry


def usage_record_summary(job: SummaryJob, reply: ModelReply, duration_ms: int) -> UsageEntry:
    """A vault summary job's model call (vaults.summaries' usage recorder): billed like a run's,
    to the job's organization and API key."""
    usage = reply.usage
    return UsageEntry.objects.create(
        job_id=job.id,
        organization_id=job.vault.organization_id,
        api_key_id=job.api_key_id,
        kind=UsageKind.LLM,
        model=job.model,
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cost_micros=cost_micros(job.model, usage),
        service=reply.provider,
        endpoint="/vault/{id}/objects/{objectId}/summarize",
        method="POST",
        metadata={
            "summaryJobId": job.id,
            "sourceObjectId": job.source_object_id,
            "providerModel": reply.model,
            "estimated": usage.estimated,
            "durationMs": duration_ms,
        },
    )


def usage_record_api(
    *,
    run: Run,
    tool_name: str,
    service: str,
    endpoint: str,
    method: str,
    status_code: int | None,
    metadata: dict[str, Any],
) -> UsageEntry:
    return UsageEntry.objects.create(
        run=run,
        organization_id=run.organization_id,
        api_key_id=run.api_key_id,
        kind=UsageKind.API,
        service=service or tool_name.split(".")[0],
        endpoint=endpoint or tool_name,
        method=method or "TOOL",
        status_code=status_code,
        metadata={"tool": tool_name, **metadata},
    )


_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.*\S)")


def final_response_for(output: str | None, created_object_ids: list[str]) -> dict[str, Any]:
    """The structured view of an answer: its first paragraph, and numbered findings as issues."""
    text = output or ""
    issues = [m.group(2) for line in text.splitlines() if (m := _NUMBERED.match(line))]
    summary = text.strip().split("\n\n", 1)[0][:2000] if text.strip() else ""
    return {"summary": summary, "issues": issues, "createdObjectIds": created_object_ids}


def run_finish(
    *,
    run: Run,
    status: str,
    output: str | None,
    error: str | None,
    logs_runner: str,
    logs_linc: str,
    output_object_ids: list[str],
    tool_calls: int,
) -> bool:
    """Ends a running run. Returns False if it was no longer running (cancelled or reaped): then
    its status and error stay as they are, but the logs and counters are still kept."""
    now = timezone.now()
    started = run.started_at or run.created_at
    duration_ms = max(0, int((now - started).total_seconds() * 1000))
    output, error = db_safe(output), db_safe(error)
    common = {
        "logs_runner": db_safe(logs_runner),
        "logs_linc": db_safe(logs_linc),
        "output_object_ids": output_object_ids,
        "tool_calls": tool_calls,
        "runtime_state": "ended",
        "cost_micros": _cost_total(run),
    }
    # Checked before the transaction: it reads documents, and must not hold the write lock.
    citations = grounding.citations_check(run=run, output=output)
    with transaction.atomic():
        won = Run.objects.filter(id=run.id, status=RunStatus.RUNNING).update(
            status=status,
            output=output,
            error=error,
            final_response=final_response_for(output, output_object_ids),
            completed_at=now,
            duration_ms=duration_ms,
            **common,
        )
        if not won:
            Run.objects.filter(id=run.id).update(**common)
        agent_release(agent_id=run.agent_id)
        if won:
            grounding.citations_save(run=run, citations=citations)
            run.refresh_from_db()
            run_ended(run=run)
    return bool(won)


def _cost_total(run: Run) -> int | None:
    """Sum of the run's llm costs; unknown (None) if any model call has an unknown price."""
    costs = list(
        UsageEntry.objects.filter(run=run, kind=UsageKind.LLM).values_list("cost_micros", flat=True)
    )
    if not costs:
        return 0
    if any(c is None for c in costs):
        return None
    return sum(c for c in costs if c is not None)


def agent_release(*, agent_id: str) -> None:
    """An ephemeral agent is soft-deleted when its run ends."""
    Agent.objects.filter(id=agent_id, is_ephemeral=True, deleted_at=None).update(
        deleted_at=timezone.now()
    )


def run_cancel(*, run: Run) -> bool:
    """Cancels a queued or running run. A running run's executor notices within a heartbeat and
    kills the sandbox's whole process group; a queued run never starts. Returns False when the run
    had already ended (cancel is idempotent)."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = Run.objects.filter(
            id=run.id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).update(status=RunStatus.CANCELLED, completed_at=now, error="cancelled by request")
        run.refresh_from_db()
        if cancelled:
            agent_release(agent_id=run.agent_id)
            run_ended(run=run)
    if cancelled:
        sandbox_services.sandboxes_kill_local(run_id=run.id)
    return bool(cancelled)


def run_ended(*, run: Run) -> None:
    """What follows every end of a run, inside the transaction that ended it: the terminal
    event, the callback outbox rows (sent once the transaction commits), and the organization's
    next run waiting for the slot this one frees."""
    status_event(run, run.status, error=run.error)
    if callbacks.deliveries_create(run=run):
        transaction.on_commit(_enqueue_deliveries)
    organization_id = run.organization_id
    transaction.on_commit(lambda: _dispatch_waiting_safely(organization_id))


def _dispatch_waiting_safely(organization_id: str) -> None:
    # The run has ended and committed; a failure here must not look like the run's failure.
    # The reaper dispatches whatever this misses.
    try:
        runs_dispatch_waiting(organization_id=organization_id)
    except Exception:
        log.exception("could not dispatch the waiting runs of %s", organization_id)


def _enqueue_deliveries() -> None:
    async_task("runs.tasks.deliver_callbacks", q_options={"task_name": "deliver_callbacks"})


# -- persistent agents --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentParams:
    name: str
    instructions: str
    description: str = ""
    model: str | None = None
    vault_ids: list[str] | None = None
    vault_groups: list[str] | None = None
    enabled_tools: list[str] | None = None
    disabled_tools: list[str] | None = None
    sandbox_cpu: int | None = None
    sandbox_memory_mib: int | None = None


def agent_create(*, organization_id: str, params: AgentParams) -> Agent:
    return Agent.objects.create(
        organization_id=organization_id,
        name=params.name,
        description=params.description,
        instructions=params.instructions,
        model=params.model or router.default_model(),
        vault_ids=params.vault_ids or [],
        vault_groups=params.vault_groups or [],
        enabled_tools=params.enabled_tools,
        disabled_tools=params.disabled_tools,
        sandbox_cpu=params.sandbox_cpu,
        sandbox_memory_mib=params.sandbox_memory_mib,
    )


AGENT_UPDATABLE = {
    "name": "name",
    "description": "description",
    "instructions": "instructions",
    "model": "model",
    "vaultIds": "vault_ids",
    "vaultGroups": "vault_groups",
    "enabledTools": "enabled_tools",
    "disabledTools": "disabled_tools",
}


@transaction.atomic
def agent_update(*, agent: Agent, changes: dict[str, Any]) -> Agent:
    """PATCH semantics: only the fields given change; null clears the nullable ones."""
    fields = []
    for wire, attr in AGENT_UPDATABLE.items():
        if wire in changes:
            value = changes[wire]
            if attr in ("vault_ids", "vault_groups"):
                value = value or []
            elif attr == "description":
                value = value or ""
            setattr(agent, attr, value)
            fields.append(attr)
    if "enabledTools" in changes and changes["enabledTools"] is not None:
        agent.disabled_tools = None  # the lists are exclusive: setting one clears the other
        fields.append("disabled_tools")
    if "disabledTools" in changes and changes["disabledTools"] is not None:
        agent.enabled_tools = None
        fields.append("enabled_tools")
    if "sandbox" in changes:
        sandbox = changes["sandbox"] or {}
        agent.sandbox_cpu = sandbox.get("cpu")
        agent.sandbox_memory_mib = sandbox.get("memoryMiB")
        fields += ["sandbox_cpu", "sandbox_memory_mib"]
    agent.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    return agent


def agent_delete(*, agent: Agent) -> None:
    """A soft delete: the agent disappears from the API, its runs keep it."""
    Agent.objects.filter(id=agent.id, deleted_at=None).update(deleted_at=timezone.now())


# -- queued runs ---------------------------------------------------------------------------


@transaction.atomic
def run_create(
    *,
    api_key: ApiKey,
    agent: Agent,
    prompt: str,
    guidance: str | None = None,
    model: str | None = None,
    object_ids: list[str] | None = None,
    callback_url: str = "",
) -> Run:
    """POST /agent/v1/run: a queued run of a persistent agent, with the agent's settings."""
    quotas.budget_check(agent.organization)
    run = Run.objects.create(
        organization_id=agent.organization_id,
        agent=agent,
        api_key=api_key,
        status=RunStatus.QUEUED,
        prompt=prompt,
        instructions=agent.instructions or DEFAULT_INSTRUCTIONS,
        guidance=guidance,
        model=model or agent.model,
        vault_ids=agent.vault_ids,
        object_ids=object_ids or [],
        enabled_tools=agent.enabled_tools,
        disabled_tools=agent.disabled_tools,
        sandbox_cpu=agent.sandbox_cpu or settings.SANDBOX_CPU_DEFAULT,
        sandbox_memory_mib=agent.sandbox_memory_mib or settings.SANDBOX_MEMORY_MIB_DEFAULT,
        callback_url=callback_url,
    )
    status_event(run, RunStatus.QUEUED)
    return run


class RunNotQueued(Exception):
    pass


# How a queued run reaches a worker, and why it always does (see also runs_reap):
#
# - exec hands the run over (`enqueued_at`) and queues one worker task for it (`dispatched_at`,
#   `dispatch_count`). The task claims the run with a compare-and-set queued → running under
#   the organization's lock; a task whose claim fails (the run started elsewhere, ended, or
#   was cancelled) does nothing. So any number of tasks for one run execute it at most once,
#   and handing a run over again is always safe.
# - A task can be lost: the broker gives each task to one cluster, and a cluster that dies
#   (kill -9, host lost) takes the tasks it had fetched with it. django-q2 re-delivers them
#   only after its `retry` window (ORM broker; minutes, since it must exceed the run timeout)
#   or never (Redis). So the reaper, not the broker, re-dispatches: a run still queued
#   RUN_HEARTBEAT_TIMEOUT_S after its last dispatch gets a new task, unless its task may
#   still be waiting in the broker's queue (see _redispatch_stale).
# - Over the organization's concurrency limit the claim leaves the run queued with no task
#   (`dispatched_at` null): it waits for a slot, and the end of any run of the organization
#   (or, failing that, the reaper) dispatches the oldest waiting runs.


def run_enqueue(*, run: Run) -> Run:
    """Hands a queued run to the worker. Only once: a run already handed over (or ended) raises
    RunNotQueued. Over the organization's monthly budget: a 429, and the run stays queued."""
    quotas.budget_check(run.organization)
    now = timezone.now()
    with transaction.atomic():
        claimed = Run.objects.filter(id=run.id, status=RunStatus.QUEUED, enqueued_at=None).update(
            enqueued_at=now, dispatched_at=now, dispatch_count=1
        )
        if not claimed:
            run.refresh_from_db()
            raise RunNotQueued(run.status)
        transaction.on_commit(lambda: _dispatch(run.id))
    run.refresh_from_db()
    return run


def _dispatch(run_id: str) -> None:
    """Queues a worker task for a handed-over run."""
    try:
        task_id = async_task(
            "runs.tasks.execute_run", run_id, q_options={"task_name": f"run:{run_id}"}
        )
    except Exception as exc:  # the broker is down: say so now rather than leave it queued
        log.exception("could not queue run %s", run_id)
        run = Run.objects.get(id=run_id)
        run_fail(run=run, error=f"could not queue the run: {exc}", expected_status=RunStatus.QUEUED)
        return
    Run.objects.filter(id=run_id, workflow_id="").update(workflow_id=str(task_id))


def _redispatch(run_id: str, *, dispatched_at: Any) -> bool:
    """Dispatches a handed-over run again, unless someone else did since `dispatched_at` (the
    compare-and-set keeps concurrent reapers from queuing two tasks at once)."""
    won = Run.objects.filter(
        id=run_id, status=RunStatus.QUEUED, dispatched_at=dispatched_at
    ).update(dispatched_at=timezone.now(), dispatch_count=F("dispatch_count") + 1)
    if won:
        _dispatch(run_id)
    return bool(won)


def run_claim(*, run_id: str) -> Run | None:
    """The worker takes a queued run: queued → running, exactly once. None when the run is not
    queued any more, waits for a slot (the organization is at ORG_MAX_CONCURRENT_RUNS), or has
    failed because its organization's monthly budget is used up."""
    now = timezone.now()
    with transaction.atomic():
        organization_id = (
            Run.objects.filter(id=run_id, status=RunStatus.QUEUED)
            .values_list("organization_id", flat=True)
            .first()
        )
        if organization_id is None:
            return None
        organization = quotas.organization_lock(organization_id)
        if reason := quotas.budget_exceeded(organization):
            run = Run.objects.get(id=run_id)
            run_fail(run=run, error=f"not started: {reason}", expected_status=RunStatus.QUEUED)
            return None
        if quotas.slots_free(organization_id) == 0:
            Run.objects.filter(id=run_id, status=RunStatus.QUEUED).update(dispatched_at=None)
            return None
        claimed = Run.objects.filter(id=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
        )
        if not claimed:
            return None
        run = Run.objects.get(id=run_id)
        status_event(run, RunStatus.RUNNING)
    return run


def runs_dispatch_waiting(*, organization_id: str) -> int:
    """Dispatches the organization's oldest runs waiting for a slot, as many as are free. No
    lock: the claim checks the limit again, and a run dispatched one too many waits again."""
    free = quotas.slots_free(organization_id)
    if free == 0:
        return 0
    waiting = Run.objects.filter(
        organization_id=organization_id,
        status=RunStatus.QUEUED,
        enqueued_at__isnull=False,
        dispatched_at=None,
    ).order_by("enqueued_at", "id")
    ids = list((waiting if free is None else waiting[:free]).values_list("id", flat=True))
    return sum(_redispatch(run_id, dispatched_at=None) for run_id in ids)


def run_watch(*, run: Run, callback_url: str) -> None:
    Watcher.objects.get_or_create(run=run, callback_url=callback_url)


# -- the reaper ----------------------------------------------------------------------------


def run_fail(*, run: Run, error: str, expected_status: str) -> bool:
    """Fails a run that nobody is executing any more (compare-and-set on its status)."""
    now = timezone.now()
    with transaction.atomic():
        won = Run.objects.filter(id=run.id, status=expected_status).update(
            status=RunStatus.FAILED,
            error=error,
            completed_at=now,
            runtime_state="error" if run.runtime_id else run.runtime_state,
        )
        if won:
            run.refresh_from_db()
            agent_release(agent_id=run.agent_id)
            sandbox_services.sandboxes_mark_lost(run_id=run.id)
            run_ended(run=run)
    return bool(won)


def run_get_reaped(*, organization_id: str, run_id: str) -> Run:
    """A run for reading its state: a running run whose worker is gone is failed first, so no
    reader ever sees it "running" forever between two reaper sweeps."""
    run = selectors.run_get(organization_id=organization_id, run_id=run_id)
    if run_reap_if_lost(run=run):
        run.refresh_from_db()
    return run


def run_reap_if_lost(*, run: Run) -> bool:
    """Fails a running run whose heartbeat stopped (its worker is gone)."""
    window = settings.RUN_HEARTBEAT_TIMEOUT_S
    if run.status != RunStatus.RUNNING or run.heartbeat_at is None:
        return False
    if (timezone.now() - run.heartbeat_at).total_seconds() <= window:
        return False
    error = f"worker lost: no heartbeat for more than {window:g}s"
    return run_fail(run=run, error=error, expected_status=RunStatus.RUNNING)


def runs_reap() -> int:
    """The reaper, run by every worker process every RUN_REAPER_INTERVAL_S (and by a django-q
    schedule every minute). It fails running runs whose heartbeat stopped, fails handed-over
    runs not started within RUN_QUEUE_TIMEOUT_S, and hands over again the queued runs whose
    task may be lost. Returns how many runs it failed or dispatched."""
    now = timezone.now()
    done = 0
    window = timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_S)
    for run in Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - window):
        done += run_reap_if_lost(run=run)
    handed_over = Run.objects.filter(status=RunStatus.QUEUED, enqueued_at__isnull=False)
    too_old = now - timedelta(seconds=settings.RUN_QUEUE_TIMEOUT_S)
    for run in handed_over.filter(enqueued_at__lt=too_old):
        done += run_fail(
            run=run,
            error="task lost: not started within "
            f"RUN_QUEUE_TIMEOUT_S={settings.RUN_QUEUE_TIMEOUT_S:g}s",
            expected_status=RunStatus.QUEUED,
        )
    done += _redispatch_stale(handed_over.filter(dispatched_at__lt=now - window))
    for organization_id in (
        handed_over.filter(dispatched_at=None).values_list("organization_id", flat=True).distinct()
    ):
        done += runs_dispatch_waiting(organization_id=organization_id)
    return done


# How much later than `dispatched_at` the broker may record the task it queued (the task is
# queued right after the run's row is updated).
DISPATCH_SLACK = timedelta(seconds=5)


def _redispatch_stale(stale: Any) -> int:
    """Runs whose last task was queued more than a heartbeat window ago and still have not
    started. If that task still waits in the broker's queue, the run is only waiting its turn
    behind a backlog and is left alone. Otherwise the task was taken by a cluster: it died with
    that cluster, or it waits in a live cluster's hands behind longer runs. The run cannot tell
    which, so it gets a new task, and whichever task comes first runs it (the claim makes the
    other a no-op). So the broker never holds more than one task per run, the extra tasks are
    bounded by what the clusters hold, and a run waiting behind a long backlog is neither failed
    nor duplicated."""
    from django_q.brokers import get_broker

    done = 0
    broker = None
    for run_id, dispatched_at in stale.values_list("id", "dispatched_at"):
        try:
            broker = broker or get_broker()
            if _task_may_be_waiting(broker, dispatched_at):
                continue
        except Exception:
            log.exception("could not read the broker's queue; not re-dispatching")
            return done
        if _redispatch(run_id, dispatched_at=dispatched_at):
            log.warning("run %s was not started by its worker task; dispatched it again", run_id)
            done += 1
    return done


def _task_may_be_waiting(broker: Any, dispatched_at: Any) -> bool:
    """Whether a task queued at `dispatched_at` may still wait, untaken, in the broker's queue.
    The database broker says exactly: an untaken task's `lock` is the time it was queued (a
    cluster that takes it moves `lock` past its retry window), so any untaken task queued
    before `dispatched_at` + DISPATCH_SLACK may be this one. Redis keeps no times: any
    untaken task may be it."""
    from django_q.brokers.orm import ORM

    if isinstance(broker, ORM):
        queued_by = min(timezone.now(), dispatched_at + DISPATCH_SLACK)
        return bool(
            broker.get_connection().filter(key=broker.list_key, lock__lte=queued_by).exists()
        )
    return bool(broker.queue_size())


def execute_legacy(*, api_key: ApiKey, params: RunParams, request_hash: str = "") -> Run:
    """execute with agentRuntime: the ephemeral agent and run, queued on the worker."""
    run = run_create_ephemeral(
        api_key=api_key, params=params, status=RunStatus.QUEUED, request_hash=request_hash
    )
    return run_enqueue(run=run)


def run_await(*, run: Run, poll_s: float = 0.25) -> Run:
    """Waits for a run started by another request to end (a retried execute answers with it),
    at most until the run's own timeout has passed; reaps it if its executor is gone."""
    deadline = run.created_at + timedelta(seconds=settings.RUN_TIMEOUT_S + 30)
    while not run.is_terminal and timezone.now() < deadline:
        time.sleep(poll_s)
        run.refresh_from_db()
        if run_reap_if_lost(run=run):
            run.refresh_from_db()
    return run
