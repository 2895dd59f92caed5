import pytest
from django.core.management import call_command

from agentexec.tenancy.models import ApiKey
from agentexec.tenancy.services import api_key_create, hash_key

EXECUTE = "/agent/v1/execute"


def test_it_stores_only_prefix_and_hash(alice):
    key = ApiKey.objects.get(id=alice.api_key.id)
    assert key.key_hash == hash_key(alice.raw_key)
    assert alice.raw_key.startswith(key.prefix)
    assert alice.raw_key not in (key.prefix, key.key_hash, key.name)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Basic abc", "Bearer a b", "Token ae_abc", "Bearer ae_not-a-real-key"],
    ids=["missing", "no-key", "basic", "three-parts", "wrong-scheme", "unknown"],
)
def test_it_refuses_bad_keys_with_401(anon, db, header):
    if header is not None:
        anon.credentials(HTTP_AUTHORIZATION=header)
    response = anon.post(EXECUTE, {"prompt": "hi"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_a_revoked_key(alice):
    call_command("revokeapikey", alice.api_key.prefix)
    response = alice.client.post(EXECUTE, {"prompt": "hi"}, format="json")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_it_touches_last_used_at(alice):
    alice.client.post(EXECUTE, {}, format="json")
    assert ApiKey.objects.get(id=alice.api_key.id).last_used_at is not None


def test_createapikey_prints_the_key_alone_on_the_last_line(db, capsys):
    call_command("createapikey", "--org", "Dana LLP", "--name", "ci")
    out = capsys.readouterr().out.strip().splitlines()
    raw = out[-1]
    key = ApiKey.objects.get(key_hash=hash_key(raw))
    assert key.organization.name == "Dana LLP"
    assert key.name == "ci"


def test_createapikey_reuses_the_organization(db):
    first, _ = api_key_create(organization_name="Erin LLP")
    second, _ = api_key_create(organization_name="Erin LLP")
    assert first.organization_id == second.organization_id


def test_revokeapikey_fails_clearly_for_an_unknown_prefix(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No API key"):
        call_command("revokeapikey", "ae_nothing")


def test_webhooksecret_shows_and_rotates_the_secret(alice, capsys):
    call_command("webhooksecret", "--org", alice.organization.name)
    shown = capsys.readouterr().out.strip()
    assert shown == alice.organization.webhook_secret and shown.startswith("whsec_")
    call_command("webhooksecret", "--org", alice.organization.name, "--rotate")
    rotated = capsys.readouterr().out.strip()
    alice.organization.refresh_from_db()
    assert rotated != shown and rotated == alice.organization.webhook_secret
