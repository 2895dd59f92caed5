"""Which provider runs which runs, the startup check and the providers catalog."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from sandboxes import selection

SECRET = "vercel-secret-token-value"


def configure_vercel(settings, token=SECRET):
    settings.VERCEL_TOKEN = token
    settings.VERCEL_TEAM_ID = "team_1"
    settings.VERCEL_PROJECT_ID = "prj_1"


def test_it_finds_nothing_wrong_with_local_providers(settings):
    settings.SANDBOX_PROVIDER = "process"
    settings.LEGACY_SANDBOX_PROVIDER = "auto"
    assert selection.problems() == []
    assert selection.check_providers() == []


def test_it_names_the_missing_variables_of_a_chosen_remote_provider(settings):
    settings.SANDBOX_PROVIDER = "vercel"
    settings.VERCEL_TOKEN = "x"
    settings.LEGACY_SANDBOX_PROVIDER = "daytona"
    assert selection.problems() == [
        "SANDBOX_PROVIDER=vercel but VERCEL_TEAM_ID, VERCEL_PROJECT_ID are not set",
        "LEGACY_SANDBOX_PROVIDER=daytona but DAYTONA_API_KEY is not set",
    ]
    errors = selection.check_providers()
    assert [e.id for e in errors] == ["sandboxes.E010", "sandboxes.E010"]
    assert "VERCEL_TEAM_ID" in errors[0].msg


def test_it_refuses_an_unknown_provider(settings):
    settings.LEGACY_SANDBOX_PROVIDER = "firecracker"
    (problem,) = selection.problems()
    assert problem.startswith("LEGACY_SANDBOX_PROVIDER='firecracker' is not a sandbox provider")


def test_the_startup_checks_fail_for_a_chosen_provider_without_credentials(settings):
    settings.SANDBOX_PROVIDER = "daytona"
    with pytest.raises(SystemCheckError, match="SANDBOX_PROVIDER=daytona but DAYTONA_API_KEY"):
        call_command("check")


def test_the_catalog_shows_what_is_configured_and_never_a_secret(alice, settings):
    configure_vercel(settings)
    settings.VERCEL_SANDBOX_API_URL = "https://user:pw@proxy.example/api?k=1"
    settings.SANDBOX_PROVIDER = "vercel"
    settings.LEGACY_SANDBOX_PROVIDER = "process"

    response = alice.client.get("/agent/v1/sandbox-providers")

    assert response.status_code == 200
    body = response.json()
    assert (body["sync"], body["legacy"]) == ("vercel", "process")
    by_name = {p["name"]: p for p in body["providers"]}
    assert by_name["vercel"] == {
        "name": "vercel",
        "location": "remote",
        "configured": True,
        "missing": [],
        "apiUrl": "https://proxy.example/api",
        "selectedFor": ["sync"],
    }
    assert by_name["daytona"]["configured"] is False
    assert by_name["daytona"]["missing"] == ["DAYTONA_API_KEY"]
    assert by_name["process"]["selectedFor"] == ["legacy"]
    assert SECRET not in response.content.decode()
    assert "pw" not in response.content.decode()


def test_the_catalog_needs_an_api_key(anon):
    assert anon.get("/agent/v1/sandbox-providers").status_code == 401
