"""Mounted at the site root (the SDK calls /vault, /vault/{id}, ...): no trailing slashes."""

from django.urls import path

from vaults import api, memory_api, ocr_api, subscriptions_api, summaries_api

app_name = "vaults"

_OBJECT = "vault/<str:vault_id>/objects/<str:object_id>"

urlpatterns = [
    path("vault", api.VaultListCreateApi.as_view(), name="vault-list"),
    path("vault/<str:vault_id>", api.VaultDetailApi.as_view(), name="vault-detail"),
    path("vault/<str:vault_id>/upload", api.UploadApi.as_view(), name="vault-upload"),
    path(
        "vault/<str:vault_id>/upload/<str:object_id>/confirm",
        api.ConfirmUploadApi.as_view(),
        name="vault-upload-confirm",
    ),
    path("vault/<str:vault_id>/ingest/<str:object_id>", api.IngestApi.as_view(), name="ingest"),
    path("vault/<str:vault_id>/search", api.SearchApi.as_view(), name="vault-search"),
    path("vault/<str:vault_id>/objects", api.ObjectListApi.as_view(), name="object-list"),
    path(_OBJECT, api.ObjectDetailApi.as_view(), name="object-detail"),
    path(f"{_OBJECT}/text", api.ObjectTextApi.as_view(), name="object-text"),
    path(f"{_OBJECT}/pages", api.ObjectPagesApi.as_view(), name="object-pages"),
    path(f"{_OBJECT}/chunks", api.ObjectChunksApi.as_view(), name="object-chunks"),
    path(f"{_OBJECT}/download", api.ObjectDownloadApi.as_view(), name="object-download"),
    path(f"{_OBJECT}/presigned-url", api.PresignedUrlApi.as_view(), name="object-presigned-url"),
    path(f"{_OBJECT}/content", api.object_content, name="object-content"),
]

# --- OCR words, summaries, memory, event subscriptions (vaults/*_api.py) ----------------------
_SUBSCRIPTIONS = "vault/<str:vault_id>/events/subscriptions"

urlpatterns += [
    path(f"{_OBJECT}/ocr-words", ocr_api.OcrWordsApi.as_view(), name="object-ocr-words"),
    path(f"{_OBJECT}/summarize", summaries_api.SummarizeApi.as_view(), name="object-summarize"),
    path(
        f"{_OBJECT}/summarize/<str:job_id>",
        summaries_api.SummarizeJobApi.as_view(),
        name="object-summarize-job",
    ),
    path("vault/<str:vault_id>/memory", memory_api.MemoryListApi.as_view(), name="memory-list"),
    path(
        "vault/<str:vault_id>/memory/search",
        memory_api.MemorySearchApi.as_view(),
        name="memory-search",
    ),
    path(
        "vault/<str:vault_id>/memory/<str:entry_id>",
        memory_api.MemoryDetailApi.as_view(),
        name="memory-detail",
    ),
    path(
        f"{_SUBSCRIPTIONS}",
        subscriptions_api.SubscriptionListApi.as_view(),
        name="event-subscription-list",
    ),
    path(
        f"{_SUBSCRIPTIONS}/<str:subscription_id>",
        subscriptions_api.SubscriptionDetailApi.as_view(),
        name="event-subscription-detail",
    ),
    path(
        f"{_SUBSCRIPTIONS}/<str:subscription_id>/test",
        subscriptions_api.SubscriptionTestApi.as_view(),
        name="event-subscription-test",
    ),
]
