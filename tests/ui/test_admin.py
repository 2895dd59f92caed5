"""The Django admin: every model registered, its pages load, audit data is read-only, and the
cancel action goes through run_cancel."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from agentexec.tenancy.models import ApiKey, Organization
from runs.events import event_append
from runs.models import (
    Agent,
    CallbackDelivery,
    IdempotencyRecord,
    Run,
    RunEvent,
    RunStep,
    UsageEntry,
    Watcher,
)
from sandboxes.models import RelayMessage, Sandbox
from tests.factories import make_run, make_step, make_usage

MODELS = [
    Agent, Run, RunStep, UsageEntry, RunEvent, Watcher, CallbackDelivery, IdempotencyRecord,
    Sandbox, RelayMessage, Organization, ApiKey,
]  # fmt: skip


@pytest.fixture
def superuser(db) -> Client:
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def run(alice) -> Run:
    run = make_run(organization=alice.organization, api_key=alice.api_key, status="running")
    make_step(run, 1, "tool_call", tool_name="vault.search", tool_input={"query": "x"})
    make_usage(run, prompt_tokens=10, completion_tokens=5, cost_micros=None)
    sandbox = Sandbox.objects.create(run=run, organization=run.organization, provider="process",
                                     cpu=1, memory_mib=512)  # fmt: skip
    RelayMessage.objects.create(sandbox=sandbox, direction="up", seq=1, body={"type": "ready"})
    event_append(run_id=run.id, type="run.running", data={"status": "running"})
    Watcher.objects.create(run=run, callback_url="https://hooks.example.com/alice")
    CallbackDelivery.objects.create(
        run=run, organization=run.organization, url="https://hooks.example.com/alice",
        webhook_id="wh_1", event_type="run.completed", payload={}, next_attempt_at=timezone.now(),
    )  # fmt: skip
    IdempotencyRecord.objects.create(
        organization=run.organization, key="alice-1", path="/agent/v1/run", request_hash="0" * 64
    )
    return run


@pytest.mark.parametrize("app", ["runs", "sandboxes", "tenancy"])
def test_every_model_is_registered(app: str):
    for model in apps.get_app_config(app).get_models():
        assert admin.site.is_registered(model), model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_loads_and_searches(superuser: Client, run: Run, model: type[Model]):
    meta = model._meta
    url = f"/admin/{meta.app_label}/{meta.model_name}/"
    assert superuser.get(url).status_code == 200
    assert superuser.get(url, {"q": "alice"}).status_code == 200


@pytest.mark.parametrize("model", MODELS[:-2], ids=lambda m: m.__name__)
def test_every_detail_page_loads(superuser: Client, run: Run, model: type[Model]):
    obj = model._default_manager.first()
    assert obj is not None
    meta = model._meta
    # The admin escapes "_" in primary keys (all of ours have one), as its own links do.
    response = superuser.get(f"/admin/{meta.app_label}/{meta.model_name}/{quote(obj.pk)}/change/")
    assert response.status_code == 200


def test_the_run_page_shows_its_steps_usage_and_sandbox(superuser: Client, run: Run):
    html = superuser.get(f"/admin/runs/run/{quote(run.id)}/change/").content.decode()
    assert "vault.search" in html and "process" in html and "Usage entries" in html
    assert "Steps" in html and "Sandboxes" in html


def test_runs_are_searchable_across_relations(superuser: Client, run: Run, charlie):
    make_run(organization=charlie.organization, api_key=charlie.api_key)
    response = superuser.get("/admin/runs/run/", {"q": "Alice & Partners"})
    assert [r.id for r in response.context["cl"].result_list] == [run.id]
    response = superuser.get("/admin/runs/run/", {"q": alice_prefix(run)})
    assert [r.id for r in response.context["cl"].result_list] == [run.id]


def alice_prefix(run: Run) -> str:
    assert run.api_key is not None
    return run.api_key.prefix


def test_audit_records_cannot_be_added_changed_or_deleted(superuser: Client, run: Run):
    entry = UsageEntry.objects.get(run=run)
    assert superuser.get("/admin/runs/usageentry/add/").status_code == 403
    assert (
        superuser.post(
            f"/admin/runs/usageentry/{quote(entry.id)}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert UsageEntry.objects.filter(id=entry.id).exists()
    assert superuser.get("/admin/runs/run/add/").status_code == 403
    assert (
        superuser.post(f"/admin/runs/run/{quote(run.id)}/delete/", {"post": "yes"}).status_code
        == 403
    )
    response = superuser.post(f"/admin/runs/run/{quote(run.id)}/change/", {"prompt": "changed"})
    run.refresh_from_db()
    assert run.prompt != "changed"
    assert response.status_code in (200, 302)


def test_the_cancel_action_cancels_active_runs_only(superuser: Client, run: Run, alice):
    queued = make_run(organization=alice.organization, status="queued")
    done = make_run(organization=alice.organization, status="completed")
    response = superuser.post(
        "/admin/runs/run/",
        {"action": "cancel_runs", "_selected_action": [run.id, queued.id, done.id]},
        follow=True,
    )
    assert "Cancelled 2 run(s)." in response.content.decode()
    statuses = dict(Run.objects.values_list("id", "status"))
    assert statuses == {run.id: "cancelled", queued.id: "cancelled", done.id: "completed"}


def test_the_revoke_action_revokes_keys(superuser: Client, alice):
    superuser.post(
        "/admin/tenancy/apikey/",
        {"action": "revoke", "_selected_action": [alice.api_key.id]},
    )
    alice.api_key.refresh_from_db()
    assert alice.api_key.revoked_at is not None


def test_the_run_list_links_to_the_staff_review(superuser: Client, run: Run):
    html = superuser.get("/admin/runs/run/").content.decode()
    assert f'href="/ui/runs/{run.id}/"' in html
