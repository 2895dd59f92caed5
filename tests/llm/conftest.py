"""Provider test helpers: recorded backoff waits, and provider settings per test."""

import pytest

from agentexec.llm import http


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the HTTP wrapper asked for, instead of sleeping through them."""
    recorded: list[float] = []
    monkeypatch.setattr(http, "sleep", recorded.append)
    return recorded


@pytest.fixture
def anthropic_key(settings) -> str:
    settings.ANTHROPIC_API_KEY = "sk-ant-test-key-0123456789"
    settings.ANTHROPIC_BASE_URL = "https://api.anthropic.com"
    return settings.ANTHROPIC_API_KEY


@pytest.fixture
def openai_key(settings) -> str:
    settings.OPENAI_API_KEY = "sk-proj-test-key-0123456789"
    settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
    return settings.OPENAI_API_KEY


@pytest.fixture
def gateway(settings) -> str:
    settings.LLM_GATEWAY_URL = "https://gateway.example.test/v1"
    settings.LLM_GATEWAY_API_KEY = "gw-test-key-0123456789"
    return settings.LLM_GATEWAY_URL
