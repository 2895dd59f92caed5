from django.urls import path

from runs import api

urlpatterns = [
    path("execute", api.ExecuteView.as_view(), name="execute"),
    path("run/<str:run_id>/status", api.RunStatusView.as_view(), name="run-status"),
    path("run/<str:run_id>/details", api.RunDetailsView.as_view(), name="run-details"),
]
