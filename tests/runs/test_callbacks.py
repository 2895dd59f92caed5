"""Run callbacks: Standard Webhooks signatures, the outbox's retries, and the SSRF guard."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from agentexec import webhooks
from agentexec.webhooks import CallbackUrlError, check_callback_url
from runs import services
from runs.callbacks import deliver_due
from runs.models import CallbackDelivery
from tests.factories import AgentFactory, RunFactory


class Receiver:
    """A local HTTP server answering a scripted list of status codes."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/run"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def insecure(settings):
    settings.ALLOW_INSECURE_CALLBACKS = True
    settings.CALLBACK_BACKOFF_BASE_S = 0.01
    settings.CALLBACK_MAX_ATTEMPTS = 4


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def finish(run, status="completed"):
    run.status = "running"
    run.save(update_fields=["status"])
    services.run_finish(
        run=run, status=status, output="The answer.", error=None, logs_runner="",
        logs_linc="", output_object_ids=[], tool_calls=0,
    )  # fmt: skip


def test_a_completed_run_posts_a_signed_callback(alice, insecure, receiver):
    hook = receiver()
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=hook.url)
    finish(run)
    assert deliver_due(wait_s=0) == 1
    headers, body = hook.requests[0]
    payload = Webhook(alice.organization.webhook_secret).verify(body, headers)
    assert payload["type"] == "run.completed"
    assert payload["data"]["id"] == run.id and payload["data"]["output"] == "The answer."
    delivery = CallbackDelivery.objects.get(run=run)
    assert delivery.state == "delivered" and delivery.attempts == 1 and delivery.last_status == 200


def test_a_tampered_callback_does_not_verify(alice, insecure, receiver):
    hook = receiver()
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=hook.url)
    finish(run, status="failed")
    deliver_due(wait_s=0)
    headers, body = hook.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(alice.organization.webhook_secret).verify(
            body.replace(b"failed", b"passed"), headers
        )


def test_a_receiver_failing_twice_gets_three_attempts_with_one_webhook_id(
    alice, insecure, receiver
):
    hook = receiver([500, 500, 200])
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=hook.url)
    finish(run)
    assert deliver_due(wait_s=5) == 3
    assert len(hook.requests) == 3
    assert len({h["webhook-id"] for h, _ in hook.requests}) == 1
    delivery = CallbackDelivery.objects.get(run=run)
    assert delivery.state == "delivered" and delivery.attempts == 3


def test_every_watcher_is_notified(alice, insecure, receiver):
    first, second = receiver(), receiver()
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=first.url)
    services.run_watch(run=run, callback_url=second.url)
    finish(run)
    deliver_due(wait_s=0)
    assert len(first.requests) == 1 and len(second.requests) == 1


def test_410_stops_and_other_4xx_are_not_retried(alice, insecure, receiver):
    gone, bad = receiver([410]), receiver([400])
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=gone.url)
    services.run_watch(run=run, callback_url=bad.url)
    finish(run)
    deliver_due(wait_s=1)
    assert len(gone.requests) == 1 and len(bad.requests) == 1
    assert set(CallbackDelivery.objects.values_list("state", flat=True)) == {"failed"}


def test_it_gives_up_after_the_configured_attempts(alice, insecure, receiver):
    hook = receiver([503] * 10)
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=hook.url)
    finish(run)
    deliver_due(wait_s=5)
    delivery = CallbackDelivery.objects.get(run=run)
    assert delivery.state == "failed" and delivery.attempts == 4 and len(hook.requests) == 4
    assert "gave up" in delivery.last_error


def test_a_retry_survives_a_worker_restart(alice, insecure, receiver):
    """The outbox lives in the database: whatever sweep runs next picks up a pending retry."""
    hook = receiver([500, 200])
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=hook.url)
    finish(run)
    deliver_due(wait_s=0)  # the first worker tries once, then "dies"
    assert CallbackDelivery.objects.get(run=run).state == "pending"
    deliver_due(wait_s=5)  # a new worker's sweep
    assert CallbackDelivery.objects.get(run=run).state == "delivered"


