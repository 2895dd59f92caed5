"""The cast: alice's organization owns things, bob is a second member of it, charlie is an
outsider in an organization of his own."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from agentexec.tenancy.models import ApiKey, Organization
from agentexec.tenancy.services import api_key_create
from tests.emulators.daytona import DaytonaEmulator
from tests.emulators.vercel import VercelEmulator


@dataclass
class Member:
    organization: Organization
    api_key: ApiKey
    raw_key: str
    client: APIClient


def _member(org_name: str, key_name: str) -> Member:
    key, raw = api_key_create(organization_name=org_name, name=key_name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return Member(key.organization, key, raw, client)


@pytest.fixture
def alice(db) -> Member:
    return _member("Alice & Partners LLP", "alice")


@pytest.fixture
def bob(alice: Member) -> Member:
    return _member(alice.organization.name, "bob")


@pytest.fixture
def charlie(db) -> Member:
    return _member("Charlie Legal", "charlie")


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


# -- staff of the web UI: sam is staff, nora is a signed-in user who is not --

STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user("sam", "sam@example.com", STAFF_PASSWORD, is_staff=True)


@pytest.fixture
def staff(staff_user: User) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def non_staff(db) -> Client:
    user = User.objects.create_user("nora", "nora@example.com", STAFF_PASSWORD)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def vercel_api():
    """A local Vercel Sandbox API (tests.emulators.vercel) for the SDK to talk to."""
    with VercelEmulator() as api:
        yield api


@pytest.fixture
def daytona_api():
    """A local Daytona API and toolbox (tests.emulators.daytona) for the SDK to talk to."""
    with DaytonaEmulator() as api:
        yield api
