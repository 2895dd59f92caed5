"""The vault endpoints alone, for tests that run before (or without) the project's urls."""

from django.urls import include, path

urlpatterns = [path("", include("vaults.urls"))]
