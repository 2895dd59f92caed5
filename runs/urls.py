from django.urls import path

from agentexec.catalog import ModelsView, ToolsView
from runs import api
from sandboxes.api import SandboxProvidersView

urlpatterns = [
    path("execute", api.ExecuteView.as_view(), name="execute"),
    path("models", ModelsView.as_view(), name="models"),
    path("tools", ToolsView.as_view(), name="tools"),
    path("sandbox-providers", SandboxProvidersView.as_view(), name="sandbox-providers"),
    path("agents", api.AgentListView.as_view(), name="agents"),
    path("agents/<str:agent_id>", api.AgentDetailView.as_view(), name="agent"),
    path("run", api.RunListView.as_view(), name="runs"),
    path("run/<str:run_id>/exec", api.RunExecView.as_view(), name="run-exec"),
    path("run/<str:run_id>/status", api.RunStatusView.as_view(), name="run-status"),
    path("run/<str:run_id>/details", api.RunDetailsView.as_view(), name="run-details"),
    path("run/<str:run_id>/cancel", api.RunCancelView.as_view(), name="run-cancel"),
    path("run/<str:run_id>/watch", api.RunWatchView.as_view(), name="run-watch"),
    path("run/<str:run_id>/events", api.RunEventsView.as_view(), name="run-events"),
]
