"""Nothing a run carries can inject markup into a staff page."""

from __future__ import annotations

import pytest
from django.test import Client

from runs.markdown import render_markdown
from runs.models import Run
from tests.factories import make_run, make_step

SCRIPT = "<script>alert('pwned')</script>"


@pytest.fixture
def hostile(alice) -> Run:
    run = make_run(
        organization=alice.organization,
        status="running",
        prompt=f"Ignore the NDA {SCRIPT}",
        instructions=SCRIPT,
        output="See [the clause](javascript:alert(1)) and <img src=x onerror=alert(2)>" + SCRIPT,
        error=SCRIPT,
        logs_runner=SCRIPT,
        logs_linc="<b>linc</b>",
        final_response={"summary": SCRIPT, "issues": [SCRIPT]},
        model="local/<i>echo</i>",
    )
    make_step(run, 1, "tool_call", tool_name="<b>x</b>", tool_input={"q": SCRIPT})
    make_step(run, 2, "tool_result", tool_name="vault.read", tool_output=SCRIPT)
    make_step(run, 3, "output", content=SCRIPT)
    return run


def test_a_prompt_with_a_script_tag_renders_as_text(staff: Client, hostile: Run):
    html = staff.get(f"/ui/runs/{hostile.id}/").content.decode()
    assert "<script>alert" not in html
    assert "Ignore the NDA &lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html


def test_a_javascript_link_in_the_output_renders_inert(staff: Client, hostile: Run):
    html = staff.get(f"/ui/runs/{hostile.id}/").content.decode()
    assert "javascript:" not in html
    assert "onerror" not in html and "<img" not in html
    assert ">the clause</a>" in html  # the link text survives, its href does not


def test_tool_steps_logs_and_final_response_are_escaped(staff: Client, hostile: Run):
    html = staff.get(f"/ui/runs/{hostile.id}/").content.decode()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>linc</b>" not in html and "&lt;b&gt;linc&lt;/b&gt;" in html
    assert "<i>echo</i>" not in html


def test_the_live_fragments_are_escaped(staff: Client, hostile: Run):
    body = staff.get(f"/ui/runs/{hostile.id}/live").json()
    assert "<script>" not in body["steps"] and "<script>" not in body["facts"]
    assert "&lt;script&gt;" in body["steps"]
    assert body["logs"]["runner"] == SCRIPT  # sent as data; the page sets it as text


def test_the_run_list_escapes_what_it_shows(staff: Client, hostile: Run):
    html = staff.get("/ui/runs/").content.decode()
    assert "<i>echo</i>" not in html and "&lt;i&gt;echo&lt;/i&gt;" in html


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x]( javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
        '<a href="&#106;avascript:alert(1)">x</a>',
    ],
)
def test_markdown_drops_dangerous_link_schemes(source: str):
    html = str(render_markdown(source))
    assert "href" not in html, html


def test_markdown_keeps_safe_links_and_formatting():
    html = str(render_markdown("**bold** [site](https://example.com) [m](mailto:a@b.c)\n\n- one"))
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html and 'href="mailto:a@b.c"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<li>one</li>" in html


def test_markdown_removes_raw_html_and_images():
    source = '<script>x()</script><iframe src="https://x"></iframe>![i](https://x/p.png)'
    html = str(render_markdown(source + '<p onclick="x()">t</p>'))
    assert "<script" not in html and "x()" not in html
    assert "<iframe" not in html and "<img" not in html and "onclick" not in html
