import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agentexec.errors import NotFoundError
from agentexec.tenancy.models import ApiKey, Organization, new_webhook_secret

KEY_PREFIX = "ae_"
PREFIX_LEN = len(KEY_PREFIX) + 8
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, organization_name: str, name: str = "") -> tuple[ApiKey, str]:
    """Create an API key (and its organization if new). Returns the row and the raw key."""
    organization, _ = Organization.objects.get_or_create(name=organization_name)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        organization=organization, name=name, prefix=raw[:PREFIX_LEN], key_hash=hash_key(raw)
    )
    return key, raw


def api_key_revoke(*, prefix: str) -> ApiKey:
    updated = ApiKey.objects.filter(prefix=prefix, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise NotFoundError(f"No API key with prefix {prefix!r}.")
    if not updated and key.revoked_at is None:  # pragma: no cover - raced with itself
        raise NotFoundError(f"API key {prefix!r} could not be revoked.")
    return key


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key for a raw bearer token, or None. Touches last_used_at at most once a minute
    so that authentication does not turn every read into a write."""
    key = (
        ApiKey.objects.select_related("organization")
        .filter(key_hash=hash_key(raw), revoked_at=None)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(id=key.id).update(last_used_at=now)
        key.last_used_at = now
    return key


def webhook_secret_rotate(*, organization: Organization) -> str:
    organization.webhook_secret = new_webhook_secret()
    organization.save(update_fields=["webhook_secret"])
    return organization.webhook_secret
