"""Vault pages of the staff UI; runs/ui_urls.py includes them under /ui/ in the `ui` namespace."""

from django.urls import URLPattern, path

from vaults import views

urlpatterns: list[URLPattern] = [
    path(
        "vaults/<str:vault_id>/objects/<str:object_id>/view",
        views.object_viewer,
        name="vault-object-view",
    ),
]
