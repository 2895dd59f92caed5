from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

# The staff web UI: one "ui" namespace (ui:runs, ui:vaults, ...) over the apps' staff pages.
STAFF_UI = [path("", include("runs.ui_urls")), path("", include("vaults.ui_urls"))]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("agent/v1/", include("runs.urls")),
    path("ui/", include((STAFF_UI, "ui"))),
    path("internal/runtime/v1/", include("sandboxes.urls")),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    path("docs/redoc", SpectacularRedocView.as_view(url_name="openapi"), name="docs-redoc"),
    path("", include("runs.ops_urls")),
    path("", include("vaults.urls")),
]

# Unknown URLs and unhandled errors answer the API's JSON error shape (HTML under /ui/, /admin/).
handler400 = "agentexec.httperrors.bad_request"
handler403 = "agentexec.httperrors.permission_denied"
handler404 = "agentexec.httperrors.not_found"
handler500 = "agentexec.httperrors.server_error"
