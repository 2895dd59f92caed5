"""The agent loop inside the sandbox: model turns and tool calls brokered by the host.

The host owns the model and every credential; linc only sees messages and runs the
sandbox-local tools the host approves. Exit codes: 0 after a result, 1 after a fatal line or
when the host goes away.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from agentexec.linc import DEFAULT_WORKSPACE, WORKSPACE_ENV
from agentexec.linc.channel import Channel, Fatal, HostEOF, log
from agentexec.linc.cliserver import CliServer
from agentexec.linc.local import Workspace, run_local

# Imports are kept to what the loop needs: everything here loads while the host waits for the
# first model request (typing, dataclasses and traceback alone cost ~15 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Spec:
    def __init__(self, msg: dict[str, Any]) -> None:
        self.run_id: str = _field(msg, "runId", str)
        self.model: str = _field(msg, "model", str)
        self.tools: list[dict[str, Any]] = _field(msg, "tools", list)
        self.max_steps: int = _field(msg, "maxSteps", int)
        self.timeout_s = float(_field(msg, "timeoutS", (int, float)))
        self.shell_timeout_s: int = _field(msg, "shellTimeoutS", int)
        self.output_cap: int = _field(msg, "outputCapBytes", int)
        self.prompt: str = _field(msg, "prompt", str)


def _field(msg: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = msg.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Fatal(
            f"invalid spec: field {key!r} is missing or not {getattr(kind, '__name__', kind)}"
        )
    return value


def parse_spec(msg: dict[str, Any]) -> Spec:
    if msg.get("type") != "spec":
        raise Fatal(f"expected a spec message first, got type {msg.get('type')!r}")
    spec = Spec(msg)
    if spec.max_steps < 1 or spec.shell_timeout_s < 1 or spec.output_cap < 1:
        raise Fatal("invalid spec: maxSteps, shellTimeoutS and outputCapBytes must be >= 1")
    return spec


def _workspace(spec: Spec, started: float) -> Workspace:
    root = os.path.realpath(os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE)
    if not os.path.isdir(root):
        raise Fatal(f"workspace {root} does not exist")
    memory = os.environ.get("LINC_MEMORY_MIB", "")
    return Workspace(
        root=root,
        shell_timeout_s=spec.shell_timeout_s,
        output_cap=spec.output_cap,
        deadline=started + spec.timeout_s,
        memory_limit_mib=int(memory) if memory.isdigit() else None,
    )


def _model_message(reply: dict[str, Any]) -> list[dict[str, Any]]:
    message = reply.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise Fatal("invalid model_result: message.content must be a list of objects")
    return content


class Agent:
    def __init__(self, chan: Channel, spec: Spec, ws: Workspace) -> None:
        self.chan = chan
        self.spec = spec
        self.ws = ws
        self.messages: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "text", "text": spec.prompt}]}
        ]

    def run(self) -> str:
        for turn in range(1, self.spec.max_steps + 1):
            log(f"model turn {turn}")
            reply = self.chan.request(
                {"type": "model", "messages": self.messages}, ("model_result",)
            )
            blocks = _model_message(reply)
            self.messages.append({"role": "assistant", "content": blocks})
            uses = [b for b in blocks if b.get("type") == "tool_use"]
            if not uses:
                return "".join(
                    b["text"]
                    for b in blocks
                    if b.get("type") == "text" and isinstance(b.get("text"), str)
                )
            if turn == self.spec.max_steps:
                break  # the results could never reach the model: stop before running tools
            results = [self.call_tool(block) for block in uses]
            self.messages.append({"role": "user", "content": results})
        raise Fatal(f"step limit reached: maxSteps={self.spec.max_steps}")

    def call_tool(self, block: dict[str, Any]) -> dict[str, Any]:
        use_id, name, args = block.get("id"), block.get("name"), block.get("input")
        if not isinstance(use_id, str) or not isinstance(name, str):
            raise Fatal("invalid tool_use block: id and name must be strings")
        if isinstance(args, dict):
            content, is_error = self.broker(use_id, name, args)
        else:
            log(f"tool {name}: input is not an object, refused")
            content, is_error = "tool input must be a JSON object", True
        return {
            "type": "tool_result",
            "tool_use_id": use_id,
            "content": content,
            "is_error": is_error,
        }

    def broker(self, use_id: str, name: str, args: dict[str, Any]) -> tuple[str, bool]:
        request = {"type": "tool", "toolUseId": use_id, "name": name, "input": args}
        reply = self.chan.request(request, ("tool_result", "tool_approved"))
        if reply["type"] == "tool_approved":
            return self.run_approved(reply["id"], name, args)
        content, is_error = reply.get("content"), reply.get("is_error", False)
        if not isinstance(content, str) or not isinstance(is_error, bool):
            raise Fatal("invalid tool_result: content must be a string and is_error a boolean")
        log(f"{name} (host) is_error={str(is_error).lower()}")
        return content, is_error

    def run_approved(self, rid: int, name: str, args: dict[str, Any]) -> tuple[str, bool]:
        started = time.monotonic()
        outcome = run_local(name, args, self.ws)
        ms = int((time.monotonic() - started) * 1000)
        done: dict[str, Any] = {"type": "tool_done", "id": rid, "content": outcome.content}
        done.update(is_error=outcome.is_error, durationMs=ms)
        if outcome.suspected_oom:
            done["suspectedOom"] = True  # extension: lets the host flag OOM without cgroup data
        self.chan.send(done)
        log(f"{name} {_summary(outcome.content, outcome.is_error)} in {ms}ms")
        return outcome.content, outcome.is_error


def _summary(content: str, is_error: bool) -> str:
    if is_error:
        return "error: " + content[:120].replace("\n", " ")
    marker = '{"exitCode": '
    if content.startswith(marker):
        return "exit=" + content[len(marker) :].split(",", 1)[0]
    return "ok"


def _fatal(chan: Channel, error: str) -> int:
    log(f"fatal: {error}")
    with contextlib.suppress(OSError):
        chan.send({"type": "fatal", "error": error})
    return 1


def _serve(chan: Channel) -> int:
    started = time.monotonic()
    if chan.calls_home:  # over stdio, __main__ has printed it already
        chan.send({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    spec = parse_spec(chan.read())
    log(f"spec run={spec.run_id} model={spec.model} tools={len(spec.tools)}")
    ws = _workspace(spec, started)
    ws.make_cli = lambda: CliServer(chan)
    try:
        output = Agent(chan, spec, ws).run()
    finally:
        ws.close()
    log(f"result ({len(output)} chars)")
    chan.send({"type": "result", "output": output})
    return 0


def _channel() -> Channel:
    if os.environ.get("LINC_BROKER_URL") and os.environ.get("LINC_TOKEN"):
        # Only then: http.client and its imports cost ~15 ms of every stdio boot.
        from agentexec.linc.http_channel import HttpChannel

        return HttpChannel.from_env()
    return Channel()


def main() -> int:
    """Run one agent to completion; the "ready" line has already been printed by __main__."""
    try:
        chan = _channel()  # first: a channel that calls home sends the log lines along
    except Fatal as exc:
        log(f"fatal: {exc}")
        return 1
    log("booted, calling home" if chan.calls_home else "booted")
    try:
        return _serve(chan)
    except HostEOF as exc:
        log(f"{str(exc) or 'stdin closed by the host'}; exiting")
        return 1
    except Fatal as exc:
        return _fatal(chan, str(exc))
    except MemoryError as exc:
        return _fatal(chan, f"out of memory: {exc or 'MemoryError'}")
    except BrokenPipeError:
        log("stdout closed by the host; exiting")
        return 1
    except Exception as exc:
        import traceback  # only on this path: it costs ~7 ms to import

        traceback.print_exc(file=sys.stderr)
        return _fatal(chan, f"{type(exc).__name__}: {exc}")
