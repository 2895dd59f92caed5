from django.apps import AppConfig


class VaultsConfig(AppConfig):
    name = "vaults"
    verbose_name = "Document vaults"

    def ready(self) -> None:
        # Imported here: the tools import models, which cannot load before the registry is ready.
        from vaults import memory_tools, tools

        tools.register_all()
        memory_tools.register_all()
