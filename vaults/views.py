"""The vault pages of the staff web UI under /ui/vaults/: every organization's vaults, their
objects, and an object's extracted text and chunks."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from agentexec.staff import staff_required
from agentexec.tenancy.selectors import organizations_by_name
from vaults import ui_selectors

VAULT_ROWS_PER_PAGE = 50
CHUNKS_PER_PAGE = 20
TEXT_PREVIEW_CHARS = 200_000


@require_safe
@staff_required
def vault_list(request: HttpRequest) -> HttpResponse:
    organization_id = request.GET.get("organization", "")
    vaults = ui_selectors.vaults_filtered(organization_id=organization_id)
    context = {
        "page": Paginator(vaults, VAULT_ROWS_PER_PAGE).get_page(request.GET.get("page")),
        "organizations": organizations_by_name(),
        "organization_id": organization_id,
    }
    return render(request, "vaults/vault_list.html", context)


@require_safe
@staff_required
def vault_detail(request: HttpRequest, vault_id: str) -> HttpResponse:
    vault = ui_selectors.vault_for_review(vault_id=vault_id)
    if vault is None:
        raise Http404("No such vault.")
    objects = ui_selectors.vault_objects(vault=vault)
    page = Paginator(objects, VAULT_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "vaults/vault_detail.html", {"vault": vault, "page": page})


@require_safe
@staff_required
def vault_object_detail(request: HttpRequest, vault_id: str, object_id: str) -> HttpResponse:
    obj = ui_selectors.object_for_review(vault_id=vault_id, object_id=object_id)
    if obj is None:
        raise Http404("No such object.")
    text = ui_selectors.object_text(obj=obj)
    chunks = ui_selectors.object_chunks(obj=obj)
    context = {
        "obj": obj,
        "vault": obj.vault,
        "text": text[:TEXT_PREVIEW_CHARS] if text is not None else None,
        "text_truncated": text is not None and len(text) > TEXT_PREVIEW_CHARS,
        "text_length": len(text) if text is not None else None,
        "page": Paginator(chunks, CHUNKS_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "vaults/object_detail.html", context)
