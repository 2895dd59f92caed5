"""Every execute validation rule answers 400 naming the field, and creates nothing."""

import pytest

from runs.models import Agent, Run

EXECUTE = "/agent/v1/execute"


def post(member, body, **kwargs):
    return member.client.post(EXECUTE, body, format="json", **kwargs)


def assert_rejected(response, field):
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["type"] in ("invalid_request", "parse_error")
    assert field in body["fields"], body
    assert field in body["message"]
    assert not Run.objects.exists()
    assert not Agent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"prompt": ""}, {"prompt": "   "}, {"prompt": 42}, {"prompt": None}, {"prompt": ["a"]}],
    ids=["missing", "empty", "blank", "number", "null", "list"],
)
def test_it_rejects_a_bad_prompt(alice, body):
    assert_rejected(post(alice, body), "prompt")


def test_it_rejects_a_prompt_over_the_limit(alice, settings):
    settings.MAX_PROMPT_CHARS = 10
    response = post(alice, {"prompt": "x" * 11})
    assert_rejected(response, "prompt")
    assert "MAX_PROMPT_CHARS" in response.json()["error"]["message"]


def test_it_rejects_both_tool_lists(alice):
    response = post(alice, {"prompt": "hi", "enabledTools": ["shell.exec"], "disabledTools": []})
    assert_rejected(response, "enabledTools")
    assert "disabledTools" in response.json()["error"]["fields"]


@pytest.mark.parametrize("field", ["enabledTools", "disabledTools"])
def test_it_rejects_an_unknown_tool_and_lists_the_known_ones(alice, field):
    response = post(alice, {"prompt": "hi", field: ["shell.exec", "rm.rf"]})
    assert_rejected(response, field)
    message = response.json()["error"]["fields"][field][0]
    assert "rm.rf" in message
    assert "shell.exec" in message and "files.read" in message


@pytest.mark.parametrize(
    ("sandbox", "field"),
    [
        ({"cpu": 0}, "sandbox.cpu"),
        ({"cpu": 99}, "sandbox.cpu"),
        ({"cpu": "two"}, "sandbox.cpu"),
        ({"memoryMiB": 1}, "sandbox.memoryMiB"),
        ({"memoryMiB": 10**7}, "sandbox.memoryMiB"),
        ("big", "sandbox"),
    ],
)
def test_it_rejects_sandbox_sizes_out_of_bounds(alice, sandbox, field):
    assert_rejected(post(alice, {"prompt": "hi", "sandbox": sandbox}), field)


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        ("anthropic/claude-sonnet-4.6", "ANTHROPIC_API_KEY"),
        ("openai/gpt-4.1", "OPENAI_API_KEY"),
        ("mistral/large", "LLM_GATEWAY_URL"),
        ("local/nothing", "local/echo"),
        ("no-vendor", "vendor/name"),
    ],
)
def test_it_rejects_a_model_it_cannot_route_and_names_the_setting(alice, model, hint):
    response = post(alice, {"prompt": "hi", "model": model})
    assert_rejected(response, "model")
    assert hint in response.json()["error"]["message"]


def test_it_rejects_scripted_model_when_disabled(alice, settings):
    settings.ALLOW_SCRIPTED_MODEL = False
    settings.DEBUG = False
    response = post(alice, {"prompt": "{}", "model": "local/scripted"})
    assert_rejected(response, "model")
    assert "ALLOW_SCRIPTED_MODEL" in response.json()["error"]["message"]


def test_it_rejects_malformed_json(alice):
    response = alice.client.post(EXECUTE, data=b'{"prompt": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "parse_error"
    assert not Run.objects.exists()


def test_it_rejects_a_body_that_is_not_an_object(alice):
    response = alice.client.post(EXECUTE, data=b'["prompt"]', content_type="application/json")
    assert response.status_code == 400
    assert not Run.objects.exists()


def test_it_rejects_a_wrong_content_type(alice):
    response = alice.client.post(EXECUTE, data="prompt=hi", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["type"] == "unsupported_media_type"
    assert not Run.objects.exists()


def test_it_rejects_a_non_boolean_agent_runtime(alice):
    assert_rejected(post(alice, {"prompt": "hi", "agentRuntime": "yes"}), "agentRuntime")


@pytest.mark.parametrize("field", ["vaultIds", "objectIds", "enabledTools"])
def test_it_rejects_id_lists_that_are_not_lists_of_strings(alice, field):
    assert_rejected(post(alice, {"prompt": "hi", field: "abc"}), field)
