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

        # Summaries (vaults sits below runs): bill their model calls and hold them to the
        # organization's monthly budget, as runs are.
        from runs.quotas import budget_check
        from runs.services import usage_record_summary
        from vaults.summaries import budget_guard_register, usage_recorder_register

        usage_recorder_register(usage_record_summary)
        budget_guard_register(budget_check)
