from django.apps import AppConfig


class SandboxesConfig(AppConfig):
    name = "sandboxes"

    def ready(self) -> None:
        from django.conf import settings

        from sandboxes import isolation

        # Plain-Python callers (sandboxes.oneshot) run as the configured user too.
        isolation.configure(uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID)
