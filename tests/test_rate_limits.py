"""Rate limits: per API key, failed authentication per address, and the staff lockout."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from agentexec import ratelimit
from agentexec.ratelimit import Rate, parse_rate

AGENTS = "/agent/v1/agents"


@pytest.fixture
def clock(monkeypatch):
    """A clock standing still in the middle of a day's window, moved by hand."""

    class Clock:
        now = 1_800_000_000.0 + 43_200

    monkeypatch.setattr(ratelimit, "_now", lambda: Clock.now)
    return Clock


def test_rates_read_as_count_per_period():
    assert parse_rate("600/min", "X") == Rate(600, 60, "600/min")
    assert parse_rate("5/sec", "X") == Rate(5, 1, "5/sec")
    assert parse_rate("1000/day", "X") == Rate(1000, 86400, "1000/day")
    assert parse_rate("", "X") is None and parse_rate("0", "X") is None
    assert parse_rate("0/min", "X") is None
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT"):
        parse_rate("600 per minute", "API_RATE_LIMIT")


def test_a_key_over_its_rate_gets_429_with_retry_after(alice, bob, settings, clock):
    settings.API_RATE_LIMIT = "3/min"
    assert [alice.client.get(AGENTS).status_code for _ in range(3)] == [200, 200, 200]

    response = alice.client.get(AGENTS)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"  # the clock stands at the start of a minute
    error = response.json()["error"]
    assert error["type"] == "rate_limited"
    assert "API_RATE_LIMIT 3/min" in error["message"]

    assert bob.client.get(AGENTS).status_code == 200  # another key counts on its own
    clock.now += 60
    assert alice.client.get(AGENTS).status_code == 200  # a new window


def test_retry_after_counts_down_to_the_end_of_the_window(alice, settings, clock):
    settings.API_RATE_LIMIT = "1/hour"
    alice.client.get(AGENTS)
    clock.now += 3599.5
    assert alice.client.get(AGENTS)["Retry-After"] == "1"


def test_no_rate_limit_when_it_is_empty(alice, settings, clock):
    settings.API_RATE_LIMIT = ""
    assert {alice.client.get(AGENTS).status_code for _ in range(20)} == {200}


def _bad_key(client: Client, address: str = "127.0.0.1", **extra: Any) -> int:
    headers = {"HTTP_AUTHORIZATION": "Bearer ae_wrong", "REMOTE_ADDR": address, **extra}
    return client.get(AGENTS, **headers).status_code


def test_an_address_with_too_many_failed_keys_gets_429_even_with_a_valid_key(
    alice, anon, settings, clock
):
    settings.AUTH_FAILURE_RATE_LIMIT = "3/min"
    assert [_bad_key(anon) for _ in range(3)] == [401, 401, 401]
    assert _bad_key(anon) == 429

    response = alice.client.get(AGENTS, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    error = response.json()["error"]
    assert error["type"] == "rate_limited" and "AUTH_FAILURE_RATE_LIMIT 3/min" in error["message"]

    assert alice.client.get(AGENTS, REMOTE_ADDR="10.0.0.7").status_code == 200
    clock.now += 60
    assert alice.client.get(AGENTS, REMOTE_ADDR="127.0.0.1").status_code == 200


def test_a_missing_key_is_not_counted_as_a_failure(db, anon, settings, clock):
    settings.AUTH_FAILURE_RATE_LIMIT = "2/min"
    assert {anon.get(AGENTS).status_code for _ in range(5)} == {401}


def test_x_forwarded_for_is_the_address_only_when_trusted(alice, anon, settings, clock):
    settings.AUTH_FAILURE_RATE_LIMIT = "2/min"
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.1"}
    settings.TRUST_X_FORWARDED_FOR = False
    assert [_bad_key(anon, **forwarded) for _ in range(3)] == [401, 401, 429]
    clock.now += 60

    settings.TRUST_X_FORWARDED_FOR = True
    assert [_bad_key(anon, **forwarded) for _ in range(3)] == [401, 401, 429]
    # Same proxy, another client behind it: not blocked.
    other = {
        "HTTP_X_FORWARDED_FOR": "198.51.100.4",
        "HTTP_AUTHORIZATION": f"Bearer {alice.raw_key}",
    }
    assert anon.get(AGENTS, REMOTE_ADDR="127.0.0.1", **other).status_code == 200


# --- Staff sign-in (django-axes) --------------------------------------------------------------


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        "sam", password="correct horse battery staple", is_staff=True
    )


def _sign_in(path: str, password: str, address: str = "127.0.0.1") -> Any:
    response = Client(REMOTE_ADDR=address).post(path, {"username": "sam", "password": password})
    return response


def test_staff_sign_in_locks_out_after_repeated_failures(staff_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    assert [_sign_in("/ui/login/", "nope").status_code for _ in range(2)] == [200, 200]

    locked = _sign_in("/ui/login/", "nope")
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(settings.AXES_COOLOFF_MINUTES * 60)
    assert b"Too many failed sign-ins" in locked.content

    assert _sign_in("/ui/login/", "correct horse battery staple").status_code == 429
    assert _sign_in("/admin/login/", "correct horse battery staple").status_code == 429
    # The lockout is for this username from this address.
    assert _sign_in("/ui/login/", "correct horse battery staple", "10.0.0.7").status_code == 302


def test_the_admin_sign_in_counts_failures_too(staff_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert _sign_in("/admin/login/", "nope").status_code == 200
    assert _sign_in("/ui/login/", "nope").status_code == 429


def test_a_successful_sign_in_resets_the_failures(staff_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _sign_in("/ui/login/", "nope")
    _sign_in("/ui/login/", "nope")
    assert _sign_in("/ui/login/", "correct horse battery staple").status_code == 302
    assert [_sign_in("/ui/login/", "nope").status_code for _ in range(2)] == [200, 200]
