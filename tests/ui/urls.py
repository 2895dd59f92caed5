"""The project's URLs plus the staff UI, until agentexec/urls.py includes runs.ui_urls."""

from django.urls import include, path

from agentexec.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *[p for p in project_urlpatterns if str(p.pattern) != "ui/"],
    path("ui/", include("runs.ui_urls")),
]