def test_retry_after_is_honoured(alice, insecure):
    assert webhooks.backoff_s(1, 7.0) == 7.0
    assert webhooks.retry_after("3") == 3.0
    assert webhooks.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_a_cancelled_run_sends_run_cancelled_not_completed(alice, insecure, receiver):
    hook = receiver()
    run = RunFactory(agent=AgentFactory(organization=alice.organization), callback_url=hook.url)
    services.run_cancel(run=run)
    deliver_due(wait_s=0)
    assert [json.loads(b)["type"] for _, b in hook.requests] == ["run.cancelled"]


SSRF = [
    "http://example.com/hook",  # not https
    "ftp://example.com/hook",
    "https://127.0.0.1/hook",
    "https://10.1.2.3/hook",
    "https://192.168.0.1/hook",
    "https://172.16.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fd00::1]/hook",
    "https://2130706433/hook",  # 127.0.0.1 as a decimal
    "https://0x7f000001/hook",  # 127.0.0.1 as hex
    "https://0177.0.0.1/hook",  # octal
    "https://localhost/hook",  # a name resolving to loopback
    "https://user:pw@example.com/hook",
    "https:///nohost",
]


@pytest.mark.parametrize("url", SSRF)
def test_the_ssrf_guard_refuses(settings, url):
    settings.ALLOW_INSECURE_CALLBACKS = False
    with pytest.raises(CallbackUrlError):
        check_callback_url(url)


@pytest.mark.parametrize("url", SSRF[:14])
def test_run_create_refuses_unsafe_callbacks_with_400(alice, settings, url):
    settings.ALLOW_INSECURE_CALLBACKS = False
    agent = AgentFactory(organization=alice.organization)
    response = alice.client.post(
        "/agent/v1/run", {"agentId": agent.id, "prompt": "hi", "callbackUrl": url}, format="json"
    )
    assert response.status_code == 400
    assert "callbackUrl" in response.json()["error"]["fields"]


def test_a_public_address_passes_the_guard(settings, monkeypatch):
    settings.ALLOW_INSECURE_CALLBACKS = False
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))],
    )
    assert check_callback_url("https://example.com/hook") == "https://example.com/hook"


def test_the_address_is_checked_again_at_send_time(alice, settings, monkeypatch):
    """DNS rebinding: a host that resolved to a public address at registration and to loopback
    at send time is refused, and nothing is sent."""
    settings.ALLOW_INSECURE_CALLBACKS = False
    run = RunFactory(
        agent=AgentFactory(organization=alice.organization),
        callback_url="https://rebind.example/hook",
    )
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))],
    )
    finish(run)
    deliver_due(wait_s=0)
    delivery = CallbackDelivery.objects.get(run=run)
    assert delivery.last_status is None and "non-public" in delivery.last_error


EMBEDDED_PRIVATE_IPV4 = [
    "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the metadata address 169.254.169.254
    "https://[64:ff9b:1::a00:1]/hook",  # local-use NAT64 prefix
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://[2002:c0a8:1::1]/hook",  # 6to4 of 192.168.0.1
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    "https://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
    "https://[::ffff:a00:1]/hook",  # IPv4-mapped 10.0.0.1, in hex
]


@pytest.mark.parametrize("url", EMBEDDED_PRIVATE_IPV4)
def test_the_ssrf_guard_refuses_ipv6_forms_of_private_ipv4_addresses(settings, url):
    settings.ALLOW_INSECURE_CALLBACKS = False
    with pytest.raises(CallbackUrlError, match="non-public"):
        check_callback_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://[64:ff9b::808:808]/hook", "https://[2002:808:808::1]/hook"],
    ids=["nat64-of-8.8.8.8", "6to4-of-8.8.8.8"],
)
def test_the_ssrf_guard_lets_translations_of_public_ipv4_addresses_pass(settings, url):
    settings.ALLOW_INSECURE_CALLBACKS = False
    assert check_callback_url(url) == url


def test_run_create_refuses_a_nat64_loopback_callback_with_400(alice, settings):
    settings.ALLOW_INSECURE_CALLBACKS = False
    agent = AgentFactory(organization=alice.organization)
    body = {"agentId": agent.id, "prompt": "hi", "callbackUrl": "https://[64:ff9b::7f00:1]/"}
    response = alice.client.post("/agent/v1/run", body, format="json")
    assert response.status_code == 400
    assert "non-public" in response.json()["error"]["fields"]["callbackUrl"][0]
