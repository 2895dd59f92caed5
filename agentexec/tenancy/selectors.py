"""Reads of organizations and API keys shared by the apps' staff pages."""

from __future__ import annotations

from django.db.models import QuerySet

from agentexec.tenancy.models import Organization


def organizations_by_name() -> QuerySet[Organization]:
    """Every organization, for the staff pages' organization filters."""
    return Organization.objects.order_by("name")
