"""Cost arithmetic: micros (millionths of a USD) from the price table."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from agentexec.llm.base import Usage
from agentexec.llm.pricing import cost_micros, load_prices


@pytest.mark.parametrize(
    ("model", "usage", "micros"),
    [
        # $3 in, $15 out, $0.30 cache read, $3.75 cache write per million tokens
        ("anthropic/claude-sonnet-4.6", Usage(1000, 500, 2000, 100), 3000 + 7500 + 600 + 375),
        # $5 in, $25 out
        ("anthropic/claude-opus-4.6", Usage(1_000_000, 1_000_000), 30_000_000),
        # $1 in, $5 out, $0.10 cache read, $1.25 cache write
        ("anthropic/claude-haiku-4.5", Usage(10, 10, 10, 10), 10 + 50 + 1 + 13),
        # $1.25 in, $10 out, $0.125 cached
        ("openai/gpt-5", Usage(800, 200, 8), 1000 + 2000 + 1),
        # $2.50 in, $10 out
        ("openai/gpt-4o", Usage(4, 1), 20),
        ("local/extractive", Usage(5000, 800, estimated=True), 0),
    ],
)
def test_it_prices_each_model(model: str, usage: Usage, micros: int) -> None:
    assert cost_micros(model, usage) == micros


def test_it_rounds_half_up_once_after_summing() -> None:
    # gpt-5-nano: $0.05 in, $0.40 out → 0.25 + 0.4 = 0.65 micros, rounded once to 1.
    assert cost_micros("openai/gpt-5-nano", Usage(5, 1)) == 1
    assert cost_micros("openai/gpt-5-nano", Usage(10, 0)) == 1  # 0.5 rounds up
    assert cost_micros("openai/gpt-5-nano", Usage(9, 0)) == 0


def test_it_has_no_cost_for_an_unknown_model() -> None:
    assert cost_micros("acme/unknown-model", Usage(1000, 1000)) is None
    assert cost_micros("acme/unknown-model", Usage()) is None


def test_it_matches_api_names_and_dated_snapshots_to_the_product_id() -> None:
    usage = Usage(1000, 1000)
    expected = cost_micros("anthropic/claude-sonnet-4.5", usage)
    assert cost_micros("anthropic/claude-sonnet-4-5", usage) == expected
    assert cost_micros("anthropic/claude-sonnet-4-5-20250929", usage) == expected
    assert cost_micros("openai/gpt-4o-2024-08-06", usage) == cost_micros("openai/gpt-4o", usage)


def test_it_reads_overrides_from_price_table_path(settings, tmp_path: Path) -> None:
    table = tmp_path / "prices.json"
    table.write_text(
        json.dumps(
            {
                "models": {
                    "anthropic/claude-sonnet-4.6": {"input": 2, "output": 10},
                    "Qwen/Qwen2.5-7B-Instruct": {"input": 0, "output": 0},
                }
            }
        )
    )
    settings.PRICE_TABLE_PATH = str(table)

    assert cost_micros("anthropic/claude-sonnet-4.6", Usage(100, 10, cache_read_tokens=50)) == (
        200 + 100 + 100  # no cache price given: cached tokens cost plain input
    )
    assert cost_micros("Qwen/Qwen2.5-7B-Instruct", Usage(100, 10)) == 0
    assert cost_micros("openai/gpt-4o", Usage(4, 1)) == 20  # built-in entries stay
    assert "Qwen/Qwen2.5-7B-Instruct" in load_prices()


def test_it_rejects_a_broken_price_table(settings, tmp_path: Path) -> None:
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"models": {"acme/x": {"input": -1, "output": 1}}}))
    settings.PRICE_TABLE_PATH = str(table)

    with pytest.raises(ImproperlyConfigured, match=r"acme/x\.input must be a non-negative number"):
        load_prices()
