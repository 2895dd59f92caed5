"""The relay: a runtime that calls home over HTTPS, seen by the executor as a sandbox process.

A remote runtime cannot speak stdio to us, so it POSTs each protocol message to the broker
endpoint (sandboxes.broker) and gets the host's reply in the response. The relay turns those
requests back into the `recv(timeout)` / `send(msg)` stream of ``SandboxProcess``, so the same
RunSession (every check, every step, every usage entry) serves both.

The broker request may land in any web process while the executor runs in a worker, so messages
cross processes through a transport: Redis lists when REDIS_URL is set, else the RelayMessage
table polled every RELAY_POLL_S. Each message carries the runtime's sequence number: `up`
messages are stored once per seq (a retried post is not handled twice) and read in seq order;
the host's reply to up message N is stored as `down` message N, which a retried post reads again.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from sandboxes import callhome
from sandboxes.base import CappedLog, ProtocolError, WallClockTimeout
from sandboxes.limits import SandboxLimits, SandboxStats
from sandboxes.models import RelayDirection, RelayMessage, Sandbox

# Messages the host answers; the others (tool_done, result, fatal, log) are only recorded.
REPLY_TYPES = frozenset({"ready", "model", "tool"})
LOG_FIELD = "lincLog"  # log lines a runtime sends along with a message (it has no stderr pipe)
LOG_CAP_BYTES = 64 * 1024
REMOTE_EXIT_CHECK_S = 0.25  # how often recv() looks whether the remote runtime is gone
LIVENESS_CHECK_S = 1.0  # how often a waiting broker request checks that its token still holds


class Transport(Protocol):
    def put(self, sandbox_id: str, direction: str, seq: int, msg: dict[str, Any]) -> bool:
        """Store message `seq` of a channel; False when that seq was already there."""
        ...

    def get(
        self, sandbox_id: str, direction: str, seq: int, timeout: float
    ) -> dict[str, Any] | None:
        """Message `seq` of a channel (left in place), waiting up to `timeout` s for it."""
        ...

    def discard(self, sandbox_id: str) -> None:
        """Forget every message of a sandbox."""
        ...


class DbTransport:
    """The RelayMessage table, polled: works wherever the database is shared."""

    def __init__(self, poll_s: float | None = None) -> None:
        self.poll_s = poll_s if poll_s is not None else settings.RELAY_POLL_S

    def put(self, sandbox_id: str, direction: str, seq: int, msg: dict[str, Any]) -> bool:
        try:
            with transaction.atomic():
                RelayMessage.objects.create(
                    sandbox_id=sandbox_id, direction=direction, seq=seq, body=msg
                )
        except IntegrityError:
            return False
        return True

    def get(
        self, sandbox_id: str, direction: str, seq: int, timeout: float
    ) -> dict[str, Any] | None:
        end = time.monotonic() + timeout
        rows = RelayMessage.objects.filter(sandbox_id=sandbox_id, direction=direction, seq=seq)
        while True:
            body = rows.values_list("body", flat=True).first()
            if body is not None:
                return body  # type: ignore[no-any-return]
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(self.poll_s, remaining))

    def discard(self, sandbox_id: str) -> None:
        RelayMessage.objects.filter(sandbox_id=sandbox_id).delete()


class RedisTransport:
    """One Redis list per message: a blocking read that leaves the message in place
    (BLMOVE from a list to itself), a SET NX marker so a seq is stored once."""

    PREFIX = "agentexec:relay"

    def __init__(self, url: str, ttl_s: int | None = None) -> None:
        import redis  # only with REDIS_URL: the package is not needed otherwise

        self.client = redis.Redis.from_url(url)
        self.ttl_s = ttl_s or int(settings.RUN_TIMEOUT_S) + 600

    def _key(self, sandbox_id: str, direction: str, seq: int) -> str:
        return f"{self.PREFIX}:{sandbox_id}:{direction}:{seq}"

    def put(self, sandbox_id: str, direction: str, seq: int, msg: dict[str, Any]) -> bool:
        key = self._key(sandbox_id, direction, seq)
        if not self.client.set(f"{key}:seen", 1, nx=True, ex=self.ttl_s):
            return False
        pipe = self.client.pipeline()
        pipe.rpush(key, json.dumps(msg, separators=(",", ":")))
        pipe.expire(key, self.ttl_s)
        pipe.execute()
        return True

    def get(
        self, sandbox_id: str, direction: str, seq: int, timeout: float
    ) -> dict[str, Any] | None:
        key = self._key(sandbox_id, direction, seq)
        raw: Any
        if timeout <= 0:  # 0 would block forever in Redis
            raw = self.client.lindex(key, 0)
        else:  # Redis takes fractional seconds; redis-py's hint says int
            raw = self.client.blmove(key, key, max(timeout, 0.01), "RIGHT", "LEFT")  # type: ignore[arg-type]
        return json.loads(raw) if raw is not None else None

    def discard(self, sandbox_id: str) -> None:
        keys = list(self.client.scan_iter(f"{self.PREFIX}:{sandbox_id}:*", count=500))
        if keys:
            self.client.delete(*keys)


@cache
def _redis_transport(url: str) -> RedisTransport:
    return RedisTransport(url)


def default_transport() -> Transport:
    if settings.REDIS_URL:
        return _redis_transport(settings.REDIS_URL)
    return DbTransport()


# -- the broker side (the endpoint's one service) -----------------------------------------------


def relay_post(
    *,
    sandbox: Sandbox,
    seq: int,
    msg: dict[str, Any],
    wait_s: float,
    transport: Transport | None = None,
) -> dict[str, Any] | None:
    """Hands message `seq` to the run's executor (once, however often it is posted) and waits
    up to `wait_s` for the host's reply. Returns the reply, {} when the message needs none, or
    None when the reply is not there yet (the runtime posts the same seq again)."""
    transport = transport or default_transport()
    transport.put(sandbox.id, RelayDirection.UP, seq, msg)
    if msg.get("type") not in REPLY_TYPES:
        return {}
    end = time.monotonic() + wait_s
    while True:
        remaining = end - time.monotonic()
        reply = transport.get(
            sandbox.id, RelayDirection.DOWN, seq, timeout=max(0.0, min(LIVENESS_CHECK_S, remaining))
        )
        if reply is not None:
            return reply
        if remaining <= LIVENESS_CHECK_S:
            return None
        live = Sandbox.objects.filter(
            id=sandbox.id, callhome_token_hash=sandbox.callhome_token_hash
        ).exclude(callhome_token_hash="")
        if not live.exists():
            raise callhome.TokenRefused("runtime token was revoked (the run has ended)")


# -- the executor side -------------------------------------------------------------------------


class RemoteRuntime(Protocol):
    """The provider's handle on the runtime it launched (a remote sandbox, a local process)."""

    id: str

    def wait(self, timeout: float) -> int | None:
        """Its exit code once it has exited, else None after `timeout` s."""
        ...

    def kill(self) -> None: ...

    def log_text(self) -> str:
        """What the provider captured of its output."""
        ...


