"""The official casedev 0.71.0 SDK works against this server unchanged."""

import json
import threading
import time

import casedev
import pytest

pytestmark = pytest.mark.e2e


def test_the_sdk_executes_against_the_live_server(live_server, alice):
    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url) as client:
        result = client.agent.v1.execute.create(prompt="Hello from the SDK", model="local/echo")
    assert result.run_id.startswith("run_")
    assert result.agent_id.startswith("agent_")
    data = result.to_dict()
    assert data["status"] == "completed"
    assert data["output"] == "Hello from the SDK"
    assert data["usage"]["model"] == "local/echo"


def test_the_sdk_reports_validation_errors_as_bad_request(live_server, alice):
    client = casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url, max_retries=0)
    with client, pytest.raises(casedev.BadRequestError) as excinfo:
        client.agent.v1.execute.create(
            prompt="hi", enabled_tools=["shell.exec"], disabled_tools=["files.read"]
        )
    assert excinfo.value.body["error"]["fields"]["enabledTools"]


def test_the_sdk_reports_a_bad_key_as_unauthorized(live_server, db):
    client = casedev.Casedev(api_key="ae_wrong", base_url=live_server.url, max_retries=0)
    with client, pytest.raises(casedev.AuthenticationError):
        client.agent.v1.execute.create(prompt="hi")


def slow_script(seconds: int) -> str:
    step = {"tool": "shell.exec", "input": {"command": f"sleep {seconds}"}}
    return json.dumps({"steps": [step], "final": "slept"})


def test_the_sdk_iterates_run_events_across_keep_alives_to_the_terminal_event(
    live_server, alice, settings
):
    settings.SSE_KEEPALIVE_S = 1
    settings.SSE_POLL_S = 0.05
    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url, max_retries=0) as client:
        agent = client.agent.v1.agents.create(
            name="Sleeper", instructions="Wait.", model="local/scripted"
        )
        run = client.agent.v1.run.create(agent_id=agent.id, prompt=slow_script(3))
        # Tasks run inline in tests: exec returns when the run has ended, so it runs beside the
        # stream, which sees the run go by over several keep-alive intervals.
        runner = threading.Thread(target=client.agent.v1.run.exec, args=(run.id,))
        runner.start()
        started = time.monotonic()
        # The SDK decodes each event's JSON data: items are dicts.
        items = list(client.agent.v1.run.events(run.id))
        runner.join()
        replayed = list(client.agent.v1.run.events(run.id, last_event_id=items[1]["sequence"]))
    assert time.monotonic() - started >= 2  # the stream lived through keep-alives
    assert items[-1]["type"] == "run.completed"
    assert [i["sequence"] for i in items] == list(range(1, len(items) + 1))
    assert all(i["runId"] == run.id for i in items if i["type"].startswith("run."))
    assert replayed == items[2:]


def test_an_sdk_retry_after_a_client_timeout_answers_the_first_run_instead_of_a_second(
    live_server, alice
):
    from runs.models import Run

    with casedev.Casedev(
        api_key=alice.raw_key, base_url=live_server.url, timeout=1.5, max_retries=2
    ) as client:
        result = client.agent.v1.execute.create(prompt=slow_script(3), model="local/scripted")
    assert result.to_dict()["status"] == "completed"
    assert Run.objects.filter(organization=alice.organization).count() == 1
    assert result.run_id == Run.objects.get().id


def test_a_first_attempt_with_the_same_body_starts_a_new_run(live_server, alice):
    from runs.models import Run

    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url) as client:
        first = client.agent.v1.execute.create(prompt="same", model="local/echo")
        second = client.agent.v1.execute.create(prompt="same", model="local/echo")
    assert first.run_id != second.run_id
    assert Run.objects.filter(organization=alice.organization).count() == 2


def missing_fields(model, path="") -> list[str]:
    """Every field the SDK type declares that the response left out, recursively."""
    from pydantic import BaseModel

    missing = [
        f"{path}{name}" for name in type(model).model_fields if name not in model.model_fields_set
    ]
    for name in model.model_fields_set:
        value = getattr(model, name)
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, BaseModel):
                missing += missing_fields(item, f"{path}{name}[{i}].")
    return missing


def test_run_responses_carry_every_field_the_sdk_types_declare(live_server, alice):
    script = json.dumps(
        {"steps": [{"tool": "shell.exec", "input": {"command": "echo hi"}}], "final": "done"}
    )
    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url) as client:
        agent = client.agent.v1.agents.create(
            name="Typed", instructions="Do.", model="local/scripted"
        )
        created = client.agent.v1.run.create(agent_id=agent.id, prompt=script)
        client.agent.v1.run.exec(created.id)
        details = client.agent.v1.run.get_details(created.id)
        status = client.agent.v1.run.get_status(created.id)
        listed = client.agent.v1.run.list()
        cancelled = client.agent.v1.run.cancel(created.id)
        second = client.agent.v1.run.create(agent_id=agent.id, prompt=script)
        cancelled_now = client.agent.v1.run.cancel(second.id)
        retrieved = client.agent.v1.agents.retrieve(agent.id)
    assert missing_fields(details) == []
    assert details.result.logs.runtime and details.result.logs.runner
    assert details.result.logs.opencode is None
    assert missing_fields(status) == [] and missing_fields(created) == []
    assert missing_fields(listed) == []
    assert missing_fields(cancelled) == [] and cancelled.message
    assert cancelled_now.status == "cancelled" and cancelled_now.message
    assert missing_fields(retrieved) == []


def test_the_sdk_parses_responses_that_carry_citations(live_server, alice):
    invented = "The Supplier shall pay a penalty of one million dollars per day."
    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url) as client:
        result = client.agent.v1.execute.create(
            prompt=f'The contract says "{invented}"', model="local/echo"
        )
        details = client.agent.v1.run.get_details(result.run_id)
    data = result.to_dict()
    assert data["status"] == "completed"
    assert data["grounding"] == {"quotes": 1, "verified": 0, "altered": 0, "notFound": 1}
    assert data["citations"][0]["quote"] == invented
    assert details.to_dict()["grounding"]["notFound"] == 1
    assert details.result.output == f'The contract says "{invented}"'
