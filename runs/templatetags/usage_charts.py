"""Server-side SVG bar charts for the usage audit: per-day bars stacked by model, drawn as
<rect class="bar series-N" data-model=... data-day=... data-value=...> so the page needs no
JavaScript and tests can find each bar."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import template

from runs.templatetags.agentexec_ui import money, tokens

register = template.Library()

# Drawn at roughly the size it is shown (two charts side by side), so text stays legible.
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 10, 28
TICKS = 4
PALETTE_SIZE = 8
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    model: str
    day: str
    value: int
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


def nice_step(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value: round axis ticks."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)  # pragma: no cover


def metric_value(row: dict[str, Any], metric: str) -> int:
    if metric == "cost":
        return int(row.get("cost") or 0)
    return int(row["input_tokens"]) + int(row["output_tokens"])


def chart_geometry(
    rows: Sequence[dict[str, Any]], days: Sequence[date], models: Sequence[str], metric: str
) -> dict[str, Any]:
    fmt: Callable[[int], str] = money if metric == "cost" else tokens
    per_day: dict[date, dict[str, int]] = {}
    for row in rows:
        value = metric_value(row, metric)
        if value:
            per_day.setdefault(row["day"], {})[row["model"]] = value
    peak = max((sum(v.values()) for v in per_day.values()), default=0)
    step = nice_step(peak / TICKS)
    top = step * TICKS
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(1.0, slot * 0.72)
    scale = plot_h / top
    bars: list[Bar] = []
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base = float(TOP + plot_h)
        for series, model in enumerate(models):
            value = per_day.get(day, {}).get(model, 0)
            if not value:
                continue
            h = value * scale
            base -= h
            bars.append(
                Bar(
                    x=round(x, 2),
                    y=round(base, 2),
                    width=round(bar_w, 2),
                    height=round(max(h, 0.5), 2),
                    series=series % PALETTE_SIZE,
                    model=model,
                    day=day.isoformat(),
                    value=value,
                    label=f"{day:%b %d} · {model}: {fmt(value)}",
                )
            )
    ticks = [
        Tick(y=round(TOP + plot_h - plot_h * k / 4, 2), label=fmt(int(top * k / 4)))
        for k in range(5)
    ]
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    xlabels = [
        XLabel(x=round(LEFT + i * slot + slot / 2, 2), label=f"{day:%b %d}")
        for i, day in enumerate(days)
        if i % every == 0
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": TOP + plot_h,
        "bars": bars,
        "ticks": ticks,
        "xlabels": xlabels,
        "has_data": bool(bars),
    }


@register.inclusion_tag("runs/_bar_chart.html")
def stacked_bar_chart(
    rows: Sequence[dict[str, Any]],
    days: Sequence[date],
    models: Sequence[str],
    metric: str,
    title: str,
) -> dict[str, Any]:
    return {
        "metric": metric,
        "title": title,
        **chart_geometry(rows, days, models, metric),
    }
