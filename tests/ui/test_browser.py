"""The staff UI in a real browser: Playwright driving Debian's Chromium against live_server.
Screenshots of every page are kept under a temporary directory (or $UI_SCREENSHOT_DIR)."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from runs.models import Run
from tests.conftest import STAFF_PASSWORD
from tests.factories import make_run, make_step, make_usage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's async-safety guard is lifted for this module only.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("UI_SCREENSHOT_DIR")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
        return Path(configured)
    return tmp_path_factory.mktemp("ui-screenshots")


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def staff_user(transactional_db: None) -> User:
    return User.objects.create_user("sam", "sam@example.com", STAFF_PASSWORD, is_staff=True)


def log_in(page: Page, staff_user: User, next_path: str = "/ui/runs/") -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/ui/login/\?next="))
    page.fill("#id_username", staff_user.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).not_to_have_text("Staff log in")


def shot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_staff_log_in_and_filter_the_run_list(
    page: Page, staff_user: User, alice, screenshots: Path
):
    failed = make_run(organization=alice.organization, api_key=alice.api_key, status="failed",
                      prompt="Check the lease", model="local/extractive")  # fmt: skip
    done = make_run(organization=alice.organization, api_key=alice.api_key, status="completed",
                    input_tokens=1200, output_tokens=340, cost_micros=5100, duration_ms=3400)  # fmt: skip
    page.goto("/ui/login/")
    shot(page, screenshots, "01-login")
    log_in(page, staff_user)
    expect(page.locator("h1")).to_have_text("Runs")
    # The project's stylesheet is served (whitenoise, DEBUG=False): the top bar is dark.
    background = page.eval_on_selector(".topbar", "el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(30, 41, 59)"
    expect(page.locator(f"tr[data-run-id='{done.id}']")).to_be_visible()
    shot(page, screenshots, "02-run-list")

    page.select_option("#f-status", "failed")
    page.click("#run-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"[?&]status=failed"))
    rows = page.locator("#runs-table tbody tr[data-run-id]")
    expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-run-id") == failed.id
    expect(page.locator("#f-status")).to_have_value("failed")  # the filter state survives
    shot(page, screenshots, "03-run-list-filtered")


def test_open_a_run_and_expand_a_tool_step(page: Page, staff_user: User, alice, screenshots: Path):
    run = make_run(
        organization=alice.organization, api_key=alice.api_key, status="completed",
        prompt="Review the NDA in vault_x and list the top issues.",
        output="## Findings\n\n1. **Term**: five years.\n2. Broad *residuals* clause.",
        final_response={"summary": "Two issues.", "issues": ["Term: five years.", "Residuals."]},
        logs_runner="runtime ready in 41 ms", logs_linc="linc booted",
        input_tokens=2400, output_tokens=310, tool_calls=1, cost_micros=9100, duration_ms=5200,
    )  # fmt: skip
    make_step(
        run,
        1,
        "tool_call",
        tool_name="vault.search",
        tool_input={"query": "term of agreement", "limit": 5},
    )
    make_step(
        run,
        2,
        "tool_result",
        tool_name="vault.search",
        tool_output={"hits": [{"chunk": 3, "text": "The term is five years."}]},
    )
    make_step(run, 3, "output", content="Findings written.")
    make_usage(run, prompt_tokens=2400, completion_tokens=310, cost_micros=9100)
    log_in(page, staff_user)
    page.click(f"a[href='/ui/runs/{run.id}/']")
    expect(page.locator("h1")).to_have_text(run.id)
    expect(page.locator("#output h2")).to_have_text("Findings")

    tool_input = page.locator("#step-1 pre.json")
    expect(tool_input).to_be_hidden()
    page.click("#step-1 summary")
    expect(tool_input).to_be_visible()
    expect(tool_input).to_contain_text('"query": "term of agreement"')
    page.click("#step-2 summary")
    expect(page.locator("#step-2 pre.json")).to_contain_text("The term is five years.")
    shot(page, screenshots, "04-run-review")


def test_watch_a_running_run_update_and_cancel_it(
    page: Page, staff_user: User, alice, screenshots: Path
):
    run = make_run(organization=alice.organization, api_key=alice.api_key, status="running",
                   prompt="Research limitation periods.", started_at=timezone.now(),
                   logs_runner="runtime ready")  # fmt: skip
    make_step(
        run, 1, "tool_call", tool_name="legal-research.search", tool_input={"q": "limitation"}
    )
    make_step(run, 2, "tool_result", tool_name="legal-research.search", tool_output={"results": 3})
    log_in(page, staff_user, f"/ui/runs/{run.id}/")
    expect(page.locator("#run-facts .badge")).to_have_text("running")
    expect(page.locator("#steps li.step")).to_have_count(2)

    make_step(run, 3, "tool_call", tool_name="vault.read", tool_input={"objectId": "obj_1"})
    Run.objects.filter(id=run.id).update(logs_runner="runtime ready\nstep 3: vault.read")
    expect(page.locator("#step-3")).to_be_visible()
    expect(page.locator("#step-3")).to_contain_text("vault.read")
    expect(page.locator("#log-runner")).to_contain_text("step 3: vault.read")
    shot(page, screenshots, "05-run-live")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-button")
    expect(page.locator("#run-facts .badge")).to_have_text("cancelled")
    expect(page.locator("#cancel-button")).to_have_count(0)
    run.refresh_from_db()
    assert run.status == "cancelled"
    shot(page, screenshots, "06-run-cancelled")


def test_a_run_that_ends_while_watched_shows_its_final_state(page: Page, staff_user: User, alice):
    run = make_run(organization=alice.organization, status="running", started_at=timezone.now())
    log_in(page, staff_user, f"/ui/runs/{run.id}/")
    expect(page.locator("#run-facts .badge")).to_have_text("running")
    Run.objects.filter(id=run.id).update(
        status="completed", output="All **done**.", completed_at=timezone.now(), duration_ms=900
    )
    expect(page.locator("#run-facts .badge")).to_have_text("completed")
    expect(page.locator("#output strong")).to_have_text("done")


def test_the_usage_page_draws_the_seeded_bars_and_exports_csv(
    page: Page,
    staff_user: User,
    alice,
    charlie,
    screenshots: Path,
):
    now = timezone.now()
    models = ["anthropic/claude-sonnet-4.6", "openai/gpt-5-mini", "local/extractive"]
    expected = set()
    for days_ago in range(0, 14, 2):
        for i, model in enumerate(models[: 1 + days_ago % 3]):
            member = alice if i % 2 == 0 else charlie
            when = now - timedelta(days=days_ago)
            run = make_run(organization=member.organization, api_key=member.api_key, model=model,
                           created_at=when)  # fmt: skip
            cost = None if model.startswith("local/") else 1000 * (i + 1) * (days_ago + 1)
            make_usage(run, created_at=when, prompt_tokens=900 * (i + 1) + 40 * days_ago,
                       completion_tokens=120 * (i + 1), cost_micros=cost)  # fmt: skip
            expected.add((model, timezone.localdate(when).isoformat()))
    log_in(page, staff_user, "/ui/usage/")
    expect(page.locator("h1")).to_have_text("Token usage")
    bars = page.locator("svg.bar-chart rect.bar[data-metric='tokens']")
    expect(bars).to_have_count(len(expected))
    drawn = {(b.get_attribute("data-model"), b.get_attribute("data-day")) for b in bars.all()}
    assert drawn == expected
    expect(page.locator("svg.bar-chart rect.bar[data-metric='cost']")).to_have_count(
        len([e for e in expected if not e[0].startswith("local/")])
    )
    shot(page, screenshots, "07-usage")

    with page.expect_download() as download_info:
        page.click("#export-rollup")
    download = download_info.value
    assert download.suggested_filename.startswith("usage-rollup-")
    text = Path(download.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    total = next(r for r in rows if r["group"] == "total")
    assert int(total["runs"]) == len(expected)
    assert {r["model"] for r in rows if r["group"] == "model"} == set(models)

    page.click(f"#by-organization a:text('{alice.organization.name}')")
    expect(page.locator("h1")).to_have_text("Runs")
    expect(page.locator("#f-organization")).to_have_value(alice.organization.id)


def test_browse_a_vault_down_to_an_objects_chunks(
    page: Page, staff_user: User, alice, screenshots: Path
):
    from vaults.models import Chunk, ObjectText, Vault, VaultObject

    vault = Vault.objects.create(organization=alice.organization, name="Supplier contracts",
                                 total_objects=2, total_bytes=48_000, total_chunks=2)  # fmt: skip
    obj = VaultObject.objects.create(
        vault=vault, filename="msa.pdf", content_type="application/pdf", status="completed",
        size_bytes=40_000, page_count=2, chunk_count=2, text_length=90,
    )  # fmt: skip
    VaultObject.objects.create(vault=vault, filename="draft.docx", content_type="application/msword",
                               status="processing", size_bytes=8_000)  # fmt: skip
    ObjectText.objects.create(
        object=obj, text="Term. Five years.\n\nLiability. Capped at fees paid."
    )
    Chunk.objects.create(
        object=obj, vault=vault, index=0, text="Term. Five years.", page_start=1, page_end=1
    )
    Chunk.objects.create(object=obj, vault=vault, index=1, text="Liability. Capped at fees paid.",
                         page_start=2, page_end=2)  # fmt: skip
    log_in(page, staff_user, "/ui/vaults/")
    page.click("text=Supplier contracts")
    expect(page.locator("#objects-table .badge.ingest-processing")).to_have_text("processing")
    shot(page, screenshots, "08-vault")
    page.click("text=msa.pdf")
    expect(page.locator("#chunks li")).to_have_count(2)
    expect(page.locator("#object-text")).to_contain_text("Capped at fees paid.")
    shot(page, screenshots, "09-vault-object")
