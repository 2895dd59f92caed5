"""The channel of a runtime that calls home: each protocol message is one HTTPS POST to the
host's broker, and the host's reply (if the message has one) is that POST's response.

Used when LINC_BROKER_URL and LINC_TOKEN are set (a remote sandbox); otherwise linc speaks
stdio. Same messages, same order. Every POST carries a sequence number (X-Linc-Seq): a POST
that failed in transit is sent again with the same number and the host handles it once.
TLS is verified against the system's roots, or LINC_CA_FILE when set.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from urllib.parse import urlsplit

from agentexec.linc import channel
from agentexec.linc.channel import Channel, Fatal, HostEOF, log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BROKER_URL_ENV = "LINC_BROKER_URL"
TOKEN_ENV = "LINC_TOKEN"
CA_FILE_ENV = "LINC_CA_FILE"
LOG_FIELD = "lincLog"
# Above the host's long poll (RELAY_LONG_POLL_S, 25 s by default): the host answers 202 first.
RESPONSE_TIMEOUT_S = 90.0
RETRY_DELAYS_S = (0.05, 0.2, 0.5, 1.0, 2.0, 4.0)
_TRANSIENT_STATUSES = (429, 500, 502, 503, 504)


class HttpChannel(Channel):
    calls_home = True

    def __init__(self, url: str, token: str, *, cafile: str | None = None) -> None:
        super().__init__(rfile=None, wfd=-1)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Fatal(f"{BROKER_URL_ENV} is not an http(s) URL: {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._cafile = cafile
        self._conn: http.client.HTTPConnection | None = None
        self._seq = 0
        self._replies: list[dict[str, Any]] = []
        channel.LOG_OUTBOX = []

    @classmethod
    def from_env(cls) -> HttpChannel:
        """From the environment, which then forgets the token: the commands the agent runs
        inherit the runtime's environment and have no business with it."""
        env = os.environ
        url, token = env.pop(BROKER_URL_ENV), env.pop(TOKEN_ENV)
        return cls(url, token, cafile=env.get(CA_FILE_ENV) or None)

    # -- the Channel interface ------------------------------------------------------------------

    def send(self, obj: dict[str, Any]) -> None:
        outbox = channel.LOG_OUTBOX
        if outbox:
            obj = {**obj, LOG_FIELD: "".join(outbox)}
            outbox.clear()
        data = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode()
        self._seq += 1
        reply = self._post(self._seq, data)
        if reply is not None:
            self._replies.append(reply)

    def read(self) -> dict[str, Any]:
        if not self._replies:
            raise Fatal("the host sent no reply to read")
        return self._replies.pop(0)

    # -- HTTP --------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                import ssl  # only over https: it costs ~10 ms to import

                context = ssl.create_default_context(cafile=self._cafile)
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=RESPONSE_TIMEOUT_S, context=context
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=RESPONSE_TIMEOUT_S
                )
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, seq: int, data: bytes) -> dict[str, Any] | None:
        """POST until the host answers for `seq`: its reply, or None (204: no reply)."""
        failures = 0
        while True:
            try:
                status, body = self._exchange(seq, data)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                status, body = 0, f"{type(exc).__name__}: {exc}".encode()
            if status == 200:
                return self._decode(body)
            if status == 204:
                return None
            if status == 202:  # the reply is not ready yet: ask again for the same seq
                failures = 0
                continue
            if status and status not in _TRANSIENT_STATUSES:
                text = body[:300].decode("utf-8", "replace")
                raise HostEOF(f"the host refused message {seq} (HTTP {status}): {text}")
            if failures >= len(RETRY_DELAYS_S):
                raise HostEOF(f"the host is unreachable: {body[:300].decode('utf-8', 'replace')}")
            log(f"message {seq}: {body[:120].decode('utf-8', 'replace')}; retrying")
            time.sleep(RETRY_DELAYS_S[failures])
            failures += 1

    def _exchange(self, seq: int, data: bytes) -> tuple[int, bytes]:
        conn = self._connection()
        conn.request(
            "POST", self._path, body=data, headers={**self._headers, "X-Linc-Seq": str(seq)}
        )
        response = conn.getresponse()
        body = response.read()
        if response.will_close:
            self._drop_connection()
        return response.status, body

    @staticmethod
    def _decode(body: bytes) -> dict[str, Any]:
        try:
            obj = json.loads(body)
        except ValueError as exc:
            raise Fatal(f"invalid JSON from host: {exc}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise Fatal("invalid host message (not an object with a type)")
        return obj
