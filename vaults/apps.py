from django.apps import AppConfig


class VaultsConfig(AppConfig):
    name = "vaults"
    verbose_name = "Document vaults"

    def ready(self) -> None:
        from vaults import memory_tools, tools

        tools.register_all()
        memory_tools.register_all()
