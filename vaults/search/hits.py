"""What a search backend returns: one ranked chunk."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float  # higher is better, in (0, 1)
