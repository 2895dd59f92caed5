"""The catalog views under the paths the lead wires in runs/urls.py, for tests that run before
(or regardless of) that wiring."""

from django.urls import include, path

from agentexec.catalog import ModelsView, ToolsView

urlpatterns = [
    path("agent/v1/models", ModelsView.as_view(), name="models"),
    path("agent/v1/tools", ToolsView.as_view(), name="tools"),
    path("agent/v1/", include("runs.urls")),
]
