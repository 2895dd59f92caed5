from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from agentexec.tenancy.models import ApiKey, Organization
from agentexec.tenancy.services import api_key_revoke


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name", "id", "monthly_token_budget", "monthly_cost_budget_micros", "created_at",
    ]  # fmt: skip
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = ["id", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by `manage.py createapikey`, which shows the key once

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at=None))
        for key in keys:
            api_key_revoke(prefix=key.prefix)
        count = len(keys)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)
