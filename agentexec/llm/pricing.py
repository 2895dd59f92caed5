"""What a model call cost, from the price table (agentexec/llm/prices.json).

Prices are USD per million tokens, so a token count times its price is already in micros
(millionths of a USD): cost_micros = input*in + output*out + cacheRead*cr + cacheWrite*cw.
The four parts are summed exactly (Decimal) and rounded once, half up, to a whole micro.
A model that is not in the table has an unknown cost, None, never 0.

PRICE_TABLE_PATH names a JSON file of the same shape ({"models": {id: {...}}}); its entries
replace the built-in entries of the same id and add new ones.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from agentexec.llm.base import Usage

BUILTIN_PATH = Path(__file__).with_name("prices.json")
_DATE_SUFFIX = re.compile(r"-\d{4}-?\d{2}-?\d{2}$")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    def as_dict(self) -> dict[str, float]:
        return {
            "input": float(self.input),
            "output": float(self.output),
            "cacheRead": float(self.cache_read),
            "cacheWrite": float(self.cache_write),
        }


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal(-1)
    if isinstance(value, bool) or not number.is_finite() or number < 0:
        raise ImproperlyConfigured(f"{where} must be a non-negative number (got {value!r})")
    return number


def _parse(path: Path) -> dict[str, Price]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"price table {path} cannot be read: {exc}") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ImproperlyConfigured(f'price table {path} needs {{"models": {{id: prices}}}}')
    table: dict[str, Price] = {}
    for model, row in models.items():
        if not isinstance(row, dict) or "input" not in row or "output" not in row:
            raise ImproperlyConfigured(f"price table {path}: {model} needs input and output")
        where = f"price table {path}: {model}"
        price_in = _decimal(row["input"], f"{where}.input")
        table[model] = Price(
            input=price_in,
            output=_decimal(row["output"], f"{where}.output"),
            # Without a cache price, cached tokens cost what plain input does.
            cache_read=_decimal(row.get("cacheRead", row["input"]), f"{where}.cacheRead"),
            cache_write=_decimal(row.get("cacheWrite", row["input"]), f"{where}.cacheWrite"),
        )
    return table


@lru_cache(maxsize=8)
def _load(override: str, mtime_ns: int) -> dict[str, Price]:
    table = _parse(BUILTIN_PATH)
    if override:
        table.update(_parse(Path(override)))
    return table


def load_prices() -> dict[str, Price]:
    """The built-in table, with PRICE_TABLE_PATH's entries over it (re-read when it changes)."""
    override = str(settings.PRICE_TABLE_PATH)
    mtime = 0
    if override:
        try:
            mtime = os.stat(override).st_mtime_ns
        except OSError as exc:
            message = f"PRICE_TABLE_PATH {override} cannot be read: {exc}"
            raise ImproperlyConfigured(message) from exc
    return _load(override, mtime)


def check_price_table(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A Django system check: a broken PRICE_TABLE_PATH fails at startup, not mid-run."""
    try:
        load_prices()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="Fix or unset PRICE_TABLE_PATH.", id="agentexec.E001")]
    return []


def _canonical(model: str) -> str:
    """One spelling per model: "anthropic/claude-sonnet-4-6-20260101" is claude-sonnet-4.6."""
    vendor, _, name = model.lower().partition("/")
    name = _DATE_SUFFIX.sub("", name).replace(".", "-")
    return f"{vendor}/{name}"


def price_for(model: str) -> Price | None:
    table = load_prices()
    if model in table:
        return table[model]
    wanted = _canonical(model)
    return next((p for m, p in table.items() if _canonical(m) == wanted), None)


def cost_micros(model: str, usage: Usage) -> int | None:
    """The call's cost in micro-USD, or None when the model has no price."""
    price = price_for(model)
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * price.cache_write
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
