"""X-Request-ID: taken from a sane client header or generated, returned, and on every log line
and in the runner log of a run the request started."""

import json
import logging

import pytest

from agentexec.logs import JsonFormatter
from agentexec.requestid import RequestIdFilter, current_request_id
from runs.models import Run


@pytest.fixture
def request_id_logs(caplog):
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    return caplog


def test_a_sane_client_id_is_echoed(alice):
    response = alice.client.get("/vault", HTTP_X_REQUEST_ID="client-42.a:b")
    assert response["X-Request-ID"] == "client-42.a:b"


@pytest.mark.parametrize("sent", ["", "has space", "x" * 201, "semi;colon", "naïve"])
def test_an_absent_or_odd_client_id_is_replaced_by_a_new_one(alice, sent):
    response = alice.client.get("/vault", HTTP_X_REQUEST_ID=sent)
    rid = response["X-Request-ID"]
    assert rid != sent and len(rid) == 32 and rid.isalnum()


def test_each_request_gets_its_own_id_even_errors_and_unknown_urls(anon):
    ids = {anon.get(path)["X-Request-ID"] for path in ("/healthz", "/nope", "/agent/v1/run")}
    assert len(ids) == 3


def test_log_lines_of_the_request_carry_its_id(alice, request_id_logs):
    alice.client.get("/agent/v1/no-such-route", HTTP_X_REQUEST_ID="trace-me")
    records = [r for r in request_id_logs.records if "no-such-route" in r.getMessage()]
    assert records, "Django logs the 404"
    assert {r.request_id for r in records} == {"trace-me"}
    assert current_request_id() is None  # cleared once the response is done


def test_log_lines_outside_a_request_say_dash(request_id_logs):
    logging.getLogger("agentexec.test").info("no request here")
    assert request_id_logs.records[-1].request_id == "-"


def test_json_logs_are_one_object_per_line_with_the_request_id():
    record = logging.LogRecord("runs.api", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    record.request_id = "rid-1"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING" and entry["logger"] == "runs.api"
    assert entry["message"] == "a b" and entry["request_id"] == "rid-1"
    assert entry["time"].endswith("+00:00")


@pytest.mark.e2e
def test_the_runner_log_of_a_run_names_the_request_that_started_it(alice):
    response = alice.client.post(
        "/agent/v1/execute",
        {"prompt": "Who started me?", "model": "local/echo"},
        format="json",
        HTTP_X_REQUEST_ID="exec-req-7",
    )
    assert response.status_code == 200, response.content
    assert "started by request exec-req-7" in response.json()["logs"]["runner"]
    run = Run.objects.get(id=response.json()["runId"])
    assert run.logs_runner.splitlines()[0].endswith("started by request exec-req-7")
