"""The uploadable runtime: one zipapp, built reproducibly, that runs on the standard library
alone (python -I -S) and calls home over HTTP(S) to a fake host here."""

from __future__ import annotations

import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from sandboxes.artefact import runtime_bytes, runtime_zipapp

PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
SPEC = {
    "type": "spec", "runId": "run_x", "model": "local/echo", "prompt": "hi", "tools": [],
    "maxSteps": 3, "timeoutS": 30, "shellTimeoutS": 10, "outputCapBytes": 4096,
}  # fmt: skip


class FakeHost(ThreadingHTTPServer):
    """Answers the runtime like the broker: ready -> spec, model -> a text reply, else 204."""

    daemon_threads = True

    def __init__(self, token: str = "t0k") -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.token = token
        self.posts: list[tuple[int, dict[str, Any]]] = []
        self.drop_first_of: set[int] = set()  # seqs whose first post gets no answer
        self.refuse = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/internal/runtime/v1/sandboxes/s/broker"


class Handler(BaseHTTPRequestHandler):
    server: FakeHost
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        seq = int(self.headers["X-Linc-Seq"])
        self.server.posts.append((seq, body))
        if self.headers["Authorization"] != f"Bearer {self.server.token}" or self.server.refuse:
            return self.answer(401, {"error": {"type": "authentication_error"}})
        if seq in self.server.drop_first_of:
            self.server.drop_first_of.discard(seq)
            self.close_connection = True  # no response: the runtime sees a dropped connection
            return None
        replies = {
            "ready": SPEC,
            "model": {
                "type": "model_result", "id": body.get("id"),
                "message": {"content": [{"type": "text", "text": "hello home"}]},
            },
        }  # fmt: skip
        reply = replies.get(body["type"])
        return self.answer(200, reply) if reply else self.answer(204, None)

    def answer(self, status: int, body: dict[str, Any] | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def host():
    server = FakeHost()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_runtime(pyz: Path, workspace: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The zipapp as a remote sandbox runs it: isolated mode, no site, a clean environment."""
    return subprocess.run(
        [PYTHON, "-I", "-S", str(pyz)],
        env={"PATH": "/usr/bin:/bin", "LINC_WORKSPACE": str(workspace), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_is_built_reproducibly_and_cached_by_content(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = runtime_zipapp()
    assert first.read_bytes() == runtime_bytes()
    assert runtime_zipapp() == first and first.parent == tmp_path / "runtime"
    assert os.access(first, os.X_OK) and first.read_bytes().startswith(b"#!/usr/bin/env python3")
    names = zipfile.ZipFile(first).namelist()
    assert names[:2] == ["__main__.py", "agentexec/__init__.py"]
    assert {"agentexec/linc/runtime.py", "agentexec/linc/cli.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or not n.endswith(".py")]
    out = io.StringIO()
    call_command("build_runtime", stdout=out)
    assert out.getvalue().startswith(f"{first}\n")


def test_it_boots_on_the_standard_library_alone_and_calls_home(host, tmp_path):
    pyz = runtime_zipapp()
    done = run_runtime(pyz, tmp_path, LINC_BROKER_URL=host.url, LINC_TOKEN="t0k")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # nothing on stdout: every message went home
    assert [(seq, body["type"]) for seq, body in host.posts] == [
        (1, "ready"),
        (2, "model"),
        (3, "result"),
    ]
    assert host.posts[0][1]["python"].count(".") == 2
    assert host.posts[2][1]["output"] == "hello home"
    sent_logs = "".join(body.get("lincLog", "") for _, body in host.posts)
    assert "linc: booted" in sent_logs and "calling home" in sent_logs


def test_a_message_lost_in_transit_is_posted_again_with_the_same_seq(host, tmp_path):
    host.drop_first_of = {2}
    done = run_runtime(runtime_zipapp(), tmp_path, LINC_BROKER_URL=host.url, LINC_TOKEN="t0k")
    assert done.returncode == 0, done.stderr
    seqs = [seq for seq, _ in host.posts]
    assert seqs == [1, 2, 2, 3]
    assert host.posts[1][1] == host.posts[2][1]  # the same message, which the relay dedupes
    assert "retrying" in done.stderr


def test_a_refused_token_stops_the_runtime(host, tmp_path):
    done = run_runtime(runtime_zipapp(), tmp_path, LINC_BROKER_URL=host.url, LINC_TOKEN="wrong")
    assert done.returncode == 1
    assert "HTTP 401" in done.stderr
    assert len(host.posts) == 1  # a refusal is not retried


def test_the_cli_runs_from_the_zipapp(tmp_path):
    done = subprocess.run(
        [PYTHON, "-I", "-S", str(runtime_zipapp()), "cli", "--version"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stdout.startswith("casedev ")


@pytest.fixture
def tls_host(host, tmp_path):
    """The fake host behind TLS with a certificate of a private CA."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    host.socket = context.wrap_socket(host.socket, server_side=True)
    return host, cert


def test_tls_is_verified_and_a_private_ca_can_be_given(tls_host, tmp_path):
    host, cert = tls_host
    url = host.url.replace("http://", "https://")
    refused = run_runtime(runtime_zipapp(), tmp_path, LINC_BROKER_URL=url, LINC_TOKEN="t0k")
    assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    assert host.posts == []
    trusted = run_runtime(
        runtime_zipapp(), tmp_path, LINC_BROKER_URL=url, LINC_TOKEN="t0k", LINC_CA_FILE=str(cert)
    )
    assert trusted.returncode == 0, trusted.stderr
    assert [body["type"] for _, body in host.posts] == ["ready", "model", "result"]
