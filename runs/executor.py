"""The host side of a run: boots the sandbox, serves the runtime's requests (model calls, host
tools, approvals for sandbox tools), records every step and usage entry as it happens, and always
ends the run — completed, failed with a clear error, or left cancelled."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings

from agentexec.llm import router
from agentexec.llm.base import ModelError, ModelNotRoutable, ModelRequest, ToolSchema
from agentexec.requestid import current_request_id
from agentexec.tenancy.models import ApiKey
from agentexec.tools import registry
from agentexec.tools.registry import Tool, ToolContext, ToolError, ToolResult
from runs import selectors, services
from runs.models import Run, RunStatus, StepSource, StepType
from sandboxes import services as sandbox_services
from sandboxes.base import ProtocolError, SandboxStartError, WallClockTimeout
from sandboxes.limits import SandboxStats
from sandboxes.models import Sandbox
from sandboxes.protocol import RunningSandbox

log = logging.getLogger(__name__)
T = TypeVar("T")

HEARTBEAT_S = 1.0  # also how often a cancel is noticed
NO_STATS = SandboxStats(
    exit_code=None,
    boot_ms=None,
    peak_memory_bytes=None,
    cpu_time_ms=None,
    oom_killed=False,
    timed_out=False,
)


class RunEnded(Exception):
    """The run must stop now; `status` and `error` say how it ends."""

    def __init__(self, status: str, error: str | None = None, output: str | None = None):
        super().__init__(error or status)
        self.status = status
        self.error = error
        self.output = output


def cap(text: str, limit: int) -> str:
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    head = data[: limit // 2].decode("utf-8", "ignore")
    tail = data[-limit // 2 :].decode("utf-8", "ignore")
    return f"{head}\n[... truncated {len(data) - limit} bytes ...]\n{tail}"


def system_prompt(run: Run) -> str:
    system = run.instructions or services.DEFAULT_INSTRUCTIONS
    if run.guidance:
        system += f"\n\nGuidance for this run:\n{run.guidance}"
    return system


@dataclass
class RunSession:
    run: Run
    tool_context: ToolContext
    tools: dict[str, Tool] = field(default_factory=dict)
    runner_log: list[str] = field(default_factory=list)
    sequence: int = 0
    tool_calls: int = 0
    created_object_ids: list[str] = field(default_factory=list)
    pending_local: dict[int, tuple[str, float]] = field(default_factory=dict)
    model_error: str | None = None
    last_output: str | None = None
    started: float = field(default_factory=time.monotonic)
    last_beat: float = field(default_factory=time.monotonic)

    def beat_if_due(self) -> None:
        """Records the heartbeat once a second; raises RunEnded when the run was cancelled or
        reaped meanwhile, so the caller kills the sandbox."""
        if time.monotonic() - self.last_beat < HEARTBEAT_S:
            return
        self.last_beat = time.monotonic()
        if not services.run_heartbeat(run_id=self.run.id):
            self.note("run is no longer running (cancelled); killing the sandbox")
            raise RunEnded(RunStatus.CANCELLED)

    def wait_beating(self, fn: Callable[[], T]) -> T:
        """Runs a slow call (a model request: HTTP only, no database) in a thread while this
        thread keeps the heartbeat and notices a cancel."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{self.run.id}")
        try:
            future = pool.submit(fn)
            while True:
                try:
                    return future.result(timeout=HEARTBEAT_S)
                except FutureTimeout:
                    self.beat_if_due()
        finally:
            pool.shutdown(wait=False)  # a cancelled run does not wait for its model call

    # -- bookkeeping ------------------------------------------------------------------------
    def note(self, line: str) -> None:
        self.runner_log.append(f"[{time.monotonic() - self.started:7.3f}s] {line}")

    def step(self, type: str, **fields: Any) -> None:
        self.sequence += 1
        services.step_record(run=self.run, sequence=self.sequence, type=type, **fields)

    # -- protocol handlers --------------------------------------------------------------------
    def on_model(self, proc: RunningSandbox, msg: dict[str, Any]) -> None:
        request = ModelRequest(
            model=self.run.model,
            system=system_prompt(self.run),
            messages=msg.get("messages") or [],
            tools=[ToolSchema(t.name, t.description, t.input_schema) for t in self.tools.values()],
            max_tokens=settings.LLM_MAX_TOKENS,
            deadline=proc.deadline,
        )
        t0 = time.monotonic()
        try:
            selected = router.route(self.run.model)
            provider = router.provider_for(selected)
            if selected.provider_name == "local":
                reply = provider.complete(request)  # instant and offline: no thread needed
            else:
                reply = self.wait_beating(lambda: provider.complete(request))
        except (ModelError, ModelNotRoutable) as exc:
            self.model_error = f"model error ({self.run.model}): {exc}"
            self.note(self.model_error)
            proc.send({"type": "error", "id": msg.get("id"), "error": str(exc)})
            return
        duration_ms = int((time.monotonic() - t0) * 1000)
        services.usage_record_llm(run=self.run, reply=reply, duration_ms=duration_ms)
        if reply.text:
            kind = StepType.THINKING if reply.tool_uses else StepType.OUTPUT
            self.step(kind, content=reply.text, duration_ms=duration_ms)
            self.last_output = reply.text if kind == StepType.OUTPUT else None
        proc.send(
            {
                "type": "model_result",
                "id": msg.get("id"),
                "message": {"content": reply.content, "stop_reason": reply.stop_reason},
            }
        )

    def on_tool(self, proc: RunningSandbox, msg: dict[str, Any]) -> None:
        name, tool_input = str(msg.get("name")), msg.get("input")
        # A `casedev` command in the sandbox: same checks, its steps marked as the CLI's.
        source = StepSource.CLI if msg.get("source") == "cli" else StepSource.AGENT
        self.tool_calls += 1
        self.step(StepType.TOOL_CALL, tool_name=name, tool_input=tool_input, source=source)
        tool = self.tools.get(name)
        if tool is None:
            allowed = ", ".join(sorted(self.tools)) or "none"
            result = ToolResult(
                f"tool {name!r} is not enabled for this run (enabled: {allowed})", True
            )
        elif not isinstance(tool_input, dict):
            result = ToolResult(f"tool {name!r}: input must be a JSON object", True)
        elif tool.location == "sandbox" and source == StepSource.CLI:
            result = ToolResult(f"tool {name!r} runs in the sandbox, not through the CLI", True)
        elif tool.location == "sandbox":
            self.pending_local[msg["id"]] = (name, time.monotonic())
            proc.send({"type": "tool_approved", "id": msg["id"]})
            return
        else:
            result = self.call_host_tool(tool, tool_input, source)
        self.step(
            StepType.TOOL_RESULT,
            tool_name=name,
            tool_output=_jsonable(result.content),
            is_error=result.is_error,
            duration_ms=result.metadata.pop("_durationMs", None),
            source=source,
        )
        proc.send(
            {
                "type": "tool_result",
                "id": msg["id"],
                "content": result.text(),
                "is_error": result.is_error,
            }
        )

    def call_host_tool(
        self, tool: Tool, tool_input: dict[str, Any], source: str = StepSource.AGENT
    ) -> ToolResult:
        assert tool.handler is not None
        t0 = time.monotonic()
        try:
            result = tool.handler(self.tool_context, tool_input)
        except ToolError as exc:
            result = ToolResult(str(exc), is_error=True, status_code=400)
        except Exception:
            log.exception("host tool %s failed in run %s", tool.name, self.run.id)
            result = ToolResult(
                f"tool {tool.name!r} failed with an internal error", True, status_code=500
            )
        duration_ms = int((time.monotonic() - t0) * 1000)
        created = result.metadata.get("createdObjectIds") or []
        self.created_object_ids.extend(str(i) for i in created)
        services.usage_record_api(
            run=self.run,
            tool_name=tool.name,
            service=result.service,
            endpoint=result.endpoint,
            method=result.method,
            status_code=result.status_code,
            metadata={"durationMs": duration_ms, "isError": result.is_error, "source": source},
        )
        result.metadata["_durationMs"] = duration_ms
        return result

    def on_tool_done(self, msg: dict[str, Any]) -> None:
        name, t0 = self.pending_local.pop(msg.get("id"), ("unknown", time.monotonic()))  # type: ignore[arg-type]
        content = msg.get("content", "")
        self.step(
            StepType.TOOL_RESULT,
            tool_name=name,
            tool_output=_jsonable(content),
            is_error=bool(msg.get("is_error")),
            duration_ms=msg.get("durationMs") or int((time.monotonic() - t0) * 1000),
        )

    # -- the loop ---------------------------------------------------------------------------
    def spec(self, proc: RunningSandbox) -> dict[str, Any]:
        return {
            "type": "spec",
            "runId": self.run.id,
            "model": self.run.model,
            "prompt": self.run.prompt,
            "tools": [t.schema() for t in self.tools.values()],
            "maxSteps": settings.MAX_STEPS,
            "timeoutS": max(0.0, proc.deadline - time.monotonic()),
            "shellTimeoutS": settings.SHELL_TIMEOUT_S,
            "outputCapBytes": settings.TOOL_OUTPUT_CAP_BYTES,
        }

    def serve(self, proc: RunningSandbox, sandbox: Sandbox) -> RunEnded:
        """Serves the runtime until the run ends (RunEnded says how)."""
        try:
            while True:
                self.beat_if_due()
                msg = self.next_message(proc)
                if msg is not None:
                    self.dispatch(proc, sandbox, msg)
        except RunEnded as ended:
            return ended
        except WallClockTimeout:  # a reply came back after the deadline (a slow model call)
            return timed_out()

    def next_message(self, proc: RunningSandbox) -> dict[str, Any] | None:
        """The runtime's next line, or None after a heartbeat's wait."""
        try:
            msg = proc.recv(timeout=min(HEARTBEAT_S, max(0.0, proc.deadline - time.monotonic())))
        except TimeoutError:
            if time.monotonic() < proc.deadline:
                return None
            raise timed_out() from None
        if msg is None:
            raise RunEnded(RunStatus.FAILED, self.model_error or "sandbox exited unexpectedly")
        return msg

    def dispatch(self, proc: RunningSandbox, sandbox: Sandbox, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "ready":
            boot_ms = proc.boot_ms or 0  # spawn -> this line, as the provider measured it
            sandbox_services.sandbox_booted(sandbox=sandbox, boot_ms=boot_ms)
            self.note(f"runtime ready (pid {msg.get('pid')} in sandbox) after {boot_ms} ms")
            proc.send(self.spec(proc))
        elif kind == "model":
            self.on_model(proc, msg)
        elif kind == "tool":
            self.on_tool(proc, msg)
        elif kind == "tool_done":
            self.on_tool_done(msg)
        elif kind == "result":
            output = str(msg.get("output", ""))
            if output != self.last_output:  # the model's final text is already a step
                self.step(StepType.OUTPUT, content=output)
            raise RunEnded(RunStatus.COMPLETED, output=output)
        elif kind == "fatal":
            raise RunEnded(RunStatus.FAILED, self.model_error or str(msg.get("error")))
        else:
            raise RunEnded(
                RunStatus.FAILED, f"sandbox protocol error: unknown message type {kind!r}"
            )


def timed_out() -> RunEnded:
    return RunEnded(
        RunStatus.FAILED, f"timeout: the run exceeded RUN_TIMEOUT_S={settings.RUN_TIMEOUT_S:g}s"
    )


def _jsonable(content: Any) -> Any:
    """Tool output as JSON when it is JSON text, else the text itself."""
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def execute(*, api_key: ApiKey, params: services.RunParams, request_hash: str = "") -> Run:
    """POST /agent/v1/execute: create the run and execute it in this thread."""
    run = services.run_create_ephemeral(
        api_key=api_key, params=params, status=RunStatus.RUNNING, request_hash=request_hash
    )
    run_execute(run)
    run.refresh_from_db()
    return run


def run_execute(run: Run, *, queued: bool = False) -> None:
    """Executes a run that is already `running` (`queued`: taken from the worker's queue, so
    LEGACY_SANDBOX_PROVIDER runs it). Never raises; the run always ends."""
    session = RunSession(run=run, tool_context=selectors.tool_context(run))
    session.tools = {
        t.name: t for t in registry.effective_tools(run.enabled_tools, run.disabled_tools)
    }
    provider = sandbox_services.provider(queued=queued)
    sandbox = sandbox_services.sandbox_create(run=run, provider_name=provider.name)
    Run.objects.filter(id=run.id).update(
        provider=provider.name, runtime_id=sandbox.id, runtime_state="running"
    )
    limits = sandbox_services.limits_for(run)
    if request_id := current_request_id():
        session.note(f"started by request {request_id}")
    session.note(
        f"sandbox {sandbox.id}: provider {provider.name}, cpu {limits.cpu}, "
        f"memory {limits.memory_mib} MiB, "
        f"timeout {limits.timeout_s:g}s, tools: {', '.join(session.tools) or 'none'}"
    )
    proc: RunningSandbox | None = None
    try:
        proc = provider.start(runtime_id=sandbox.id, limits=limits)
        sandbox_services.sandbox_started(sandbox=sandbox, process=proc)
        if sandbox.remote_id:  # a remote provider's own id for the sandbox
            Run.objects.filter(id=run.id).update(runtime_id=sandbox.remote_id)
        ended = session.serve(proc, sandbox)
    except SandboxStartError as exc:
        ended = RunEnded(RunStatus.FAILED, f"sandbox failed to start: {exc}")
    except ProtocolError as exc:
        ended = RunEnded(RunStatus.FAILED, f"sandbox protocol error: {exc}")
    except Exception as exc:
        log.exception("run %s crashed on the host", run.id)
        ended = RunEnded(RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}")
    try:
        finish(session, sandbox, proc, ended)
    except Exception as exc:  # the run must end even if recording its end failed
        log.exception("run %s: recording its end failed", run.id)
        if proc is not None:
            proc.kill()
        services.run_fail(
            run=run,
            error=f"internal error while ending the run: {type(exc).__name__}",
            expected_status=RunStatus.RUNNING,
        )


def finish(
    session: RunSession, sandbox: Sandbox, proc: RunningSandbox | None, ended: RunEnded
) -> None:
    run = session.run
    linc_log = ""
    if proc is not None:
        if ended.status == RunStatus.COMPLETED:
            proc.wait(timeout=2.0)  # the runtime exits by itself right after its result
        else:
            proc.kill()
        stats = proc.close()
        linc_log = proc.stderr_text()
        for line in proc.notes:
            session.note(line)
        session.note(
            f"sandbox ended: exit code {stats.exit_code}, peak memory {stats.peak_memory_bytes}, "
            f"cpu {stats.cpu_time_ms} ms, boot {stats.boot_ms} ms"
        )
        if stats.oom_killed and ended.status != RunStatus.CANCELLED:
            ended = RunEnded(
                RunStatus.FAILED,
                "out of memory: a process in the sandbox exceeded "
                f"memoryMiB={run.sandbox_memory_mib}",
            )
        sandbox_services.sandbox_end(
            sandbox=sandbox, stats=stats, notes=proc.notes, error=ended.status == RunStatus.FAILED
        )
    else:
        sandbox_services.sandbox_end(sandbox=sandbox, stats=NO_STATS, notes=[], error=True)
    if ended.error:
        session.note(f"run {ended.status}: {ended.error}")
    cap_bytes = settings.RUN_LOG_CAP_BYTES
    services.run_finish(
        run=run,
        status=ended.status,
        output=ended.output,
        error=ended.error,
        logs_runner=cap("\n".join(session.runner_log), cap_bytes),
        logs_linc=cap(linc_log, cap_bytes),
        output_object_ids=session.created_object_ids,
        tool_calls=session.tool_calls,
    )
