from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("agent/v1/", include("runs.urls")),
    path("ui/", include("runs.ui_urls")),
    path("", include("vaults.urls")),
]
