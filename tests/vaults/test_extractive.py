"""local/extractive, driven here the way the executor drives a model: its tool calls run
through the real vault tool handlers and their results go back as tool_result blocks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agentexec.llm import extractive
from agentexec.llm.base import ModelRequest, ToolSchema
from agentexec.tools.registry import ToolError
from runs.models import Run
from runs.selectors import tool_context
from tests.conftest import Member
from tests.vaults.conftest import make_run
from vaults import services, tools
from vaults.models import Vault

VAULT_TOOLS = {t.name: t for t in tools.TOOLS}


def drive(run: Run, prompt: str, system: str = "", names: tuple[str, ...] = tuple(VAULT_TOOLS)):
    schemas = [
        ToolSchema(n, VAULT_TOOLS[n].description, VAULT_TOOLS[n].input_schema) for n in names
    ]
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": prompt}]}
    ]
    calls: list[dict[str, Any]] = []
    for _ in range(6):
        request = ModelRequest("local/extractive", system, messages, schemas)
        content = extractive.next_turn(request)
        messages.append({"role": "assistant", "content": content})
        uses = [b for b in content if b["type"] == "tool_use"]
        if not uses:
            return "".join(b["text"] for b in content if b["type"] == "text"), calls
        assert len({u["id"] for u in uses}) == len(uses)
        results = []
        for use in uses:
            calls.append(use)
            handler = VAULT_TOOLS[use["name"]].handler
            assert handler is not None
            try:
                text, is_error = handler(tool_context(run), use["input"]).text(), False
            except ToolError as exc:
                text, is_error = str(exc), True
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": use["id"],
                    "content": text,
                    "is_error": is_error,
                }
            )
        messages.append({"role": "user", "content": results})
    raise AssertionError("the agent never answered")


@pytest.fixture
def demo(alice: Member) -> Vault:
    return services.demo_vault_create(organization=alice.organization)


def findings(answer: str) -> list[str]:
    return re.findall(r"^\d+\. .*$", answer, flags=re.M)


def test_it_reviews_the_nda_citing_clause_text_and_pages(alice: Member, demo: Vault) -> None:
    run = make_run(alice.organization, vault_ids=[demo.id])

    answer, calls = drive(
        run,
        f"Review the NDA in vault {demo.id} and return the top 5 issues.",
        system="You are a careful legal assistant. Focus on indemnity, liability, term, and "
        "confidentiality.",
    )

    print(answer)
    assert len(findings(answer)) == 5
    assert calls[0]["name"] == "vault.list"
    nda = next(o for v in [demo] for o in v.vault_objects.all() if o.filename == "NDA.pdf")
    assert all(
        c["name"] == "vault.search" and c["input"]["objectIds"] == [nda.id] for c in calls[1:]
    )
    assert '"Bluejay shall indemnify, defend and hold harmless' in answer
    assert re.search(r"Indemnity: .*\(NDA\.pdf, p\. 3\)", answer)
    assert re.search(r"Limitation of Liability: .*\(NDA\.pdf, p\. 3\)", answer)
    assert re.search(r"Term and Termination: .*\(NDA\.pdf, p\. 2\)", answer)
    assert "Master-Services-Agreement" not in answer


# --- Decisions, without a database -------------------------------------------------------------


def request(
    prompt: str,
    system: str = "",
    names: tuple[str, ...] = tuple(VAULT_TOOLS),
    messages: list[dict[str, Any]] | None = None,
) -> ModelRequest:
    schemas = [ToolSchema(n, "", {}) for n in names]
    first = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    return ModelRequest("local/extractive", system, first + (messages or []), schemas)


def test_without_vault_tools_it_says_it_has_no_documents() -> None:
    [block] = extractive.next_turn(request("Review the NDA.", names=("shell.exec",)))
    assert block["type"] == "text" and "no documents to work from" in block["text"]


def test_an_empty_scope_is_said_plainly_without_searching() -> None:
    listing = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "vault.list", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": '{"vaults": []}'}],
        },
    ]
    [block] = extractive.next_turn(request("Review the NDA.", messages=listing))
    assert block["type"] == "text" and "no documents to work from" in block["text"]


def test_a_failed_listing_still_searches_and_nothing_found_is_said_plainly() -> None:
    listing = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "vault.list", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True}
            ],
        },
    ]
    searches = extractive.next_turn(request("What is the rent?", messages=listing))
    assert [b["name"] for b in searches] == ["vault.search"]
    found = [
        {"role": "assistant", "content": searches},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": searches[0]["id"],
                    "content": '{"results": []}',
                }
            ],
        },
    ]
    [answer] = extractive.next_turn(request("What is the rent?", messages=listing + found))
    assert "no documents to work from" in answer["text"] and "rent" in answer["text"]


def test_it_searches_each_focus_area_with_unique_ids() -> None:
    listing = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "vault.list", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": '{"vaults": [{"objects": [{"id": "obj_1", "filename": "NDA.pdf", "status": "completed"}]}]}',
                }
            ],
        },
    ]
    system = "Pay particular attention to governing law and the non-solicitation clause."

    blocks = extractive.next_turn(
        request("Review the NDA and list 3 issues.", system, messages=listing)
    )

    queries = [b["input"]["query"] for b in blocks]
    assert len({b["id"] for b in blocks}) == len(blocks)
    assert queries[0].startswith("governing law") and queries[1].startswith("non solicitation")
    assert all(b["input"]["objectIds"] == ["obj_1"] for b in blocks)


@pytest.mark.parametrize(
    ("prompt", "count"),
    [
        ("Return the top 3 issues.", 3),
        ("List the top-ten risks", 10),
        ("Give me 7 key issues", 7),
        ("Review it.", 5),
        ("top 99", 20),
    ],
)
def test_it_honours_top_n(prompt: str, count: int) -> None:
    assert extractive.wanted_count(prompt) == count


def test_focus_areas_are_read_from_the_instructions() -> None:
    areas = extractive.focus_areas("Focus on indemnity, liability, term, and confidentiality.")
    assert areas == ["indemnity", "liability", "term", "confidentiality"]


def passage(text: str, query: str = "indemnify", rank: int = 0, **fields: Any) -> Any:
    fields.setdefault("filename", "NDA.pdf")
    return extractive.Passage(
        query=query, rank=rank, text=text, score=1.0, page_start=3, page_end=3,
        object_id="obj_1", **fields,
    )  # fmt: skip


def test_it_quotes_whole_sentences_never_a_cut_one_or_a_heading() -> None:
    cut = passage(
        "shall indemnify the other for the breach.\n9. Indemnity\n"
        "Bluejay shall indemnify, defend and hold harmless Northwind. Northwind shall indemnify"
    )
    plan = extractive.Plan(key_terms="indemnify", areas=[], defaults=[])

    [finding] = extractive.choose([cut], plan, 5)

    assert finding.quote == "Bluejay shall indemnify, defend and hold harmless Northwind."
    assert finding.label == "Indemnity"


def test_it_never_quotes_the_same_passage_twice() -> None:
    sentence = "Bluejay shall indemnify, defend and hold harmless Northwind."
    overlapping = [
        passage(f"9. Indemnity\n{sentence}", rank=0),
        passage(f"The term is five years. {sentence}", query="indemnity", rank=1),
    ]
    plan = extractive.Plan(key_terms="indemnify", areas=["indemnity"], defaults=[])

    findings = extractive.choose(overlapping, plan, 5)

    assert [f.quote for f in findings] == [sentence]


def test_a_long_sentence_is_quoted_whole_without_an_ellipsis() -> None:
    long = "Bluejay shall indemnify Northwind " + "and its affiliates " * 40 + "in full."

    [finding] = extractive.choose(
        [passage(f"9. Indemnity\n{long}")], extractive.Plan("indemnify", [], []), 5
    )

    assert finding.quote == long and "..." not in finding.quote


def test_the_label_is_the_section_the_search_names_when_the_passage_has_no_heading() -> None:
    found = passage("Tenant shall indemnify Landlord.", section="8. Insurance and Indemnity")

    [finding] = extractive.choose([found], extractive.Plan("indemnify", ["indemnity"], []), 5)

    assert finding.label == "Insurance and Indemnity"
