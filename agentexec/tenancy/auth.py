"""`Authorization: Bearer <key>` for the API."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from agentexec import ratelimit
from agentexec.tenancy.models import ApiKey, Organization
from agentexec.tenancy.services import api_key_authenticate


@dataclass(frozen=True)
class ApiClient:
    """The authenticated caller: request.user for API views."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def organization(self) -> Organization:
        return self.api_key.organization


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey]:
        ratelimit.auth_failures_check(request)
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            raise exceptions.NotAuthenticated(
                "Missing API key: send 'Authorization: Bearer <key>'."
            )
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].isprintable():
            ratelimit.auth_failure_record(request)
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Bearer <key>'."
            )
        key = api_key_authenticate(parts[1])
        if key is None:
            ratelimit.auth_failure_record(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiClient(api_key=key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def caller(request: Request) -> ApiClient:
    """The authenticated API client of a request (views behind IsAuthenticated)."""
    user = request.user
    assert isinstance(user, ApiClient), "API views authenticate with ApiKeyAuthentication"
    return user
