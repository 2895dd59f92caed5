"""GET /healthz and GET /readyz: JSON, no API key; readyz names each check and fails with 503."""

import os

import pytest
from django.db import DatabaseError
from django_q.brokers import get_broker
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from runs import health


@pytest.fixture(autouse=True)
def private_stats_cache(settings, tmp_path):
    """The worker heartbeat cache of this test alone (the default directory is shared)."""
    settings.CACHES = {
        **settings.CACHES,
        "q_stats": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        },
    }


def worker_heartbeat(cluster_id="cluster-1"):
    """What a running qcluster saves every half second: its status, in the stats cache."""
    status = Status(pid=os.getpid(), cluster_id=cluster_id)
    get_broker().set_stat(Stat.get_key(cluster_id), SignedPackage.dumps(status, True), 3)


def test_healthz_answers_ok_without_a_key_or_the_database(anon):
    response = anon.get("/healthz")  # no db fixture: a query would fail the test
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_a_worker_and_a_sandbox_provider(anon, db):
    worker_heartbeat()
    response = anon.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "worker", "sandbox"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "1 worker cluster(s)" in body["checks"]["worker"]["message"]


def test_readyz_is_unavailable_without_a_worker_heartbeat(anon, db):
    response = anon.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["worker"] == {
        "ok": False,
        "message": "no worker cluster heartbeat in the last 60 s",
    }
    assert body["checks"]["database"]["ok"] is True


def test_readyz_ignores_a_heartbeat_older_than_the_window(anon, db, settings):
    worker_heartbeat()
    settings.READYZ_WORKER_MAX_AGE_S = -1
    assert anon.get("/readyz").status_code == 503


def test_readyz_is_unavailable_when_the_database_does_not_answer(anon, db, monkeypatch):
    worker_heartbeat()

    class BrokenCursor:
        def __enter__(self):
            raise DatabaseError("connection refused")

        def __exit__(self, *exc):
            return False

    with monkeypatch.context() as patch:
        patch.setattr(health.connection, "cursor", lambda: BrokenCursor())
        response = anon.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["database"]
    assert check["ok"] is False
    assert "connection refused" in check["message"]


def test_readyz_is_unavailable_when_bwrap_is_required_but_does_not_work(
    anon, db, settings, monkeypatch
):
    worker_heartbeat()
    settings.SANDBOX_PROVIDER = "bwrap"
    monkeypatch.setattr(health, "bwrap_available", lambda: False)
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["sandbox"] == {
        "ok": False,
        "message": "SANDBOX_PROVIDER=bwrap but bubblewrap does not work here",
    }


def test_readyz_is_unavailable_with_an_unknown_provider(anon, db, settings):
    worker_heartbeat()
    settings.SANDBOX_PROVIDER = "firecracker"
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["sandbox"]["ok"] is False


def test_readyz_is_unavailable_when_a_chosen_remote_provider_lacks_its_credentials(
    anon, db, settings
):
    worker_heartbeat()
    settings.LEGACY_SANDBOX_PROVIDER = "vercel"
    settings.VERCEL_TOKEN = "t"
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["sandbox"] == {
        "ok": False,
        "message": "LEGACY_SANDBOX_PROVIDER=vercel but VERCEL_TEAM_ID, VERCEL_PROJECT_ID are not set",
    }


def test_readyz_names_a_configured_remote_provider_for_queued_runs(anon, db, settings):
    worker_heartbeat()
    settings.SANDBOX_PROVIDER = "process"
    settings.LEGACY_SANDBOX_PROVIDER = "daytona"
    settings.DAYTONA_API_KEY = "k"
    response = anon.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["sandbox"] == {
        "ok": True,
        "message": "provider process, queued runs: daytona",
    }
