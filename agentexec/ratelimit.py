"""Fixed-window rate limits whose counters live in the shared `ratelimit` cache (Redis, or the
database), so they hold across gunicorn workers and hosts.

A window is the current period (minute, hour, ...) since the epoch: its counter's key names
the window, so a new window starts from zero without anyone resetting anything."""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from agentexec.errors import TooManyRequests

if TYPE_CHECKING:
    from rest_framework.views import APIView

PERIODS_S = {"sec": 1, "min": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    period_s: int
    text: str  # as configured, for messages: "600/min"


@functools.cache
def parse_rate(text: str, setting: str) -> Rate | None:
    """`N/sec|min|hour|day`; empty or a count of 0 turns the limit off."""
    text = text.strip()
    if text in ("", "0"):
        return None
    count, _, period = text.partition("/")
    if not count.strip().isdigit() or period.strip() not in PERIODS_S:
        raise ImproperlyConfigured(
            f"{setting}={text!r}: expected N/sec, N/min, N/hour or N/day (empty or 0: no limit)"
        )
    if int(count) == 0:
        return None
    return Rate(int(count), PERIODS_S[period.strip()], text)


def _now() -> float:
    return time.time()  # the clock tests move


def _window(bucket: str, rate: Rate) -> tuple[str, float]:
    """The counter's key for the current window, and the seconds until the window ends."""
    now = _now()
    index = int(now // rate.period_s)
    return f"rl:{bucket}:{rate.period_s}:{index}", (index + 1) * rate.period_s - now


def hit(bucket: str, rate: Rate) -> float | None:
    """Counts one event; None while within the rate, else the seconds until the window ends.
    One cache round trip once the window's counter exists (increment; add on first use)."""
    cache = caches["ratelimit"]
    key, remaining_s = _window(bucket, rate)
    try:
        count = cache.incr(key)
    except ValueError:  # the window's first event (or its counter was evicted)
        added = cache.add(key, 1, timeout=rate.period_s + 1)
        count = 1 if added else cache.incr(key)  # else another worker added it first
    return remaining_s if count > rate.count else None


def over(bucket: str, rate: Rate) -> float | None:
    """Like `hit`, but only looks: None while the bucket is within its rate."""
    key, remaining_s = _window(bucket, rate)
    count = caches["ratelimit"].get(key, 0)
    return remaining_s if count >= rate.count else None


def _whole_s(seconds: float) -> int:
    return max(1, math.ceil(seconds))  # as the Retry-After header says it


def client_address(request: HttpRequest | Request) -> str:
    """REMOTE_ADDR, or the first X-Forwarded-For hop when TRUST_X_FORWARDED_FOR says a proxy
    we run sets that header (it must replace, not append to, what the client sent)."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def staff_login_address(request: HttpRequest) -> str | None:
    """The client address for django-axes, which stores it as an IP address: None when it is not
    one (a login without a request address, e.g. the test client's `login()`)."""
    address = client_address(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


# --- Failed API authentication, per client address ------------------------------------------


def _auth_failure_rate() -> Rate | None:
    return parse_rate(settings.AUTH_FAILURE_RATE_LIMIT, "AUTH_FAILURE_RATE_LIMIT")


def _auth_failures_exceeded(rate: Rate, retry_after_s: float) -> TooManyRequests:
    return TooManyRequests(
        "Too many failed authentication attempts from this address "
        f"(AUTH_FAILURE_RATE_LIMIT {rate.text}); retry in {_whole_s(retry_after_s)} s.",
        type="rate_limited",
        retry_after_s=retry_after_s,
    )


def auth_failures_check(request: HttpRequest | Request) -> None:
    """Before a key is looked up: an address over its failure limit gets 429, whatever key it
    sends, until the window passes — so guessing keys stops being an oracle."""
    rate = _auth_failure_rate()
    if rate is None:
        return
    wait = over(f"authfail:{client_address(request)}", rate)
    if wait is not None:
        raise _auth_failures_exceeded(rate, wait)


def auth_failure_record(request: HttpRequest | Request) -> None:
    rate = _auth_failure_rate()
    if rate is not None:
        hit(f"authfail:{client_address(request)}", rate)


# --- Requests per API key ---------------------------------------------------------------------


class ApiKeyRateThrottle(BaseThrottle):
    """API_RATE_LIMIT requests per API key; 429 with Retry-After beyond it."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = parse_rate(settings.API_RATE_LIMIT, "API_RATE_LIMIT")
        api_key = getattr(request.user, "api_key", None)
        if rate is None or api_key is None:
            return True
        wait = hit(f"key:{api_key.id}", rate)
        if wait is not None:
            raise TooManyRequests(
                f"Rate limit exceeded for this API key (API_RATE_LIMIT {rate.text}); "
                f"retry in {_whole_s(wait)} s.",
                type="rate_limited",
                retry_after_s=wait,
            )
        return True
