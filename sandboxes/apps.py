from django.apps import AppConfig


class SandboxesConfig(AppConfig):
    name = "sandboxes"

    def ready(self) -> None:
        # Imported here, not at the top: settings and the modules below are read once the app
        # registry is ready (sandboxes.selection reads settings that apps.py may not touch yet).
        from django.conf import settings
        from django.core import checks

        # Imported here: callhome imports models, which cannot load before the registry is ready.
        from sandboxes import callhome, isolation, selection

        # Plain-Python callers (sandboxes.oneshot) run as the configured user too.
        isolation.configure(uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID)
        checks.register(callhome.check_public_base_url)
        checks.register(selection.check_providers)
