"""Byte counts for people, as the staff UI and the admin show them."""

from django.template import Context, Template

from agentexec.formatting import size


def test_it_shows_sizes_in_binary_units():
    assert size(None) == "—"
    assert size(512) == "512 B"
    assert size(1536) == "1.5 KiB"
    assert size(5 * 1024 * 1024) == "5.0 MiB"
    assert size(3 * 1024**4) == "3,072.0 GiB"


def test_the_template_filter_is_the_same_function():
    rendered = Template("{% load agentexec_ui %}{{ n|size }}").render(Context({"n": 2048}))
    assert rendered == "2.0 KiB"
