"""Plain-text formatting shared by the staff UI's template filters and the admin."""

from __future__ import annotations


def size(num_bytes: int | None) -> str:
    """A byte count for people: B, KiB, MiB or GiB; "—" when unknown."""
    if num_bytes is None:
        return "—"
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GiB"  # pragma: no cover
