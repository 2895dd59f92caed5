"""Internal endpoints of the runtimes that call home (not part of the public API)."""

from django.urls import path

from sandboxes import broker

urlpatterns = [
    path("sandboxes/<str:sandbox_id>/broker", broker.broker, name="runtime-broker"),
]
