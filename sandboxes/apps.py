from django.apps import AppConfig


class SandboxesConfig(AppConfig):
    name = "sandboxes"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        # Imported here: callhome imports models, which cannot load before the registry is ready.
        from sandboxes import callhome, isolation

        # Plain-Python callers (sandboxes.oneshot) run as the configured user too.
        isolation.configure(uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID)
        checks.register(callhome.check_public_base_url)
