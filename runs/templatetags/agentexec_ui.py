"""Formatting for the staff UI. Everything returned here is plain text (autoescaped by the
template) except `markdown`, which is sanitized by runs.markdown."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from agentexec.formatting import size
from runs.markdown import render_markdown

register = template.Library()


@register.filter
def money(cost_micros: int | None) -> str:
    """Micro-dollars as dollars: 4 decimals below a cent so small runs do not read as free."""
    if cost_micros is None:
        return "unknown"
    dollars = cost_micros / 1_000_000
    if cost_micros and abs(dollars) < 0.01:
        return f"${dollars:,.4f}"
    return f"${dollars:,.2f}"


@register.filter
def rollup_cost(row: dict[str, Any]) -> str:
    """A rollup's cost: known costs summed, flagged when some model calls have unknown prices."""
    known, unknown = row.get("cost"), row.get("unknown_cost_calls") or 0
    if unknown and known is None:
        return "unknown"
    text = money(known or 0)
    return f"{text} + unknown ({unknown} call{'s' if unknown != 1 else ''})" if unknown else text


@register.filter
def known_cost(row: dict[str, Any]) -> str:
    """The priced part of a rollup's cost, or "unknown" when none of its calls is priced."""
    if row.get("unknown_cost_calls") and row.get("cost") is None:
        return "unknown"
    return money(row.get("cost") or 0)


@register.filter
def tokens(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@register.filter
def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


register.filter("size", size)


@register.filter
def pretty_json(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value  # text output (a shell's stdout) reads better unquoted
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@register.filter
def markdown(text: str | None) -> SafeString:
    return render_markdown(text)


@register.simple_tag
def grounding_badge(run: Any) -> SafeString:
    """A run's quotation check at a glance: "3/3 verified", "1 not found · 1 altered", or a
    dash when its output quotes nothing (needs grounding.runs_with_grounding's counts)."""
    quotes, unverified = run.quote_count, run.unverified_count
    if not quotes:
        return mark_safe('<span class="muted">—</span>')
    if not unverified:
        return format_html(
            '<span class="badge cite-verified">{}/{} verified</span>', quotes, quotes
        )
    not_found, altered = run.not_found_count, unverified - run.not_found_count
    parts = [f"{not_found} not found"] if not_found else []
    parts += [f"{altered} altered"] if altered else []
    status = "not_found" if not_found else "altered"
    return format_html(
        '<span class="badge cite-{}" title="{} of {} quotations verified">{}</span>',
        status,
        quotes - unverified,
        quotes,
        " · ".join(parts),
    )


@register.filter
def key_label(api_key: Any) -> str:
    """An API key as staff know it: its name, else its display prefix."""
    if api_key is None:
        return "—"
    return api_key.name or f"{api_key.prefix}…"