class RelayProcess:
    """A runtime that calls home, with SandboxProcess's public surface (the executor's view).

    Issues the run's token when created; `env` is what the provider gives the runtime. The
    provider then launches it and `attach()`es its handle; `kill()` and `close()` revoke the
    token, so nothing the runtime sends after the run's end is accepted.
    """

    pid: int | None = None  # nothing to signal on this host

    def __init__(
        self, *, sandbox: Sandbox, limits: SandboxLimits, transport: Transport | None = None
    ) -> None:
        self.runtime_id = sandbox.id
        self.notes: list[str] = []
        self.transport = transport or default_transport()
        self.spawned_at = time.monotonic()
        self._limits = limits
        self._deadline = self.spawned_at + limits.timeout_s
        token = callhome.token_issue(sandbox=sandbox, expires_at=time.time() + limits.timeout_s)
        self.env = callhome.runtime_env(sandbox_id=sandbox.id, token=token)
        self._remote: RemoteRuntime | None = None
        self._next_seq = 1
        self._reply_seq: int | None = None
        self._first_at: float | None = None
        self._log = CappedLog(LOG_CAP_BYTES)
        self._eof = False
        self._killed = False
        self._timed_out = False
        self._oom = False
        self._exit_code: int | None = None
        self._stats: SandboxStats | None = None
        self._lock = threading.Lock()

    def attach(self, remote: RemoteRuntime) -> None:
        self._remote = remote
        self.notes.append(f"runtime {remote.id} calls home through the relay")

    # -- the SandboxProcess surface ----------------------------------------------------------

    @property
    def deadline(self) -> float:
        return self._deadline

    @property
    def boot_ms(self) -> int | None:
        if self._first_at is None:
            return None
        return int((self._first_at - self.spawned_at) * 1000)

    def recv(self, timeout: float) -> dict[str, Any] | None:
        """The runtime's next message in seq order; None once it has exited without more."""
        if self._eof:
            return None
        end = min(time.monotonic() + timeout, self._deadline)
        while True:
            remaining = end - time.monotonic()
            wait = min(remaining, REMOTE_EXIT_CHECK_S) if self._remote else remaining
            msg = self.transport.get(
                self.runtime_id, RelayDirection.UP, self._next_seq, max(0, wait)
            )
            if msg is None and self._remote is not None and self._remote.wait(0) is not None:
                # One more look: its last message may have landed just before it exited.
                msg = self.transport.get(self.runtime_id, RelayDirection.UP, self._next_seq, 0)
                if msg is None:
                    self._eof = True
                    return None
            if msg is not None:
                msg = self._accept(msg)
                if msg is not None:
                    return msg
                continue  # a log message: nothing for the executor
            if time.monotonic() >= end:
                if time.monotonic() >= self._deadline:
                    self._timed_out = True
                    raise WallClockTimeout(self._timeout_text())
                raise TimeoutError(f"no message from the runtime within {timeout:g}s")

    def send(self, obj: dict[str, Any]) -> None:
        """The host's reply to the runtime's last request."""
        if self._stats is not None or self._killed:
            raise BrokenPipeError("the sandbox is closed")
        if time.monotonic() >= self._deadline:
            self._timed_out = True
            raise WallClockTimeout(self._timeout_text())
        if self._reply_seq is None:
            raise ProtocolError(f"no runtime request to answer with {obj.get('type')!r}")
        seq, self._reply_seq = self._reply_seq, None
        self.transport.put(self.runtime_id, RelayDirection.DOWN, seq, obj)

    def kill(self) -> None:
        """Revoke the token and stop the runtime. Idempotent; safe from any thread."""
        self._killed = True
        if time.monotonic() >= self._deadline and self._exit_code is None:
            self._timed_out = True
        callhome.token_revoke(sandbox_id=self.runtime_id)
        if self._remote is not None:
            self._remote.kill()

    def wait(self, timeout: float) -> int | None:
        if self._remote is None:
            return None
        code = self._remote.wait(timeout)
        if code is not None:
            self._exit_code = code
        return code

    def close(self) -> SandboxStats:
        with self._lock:
            if self._stats is not None:
                return self._stats
            if self.wait(0) is None:
                self.kill()
                self.wait(10.0)
            callhome.token_revoke(sandbox_id=self.runtime_id)
            with contextlib.suppress(Exception):  # leftovers expire (Redis) or cascade (rows)
                self.transport.discard(self.runtime_id)
            self._stats = SandboxStats(
                exit_code=self._exit_code,
                boot_ms=self.boot_ms,
                peak_memory_bytes=None,
                cpu_time_ms=None,
                oom_killed=self._oom,
                timed_out=self._timed_out,
            )
            return self._stats

    def stderr_text(self) -> str:
        """The runtime's log: what the provider captured of its output as it arrived (all of
        it, a crash's traceback too), else the lines it sent home."""
        captured = self._remote.log_text() if self._remote is not None else ""
        return captured or self._log.text()

    # -- internals ---------------------------------------------------------------------------

    def _accept(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        if self._first_at is None:
            self._first_at = time.monotonic()
        lines = msg.pop(LOG_FIELD, None)
        if isinstance(lines, str):
            self._log.add(lines)
        kind = msg.get("type")
        if kind == "log":
            self._log.add(str(msg.get("text", "")))
            return None
        if not isinstance(kind, str):
            raise ProtocolError("runtime sent a message without a type")
        if kind in REPLY_TYPES:
            self._reply_seq = seq
        error = msg.get("error")
        oom_fatal = kind == "fatal" and isinstance(error, str) and error.startswith("out of memory")
        if oom_fatal or (kind == "tool_done" and msg.get("suspectedOom") is True):
            self._oom = True
        return msg

    def _timeout_text(self) -> str:
        return f"sandbox wall-clock timeout ({self._limits.timeout_s:g}s) reached"
