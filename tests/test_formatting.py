"""Byte counts and citations for people, as the staff UI, the admin and agents show them."""

from django.template import Context, Template

from agentexec.formatting import cite_label, size


def test_it_shows_sizes_in_binary_units():
    assert size(None) == "—"
    assert size(512) == "512 B"
    assert size(1536) == "1.5 KiB"
    assert size(5 * 1024 * 1024) == "5.0 MiB"
    assert size(3 * 1024**4) == "3,072.0 GiB"


def test_the_template_filter_is_the_same_function():
    rendered = Template("{% load agentexec_ui %}{{ n|size }}").render(Context({"n": 2048}))
    assert rendered == "2.0 KiB"


def test_a_citation_names_the_file_and_its_page_or_pages() -> None:
    assert cite_label("NDA.pdf", 3, 3) == "NDA.pdf, p. 3"
    assert cite_label("NDA.pdf", 3, None) == "NDA.pdf, p. 3"
    assert cite_label("NDA.pdf", 3, 4) == "NDA.pdf, pp. 3-4"
    assert cite_label("memo.md", None, None) == "memo.md"
