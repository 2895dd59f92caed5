"""Operations endpoints at the site root, without API keys: /healthz, /readyz, /metrics."""

from django.urls import path

from runs import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]
