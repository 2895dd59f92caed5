from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Agents and runs"

    def ready(self) -> None:
        # Imported here, not at the top: importing them registers tools, checks and signal
        # receivers once the app registry is ready (runs.tasks imports models, which cannot load
        # while apps.py itself is being imported).
        from django.core import checks

        import agentexec.tools.legal_research  # noqa: F401  (registers the legal-research tools)
        from agentexec.llm.pricing import check_price_table

        checks.register(check_price_table)

        from django_q.signals import post_spawn

        from runs.tasks import start_reaper

        post_spawn.connect(start_reaper, dispatch_uid="runs.start_reaper")

        from django.apps import apps

        if apps.is_installed("vaults"):
            from runs.services import usage_record_summary
            from vaults.summaries import usage_recorder_register

            usage_recorder_register(usage_record_summary)
