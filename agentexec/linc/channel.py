"""The linc side of the JSON-lines channel: stdout for protocol lines, stdin for host replies."""

from __future__ import annotations

import contextlib
import json
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~3 ms to import; only checkers need it
    from typing import Any, BinaryIO


class HostEOF(Exception):
    """The host closed stdin (or, over HTTP, refused us or could not be reached)."""


class Fatal(Exception):
    """Stop the run: reported to the host as {"type":"fatal","error":str(exc)}."""


# Log lines not yet sent home: a runtime that calls home has no stderr pipe to the host, so its
# channel sends them along with its next message. None: stderr is the host's log (stdio).
LOG_OUTBOX: list[str] | None = None


def log(message: str) -> None:
    """One short line on stderr (the sandbox's free-form log)."""
    line = f"linc: {message}\n"
    if LOG_OUTBOX is not None:
        LOG_OUTBOX.append(line)
    with contextlib.suppress(OSError):
        os.write(2, line.encode("utf-8", "replace"))


def _describe(obj: Any, limit: int = 200) -> str:
    text = json.dumps(obj, ensure_ascii=True)
    return text if len(text) <= limit else text[:limit] + "..."


class Channel:
    calls_home = False  # True: messages go over HTTP(S) to the host's broker

    def __init__(self, rfile: BinaryIO | None = None, wfd: int = 1) -> None:
        self._rfile = rfile if rfile is not None else sys.stdin.buffer
        self._wfd = wfd
        self._next_id = 0

    def send(self, obj: dict[str, Any]) -> None:
        # ASCII-only JSON: lone surrogates from decoded tool output can never break the line.
        data = (json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._wfd, view) :]

    def read(self) -> dict[str, Any]:
        line = self._rfile.readline()
        if not line:
            raise HostEOF
        try:
            obj = json.loads(line)
        except ValueError as exc:
            shown = line[:200].decode("utf-8", "replace").rstrip("\n")
            raise Fatal(f"invalid JSON from host: {exc}: {shown!r}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise Fatal(f"invalid host message (not an object with a type): {_describe(obj)}")
        return obj

    def request(self, obj: dict[str, Any], expected: tuple[str, ...]) -> dict[str, Any]:
        """Send a request with the next id; return the host's reply to that id."""
        self._next_id += 1
        rid = self._next_id
        self.send({"type": obj["type"], "id": rid, **obj})
        reply = self.read()
        if reply.get("id") != rid:
            raise Fatal(f"unexpected host message (waiting for id {rid}): {_describe(reply)}")
        if reply["type"] == "error":
            raise Fatal(f"{obj['type']} error: {reply.get('error', '(no error text)')}")
        if reply["type"] not in expected:
            wanted = " or ".join(expected)
            raise Fatal(f"unexpected host message (expected {wanted}): {_describe(reply)}")
        return reply
