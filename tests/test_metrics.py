"""GET /metrics: Prometheus text built from the database, so every process answers the same."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agentexec.models import DeliveryState
from runs.models import CallbackDelivery
from tests.factories import RunFactory


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.mark.e2e
def test_a_real_execute_shows_up_in_the_run_counters_and_histograms(alice, anon):
    response = alice.client.post(
        "/agent/v1/execute", {"prompt": "Count me.", "model": "local/echo"}, format="json"
    )
    assert response.status_code == 200, response.content
    provider = response.json()["provider"]

    samples = scrape(anon)
    assert value(samples, "agentexec_runs_started_total", model="local/echo") == 1
    finished = {"status": "completed", "model": "local/echo"}
    assert value(samples, "agentexec_runs_finished_total", **finished) == 1
    assert value(samples, "agentexec_run_duration_seconds_count", model="local/echo") == 1
    assert (
        value(samples, "agentexec_run_duration_seconds_bucket", model="local/echo", le="+Inf") == 1
    )
    assert value(samples, "agentexec_run_duration_seconds_sum", model="local/echo") > 0
    assert value(samples, "agentexec_sandbox_boot_seconds_count", provider=provider) == 1
    assert value(samples, "agentexec_llm_tokens_total", model="local/echo", direction="input") > 0
    assert value(samples, "agentexec_llm_tokens_total", model="local/echo", direction="output") > 0
    assert value(samples, "agentexec_llm_cost_usd_total", model="local/echo") == 0
    assert value(samples, "agentexec_runs_active", status="running") == 0


def test_the_duration_histogram_counts_each_run_in_its_buckets(anon, db):
    for ms in (500, 4_000, 4_500, 700_000):
        RunFactory(status="completed", model="m", duration_ms=ms)
    RunFactory(status="queued", model="m")
    samples = scrape(anon)
    bucket = lambda le: value(samples, "agentexec_run_duration_seconds_bucket", model="m", le=le)  # noqa: E731
    assert [bucket("1.0"), bucket("2.5"), bucket("5.0"), bucket("600.0"), bucket("+Inf")] == [
        1, 1, 3, 3, 4,
    ]  # fmt: skip
    assert value(samples, "agentexec_run_duration_seconds_sum", model="m") == pytest.approx(709.0)
    assert value(samples, "agentexec_runs_active", status="queued") == 1


def test_callback_deliveries_are_counted_by_outcome(anon, db):
    run = RunFactory(status="completed")
    for i, state in enumerate(
        [DeliveryState.DELIVERED, DeliveryState.DELIVERED, DeliveryState.FAILED]
    ):
        CallbackDelivery.objects.create(
            run=run, organization=run.organization, url="https://example.com/hook",
            webhook_id=f"msg_{i}", event_type="run.completed", payload={}, state=state,
            attempts=8 if state == DeliveryState.FAILED else 1, next_attempt_at=run.created_at,
        )  # fmt: skip
    samples = scrape(anon)
    assert value(samples, "agentexec_callback_deliveries", outcome="delivered") == 2
    assert value(samples, "agentexec_callback_deliveries", outcome="failed") == 1
    assert value(samples, "agentexec_callback_deliveries", outcome="pending") == 0
    assert value(samples, "agentexec_callback_attempts_total", outcome="failed") == 8


def test_the_task_queue_size_is_reported(anon, db):
    assert value(scrape(anon), "agentexec_task_queue_size") == 0


def test_a_metrics_token_is_required_once_set(anon, db, settings):
    settings.METRICS_TOKEN = "s3cret"
    refused = anon.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert anon.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(anon, HTTP_AUTHORIZATION="Bearer s3cret")
