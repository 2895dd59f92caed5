"""The official casedev 0.71.0 SDK works against this server unchanged."""

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
