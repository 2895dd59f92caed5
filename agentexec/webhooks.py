"""Outbound webhooks, one implementation for every outbox (run callbacks in runs.callbacks,
vault event deliveries in vaults.subscriptions): the SSRF guard, Standard Webhooks signing, one
delivery attempt and its retry policy, and the sweep that sends what is due.

An outbox is a model with the fields of `Delivery`; this module is the one place that makes
outbound webhook requests (tests patch `post`)."""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import models
from django.db.models import Min
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from agentexec.models import DeliveryState

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # a claimed delivery is not picked up by another worker meanwhile
MAX_RETRY_AFTER_S = 3600
PENDING, DELIVERED, FAILED = DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.FAILED


class CallbackUrlError(ValueError):
    pass


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 is the last 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, any layout
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (and ::, ::1)


def _embedded_ipv4s(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a translation or tunnel address leads to: NAT64's well-known
    prefix, 6to4 (2002::/16) and Teredo (2001::/32: its server, and its client whose bits
    are stored inverted, which ipaddress undoes)."""
    found: list[ipaddress.IPv4Address] = []
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # Never let an IPv6 form smuggle a private IPv4 address: mapped and compatible forms,
        # and local-use NAT64 (its IPv4's position depends on the site's prefix length), are
        # refused outright; NAT64, 6to4 and Teredo pass only if the IPv4 inside is public.
        if ip.ipv4_mapped is not None or ip in _IPV4_COMPATIBLE or ip in _NAT64_LOCAL:
            return False
        if not all(_public(v4) for v4 in _embedded_ipv4s(ip)):
            return False
        if ip in _NAT64 or ip.sixtofour is not None:
            return not ip.is_multicast  # public exactly when the embedded IPv4 is
    return ip.is_global and not ip.is_multicast


def resolve_callback_url(url: str) -> tuple[str, list[IPAddress]]:
    """Checks a callback URL and returns its host and the addresses it may connect to.
    https only, and every address the host resolves to must be public — unless
    ALLOW_INSECURE_CALLBACKS is on (local development), which also permits http and loopback."""
    insecure = settings.ALLOW_INSECURE_CALLBACKS
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if insecure else ("https",)
    if parts.scheme not in allowed_schemes:
        raise CallbackUrlError(f"callback URLs must use {' or '.join(allowed_schemes)}")
    if not parts.hostname or parts.username or parts.password:
        raise CallbackUrlError("callback URLs need a host and no credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise CallbackUrlError(f"callback host {parts.hostname!r} does not resolve") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not insecure:
        blocked = [str(a) for a in addresses if not _public(a)]
        if blocked:
            raise CallbackUrlError(
                f"callback host {parts.hostname!r} resolves to a non-public address "
                f"({', '.join(blocked)})"
            )
    return parts.hostname, addresses


def check_callback_url(url: str) -> str:
    resolve_callback_url(url)
    return url


@dataclass
class Attempt:
    status_code: int | None
    error: str
    retry_after_s: float | None = None


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Attempt:
    """One delivery attempt, connecting to an address checked just now, following no redirects."""
    try:
        host, addresses = resolve_callback_url(url)
    except CallbackUrlError as exc:
        return Attempt(None, str(exc))
    parts = urlsplit(url)
    address = str(addresses[0])
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    try:
        with httpx.Client(timeout=settings.CALLBACK_TIMEOUT_S, follow_redirects=False) as client:
            response = client.post(
                pinned,
                content=body,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": host},
            )
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}")
    return Attempt(response.status_code, "", retry_after(response.headers.get("Retry-After")))


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(float(value), MAX_RETRY_AFTER_S)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, (when - timezone.now()).total_seconds()), MAX_RETRY_AFTER_S)


class Delivery(Protocol):
    """One outbox row: where, what, and how its attempts went."""

    id: Any
    url: str
    webhook_id: str
    payload: Any
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    delivered_at: datetime | None

    def save(self, *, update_fields: list[str]) -> None: ...


def signed_headers(secret: str, webhook_id: str, body: str) -> dict[str, str]:
    sent_at = timezone.now()
    signature = Webhook(secret).sign(webhook_id, sent_at, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "agentexec-callbacks/1",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


def backoff_s(attempts: int, retry_after_s: float | None) -> float:
    if retry_after_s is not None:
        return retry_after_s
    base = settings.CALLBACK_BACKOFF_BASE_S * (2 ** (attempts - 1))
    return base * random.uniform(0.8, 1.2)


def attempt_delivery(delivery: Delivery, *, secret: str) -> None:
    """One signed attempt; the row ends delivered, failed (410, another 4xx, out of attempts)
    or pending with its next attempt due after the backoff (or the receiver's Retry-After)."""
    body = json.dumps(delivery.payload, separators=(",", ":"))
    result = post(
        delivery.url, body=body.encode(), headers=signed_headers(secret, delivery.webhook_id, body)
    )
    delivery.attempts += 1
    delivery.last_status = result.status_code
    delivery.last_error = result.error
    now = timezone.now()
    code = result.status_code
    if code is not None and 200 <= code < 300:
        delivery.state, delivery.delivered_at = DELIVERED, now
    elif code == 410:
        delivery.state, delivery.last_error = FAILED, "410 Gone: receiver unsubscribed"
    elif code is not None and code not in (429,) and code < 500:
        delivery.state = FAILED
        delivery.last_error = f"HTTP {code}: not retried"
    elif delivery.attempts >= settings.CALLBACK_MAX_ATTEMPTS:
        delivery.state = FAILED
        delivery.last_error = f"gave up after {delivery.attempts} attempts: {result.error or code}"
    else:
        delay = backoff_s(delivery.attempts, result.retry_after_s)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    delivery.save(
        update_fields=[
            "attempts", "last_status", "last_error", "state", "delivered_at", "next_attempt_at",
        ]
    )  # fmt: skip


def _claim(model: type[models.Model], delivery: Delivery) -> bool:
    """Takes a lease on a due delivery so that two dispatchers never send it at once."""
    now = timezone.now()
    return bool(
        model._default_manager.filter(
            id=delivery.id, state=PENDING, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=now + LEASE)
    )


def deliver_due(
    outbox: models.QuerySet[Any],
    *,
    secret: Callable[[Any], str],
    wait_s: float | None = None,
) -> int:
    """Sends every due delivery of an outbox (`secret` says what signs each); while a retry
    falls due within `wait_s`, waits for it here (so short backoffs do not wait for the next
    scheduled sweep). Returns the attempts made."""
    wait_s = settings.CALLBACK_INLINE_WAIT_S if wait_s is None else wait_s
    until = time.monotonic() + wait_s
    made = 0
    while True:
        due = outbox.filter(state=PENDING, next_attempt_at__lte=timezone.now())
        for delivery in due.order_by("next_attempt_at", "id")[:100]:
            if _claim(outbox.model, delivery):
                attempt_delivery(delivery, secret=secret(delivery))
                made += 1
        nxt = outbox.filter(state=PENDING).aggregate(n=Min("next_attempt_at"))["n"]
        if nxt is None:
            return made
        sleep_s = (nxt - timezone.now()).total_seconds()
        if time.monotonic() + sleep_s > until:
            return made
        time.sleep(max(0.0, sleep_s))
