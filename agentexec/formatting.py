"""Plain-text formatting shared by the staff UI's template filters, the admin, and what agents and
reviewers read (how a passage is cited)."""

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


def cite_label(filename: str, page_start: int | None, page_end: int | None) -> str:
    """How a passage is cited: "NDA.pdf, p. 3", "NDA.pdf, pp. 3-4", or the name alone."""
    if page_start is None:
        return filename
    if page_end is None or page_end == page_start:
        return f"{filename}, p. {page_start}"
    return f"{filename}, pp. {page_start}-{page_end}"
