from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "agentexec.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
