"""Run events: every status change and step, numbered per run, replayable as Server-Sent Events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from runs.models import Run, RunEvent, RunStep
from runs.outputs import event_output, status_event_data, step_event_data

TERMINAL_EVENTS = frozenset({"run.completed", "run.failed", "run.cancelled"})


def event_append(*, run_id: str, type: str, data: dict[str, Any]) -> RunEvent:
    """Appends an event with the run's next sequence number. The row lock taken by the counter
    update orders concurrent writers (the executor, a cancel, the reaper)."""
    with transaction.atomic():
        sequence = _next_sequence(run_id)
        payload = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
        return RunEvent.objects.create(run_id=run_id, sequence=sequence, type=type, data=payload)


def _next_sequence(run_id: str) -> int:
    """Increments and reads the run's event counter in one statement (UPDATE … RETURNING, which
    both SQLite ≥ 3.35 and PostgreSQL have)."""
    table = connection.ops.quote_name(Run._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET event_seq = event_seq + 1 WHERE id = %s RETURNING event_seq",
            [run_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Run.DoesNotExist(run_id)
    return int(row[0])


def status_event(run: Run, status: str, **extra: Any) -> RunEvent:
    data = status_event_data(run, status, **extra)
    return event_append(run_id=run.id, type=f"run.{status}", data=data)


def step_event(step: RunStep) -> RunEvent:
    return event_append(run_id=step.run_id, type="run.step", data=step_event_data(step))


def sse_format(event: RunEvent, *, retry_ms: int | None = None) -> str:
    data = json.dumps(event_output(event), cls=DjangoJSONEncoder)
    retry = f"retry: {retry_ms}\n" if retry_ms is not None else ""
    return f"{retry}id: {event.sequence}\nevent: {event.type}\ndata: {data}\n\n"


def sse_stream(
    *, run_id: str, after: int, poll_s: float, keepalive_s: float, max_s: float
) -> Iterator[str]:
    """Replays events after `after`, then follows new ones until the terminal event. A stream
    lives at most `max_s` (the client reconnects with Last-Event-ID), so an idle watcher never
    holds a server thread forever.

    Every frame a client sees carries JSON `data:` (SDK decoders turn any blank line into an
    event, and keep the last event id across them): the reconnect delay rides in the first
    event's frame, and keep-alives are a lone comment line that does not end an event."""
    started = last_sent = time.monotonic()
    retry_ms: int | None = int(poll_s * 1000) * 2
    while True:
        events = list(
            RunEvent.objects.filter(run_id=run_id, sequence__gt=after).order_by("sequence")[:500]
        )
        for event in events:
            yield sse_format(event, retry_ms=retry_ms)
            retry_ms = None
            after = event.sequence
            if event.type in TERMINAL_EVENTS:
                return
        now = time.monotonic()
        if events:
            last_sent = now
        elif now - last_sent >= keepalive_s:
            yield ": keep-alive\n"
            last_sent = now
        if now - started >= max_s:
            return
        time.sleep(poll_s)
