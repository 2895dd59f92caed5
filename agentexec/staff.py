"""The gate of every staff page (the runs and the vaults UI alike)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in users who are not staff get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("ui:login"))
        if not (request.user.is_active and request.user.is_staff):
            return render(request, "runs/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped
