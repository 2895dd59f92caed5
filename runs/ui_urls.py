"""The staff UI: everything under /ui/ (agentexec/urls.py includes this module at "ui/")."""

from django.apps import apps
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from runs import views

app_name = "ui"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", next_page="ui:runs"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="ui:login"), name="logout"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<str:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<str:run_id>/live", views.run_live, name="run-live"),
    path("runs/<str:run_id>/cancel", views.run_cancel_view, name="run-cancel"),
    path("usage/", views.usage_audit, name="usage"),
    path("usage/export.csv", views.usage_export, name="usage-export"),
]

if apps.is_installed("vaults"):
    urlpatterns += [
        path("vaults/", views.vault_list, name="vaults"),
        path("vaults/<str:vault_id>/", views.vault_detail, name="vault-detail"),
        path(
            "vaults/<str:vault_id>/objects/<str:object_id>/",
            views.vault_object_detail,
            name="vault-object",
        ),
        path("", include("vaults.ui_urls")),
    ]
