from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

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
