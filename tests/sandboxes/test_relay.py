"""The relay's transports (the database table and Redis) and RelayProcess, driven the way the
broker endpoint and the executor drive them."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sandboxes import relay
from sandboxes.base import ProtocolError
from sandboxes.limits import SandboxLimits
from sandboxes.models import RelayMessage, Sandbox
from tests.factories import RunFactory


@pytest.fixture
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    socket = Path(tmp_path_factory.mktemp("redis")) / "redis.sock"
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(500):
        if socket.exists():
            break
        time.sleep(0.01)
    yield f"unix://{socket}"
    proc.kill()
    proc.wait()


@pytest.fixture(params=["db", "redis"])
def transport(request, transactional_db):
    if request.param == "db":
        return relay.DbTransport(poll_s=0.01)
    return relay.RedisTransport(request.getfixturevalue("redis_url"))


@pytest.fixture
def sandbox(transactional_db):
    run = RunFactory()
    return Sandbox.objects.create(
        run=run, organization=run.organization, provider="test", cpu=1, memory_mib=256
    )


def test_a_message_is_stored_once_per_seq_and_read_in_place(transport, sandbox):
    assert transport.put(sandbox.id, "up", 1, {"type": "ready"}) is True
    assert transport.put(sandbox.id, "up", 1, {"type": "ready", "retried": True}) is False
    assert transport.get(sandbox.id, "up", 1, timeout=1) == {"type": "ready"}
    assert transport.get(sandbox.id, "up", 1, timeout=0) == {"type": "ready"}  # still there
    assert transport.get(sandbox.id, "down", 1, timeout=0) is None
    assert transport.get(sandbox.id, "up", 2, timeout=0.05) is None


def test_a_reader_waits_for_a_message_put_by_another_thread(transport, sandbox):
    def later() -> None:
        time.sleep(0.1)
        transport.put(sandbox.id, "down", 7, {"type": "spec"})

    thread = threading.Thread(target=later)
    thread.start()
    assert transport.get(sandbox.id, "down", 7, timeout=10) == {"type": "spec"}
    thread.join()


def test_discard_forgets_every_message_of_a_sandbox(transport, sandbox):
    transport.put(sandbox.id, "up", 1, {"type": "ready"})
    transport.put(sandbox.id, "down", 1, {"type": "spec"})
    transport.discard(sandbox.id)
    assert transport.get(sandbox.id, "up", 1, timeout=0) is None
    assert transport.get(sandbox.id, "down", 1, timeout=0) is None


def test_the_database_is_the_default_transport_without_redis(settings):
    settings.REDIS_URL = ""
    assert isinstance(relay.default_transport(), relay.DbTransport)


def test_redis_is_the_transport_with_redis_url(settings, redis_url):
    settings.REDIS_URL = redis_url
    assert isinstance(relay.default_transport(), relay.RedisTransport)


# -- RelayProcess -----------------------------------------------------------------------------


def post(sandbox: Sandbox, seq: int, msg: dict, wait_s: float = 10.0) -> dict | None:
    return relay.relay_post(
        sandbox=Sandbox.objects.get(id=sandbox.id), seq=seq, msg=msg, wait_s=wait_s
    )


def test_it_turns_posts_into_the_executors_recv_and_send(sandbox, settings):
    settings.REDIS_URL = ""
    proc = relay.RelayProcess(sandbox=sandbox, limits=SandboxLimits(timeout_s=30))
    answers: dict[int, dict | None] = {}

    def runtime() -> None:
        answers[1] = post(sandbox, 1, {"type": "ready", "pid": 7, "lincLog": "linc: booted\n"})
        answers[2] = post(sandbox, 2, {"type": "log", "text": "linc: spec\n"})
        answers[3] = post(sandbox, 3, {"type": "tool_done", "id": 1, "content": "ok"})
        answers[4] = post(sandbox, 3, {"type": "tool_done", "id": 1, "content": "ok"})  # a retry
        answers[5] = post(sandbox, 4, {"type": "result", "output": "done"})

    thread = threading.Thread(target=runtime)
    thread.start()
    assert proc.recv(timeout=10) == {"type": "ready", "pid": 7}
    assert proc.boot_ms is not None
    proc.send({"type": "spec", "runId": sandbox.run_id})
    assert proc.recv(timeout=10) == {"type": "tool_done", "id": 1, "content": "ok"}
    assert proc.recv(timeout=10) == {"type": "result", "output": "done"}  # the retry is gone
    thread.join()
    assert answers == {1: {"type": "spec", "runId": sandbox.run_id}, 2: {}, 3: {}, 4: {}, 5: {}}
    assert proc.stderr_text() == "linc: booted\nlinc: spec\n"
    with pytest.raises(ProtocolError):
        proc.send({"type": "tool_result"})  # nothing to answer: result needs no reply
    stats = proc.close()
    assert stats.exit_code is None and stats.boot_ms == proc.boot_ms and not stats.timed_out
    assert not RelayMessage.objects.filter(sandbox=sandbox).exists()
    assert Sandbox.objects.get(id=sandbox.id).callhome_token_hash == ""


def test_recv_times_out_and_the_wall_clock_ends_it(sandbox, settings):
    settings.REDIS_URL = ""
    proc = relay.RelayProcess(sandbox=sandbox, limits=SandboxLimits(timeout_s=0.3))
    with pytest.raises(TimeoutError) as first:
        proc.recv(timeout=0.05)
    assert type(first.value) is TimeoutError
    with pytest.raises(TimeoutError, match="wall-clock timeout"):
        proc.recv(timeout=5)
    assert proc.close().timed_out is True


class Exited:
    id = "gone"

    def wait(self, timeout: float) -> int | None:
        return 3

    def kill(self) -> None:
        raise AssertionError("an exited runtime is not killed")

    def log_text(self) -> str:
        return "provider log"


def test_recv_ends_when_the_runtime_is_gone(sandbox, settings):
    settings.REDIS_URL = ""
    proc = relay.RelayProcess(sandbox=sandbox, limits=SandboxLimits(timeout_s=30))
    proc.attach(Exited())
    assert proc.recv(timeout=5) is None
    assert proc.recv(timeout=5) is None
    assert proc.close().exit_code == 3
    assert proc.stderr_text() == "provider log"  # it sent no log lines home
