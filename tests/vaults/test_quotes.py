"""Quotations found in an answer and matched against a document's text, without a database."""

from __future__ import annotations

import pytest

from vaults import quotes

CLAUSE = (
    "## 9. Indemnity\n\n"
    "Bluejay shall indemnify, defend and hold harmless Northwind and its affili-\n"
    "ates, officers, directors and employees from and against any and all losses.\n"
    "Northwind gives no indemnity under this Agreement.\n\n"
    "## 10. Limitation of Liability\n\n"
    "10.1 In no event shall Northwind\u2019s aggregate liability arising out of or relating to "
    "this Agreement exceed ten thousand U.S. dollars (US$10,000).\n"
)


def test_it_finds_straight_curly_and_block_quotations_of_six_words_or_more() -> None:
    output = (
        'The clause says "Bluejay shall indemnify, defend and hold harmless" (p. 3), '
        'the "Effective Date" is short, and \u201cIn no event shall liability exceed the cap\u201d.\n\n'
        "> Northwind gives no indemnity\n> under this Agreement.\n\nDone."
    )

    found = quotes.find_quotes(output)

    assert [q.text for q in found] == [
        "Bluejay shall indemnify, defend and hold harmless",
        "In no event shall liability exceed the cap",
        "Northwind gives no indemnity under this Agreement.",
    ]
    assert (
        output[found[0].start : found[0].end]
        == '"Bluejay shall indemnify, defend and hold harmless"'
    )
    assert output[found[2].start : found[2].end].startswith("> Northwind")


def test_a_quotation_inside_a_block_quote_counts_once() -> None:
    output = '> "Northwind gives no indemnity under this Agreement."\n'

    assert [q.text for q in quotes.find_quotes(output)] == [
        "Northwind gives no indemnity under this Agreement."
    ]


def test_leading_and_trailing_ellipses_are_not_part_of_the_quotation() -> None:
    [found] = quotes.find_quotes('"... shall indemnify, defend and hold harmless Northwind ..."')
    assert found.text == "shall indemnify, defend and hold harmless Northwind"


def test_whitespace_quote_marks_and_hyphenation_do_not_matter() -> None:
    document = quotes.Normalised(CLAUSE)
    quote = (
        "Bluejay  shall indemnify, defend and hold harmless Northwind and its affiliates, officers"
    )

    match = quotes.locate(quote, document)

    assert match is not None
    assert CLAUSE[match.start : match.end] == (
        "Bluejay shall indemnify, defend and hold harmless Northwind and its affili-\nates, officers"
    )
    curly = "In no event shall Northwind's aggregate liability arising out of"
    assert quotes.locate(curly, document) is not None
    assert quotes.locate("hold harmless Northwind and its affili\u00adates", document) is not None


@pytest.mark.parametrize(
    "quote",
    [
        "Bluejay may indemnify, defend and hold harmless Northwind",  # one word changed
        "bluejay shall indemnify, defend and hold harmless Northwind",  # case
        "luejay shall indemnify, defend and hold harmless Northwind",  # cut inside a word
    ],
)
def test_any_other_difference_is_not_verbatim(quote: str) -> None:
    assert quotes.locate(quote, quotes.Normalised(CLAUSE)) is None


def test_a_subtly_altered_quotation_finds_its_passage_and_the_word_diff() -> None:
    quote = (
        "In no event shall Northwind's aggregate liability arising out of or relating to this "
        "Agreement exceed ten thousand dollars"
    )

    match = quotes.closest(quote, quotes.Normalised(CLAUSE))

    assert match is not None and match.similarity >= 0.8
    assert CLAUSE[match.start : match.end] == (
        "In no event shall Northwind\u2019s aggregate liability arising out of or relating to "
        "this Agreement exceed ten thousand U.S. dollars"
    )
    assert match.diff == [
        {
            "op": "equal",
            "text": "In no event shall Northwind's aggregate liability arising out of or "
            "relating to this Agreement exceed ten thousand",
        },
        {"op": "delete", "text": "U.S."},
        {"op": "equal", "text": "dollars"},
    ]


def test_an_invented_quotation_has_no_close_passage() -> None:
    quote = "The parties shall arbitrate every dispute in Geneva under ICC rules."
    assert quotes.closest(quote, quotes.Normalised(CLAUSE)) is None


def test_a_close_passage_is_found_deep_in_a_long_document() -> None:
    filler = "".join(
        f"Clause {n} sets out routine matters of administration.\n" for n in range(5000)
    )
    text = filler + CLAUSE + filler
    quote = "Bluejay shall indemnify and hold harmless Northwind and its affiliates, officers"

    match = quotes.closest(quote, quotes.Normalised(text))

    assert match is not None
    assert text[match.start : match.end].startswith("Bluejay shall indemnify, defend")
    assert {"op": "delete", "text": ", defend"} in (match.diff or [])


def test_the_section_is_the_nearest_heading_before_the_passage() -> None:
    at = CLAUSE.index("In no event")
    assert quotes.section_before(CLAUSE, at) == "10. Limitation of Liability"
    assert quotes.section_before(CLAUSE, CLAUSE.index("Bluejay")) == "9. Indemnity"
    assert quotes.section_before("No headings here at all.", 5) == ""
