"""The vault pages of the staff UI (agentexec/urls.py includes them under "ui/", in the "ui"
namespace beside runs/ui_urls.py)."""

from django.urls import URLPattern, path

from vaults import views

urlpatterns: list[URLPattern] = [
    path("vaults/", views.vault_list, name="vaults"),
    path("vaults/<str:vault_id>/", views.vault_detail, name="vault-detail"),
    path(
        "vaults/<str:vault_id>/objects/<str:object_id>/",
        views.vault_object_detail,
        name="vault-object",
    ),
    path(
        "vaults/<str:vault_id>/objects/<str:object_id>/view",
        views.object_viewer,
        name="vault-object-view",
    ),
]
