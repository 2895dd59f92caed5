"""Mounted at the site root (the SDK calls /vault, /vault/{id}, ...): no trailing slashes."""

from django.urls import path, re_path

from agentexec.middleware import own_body_limit
from vaults import api, memory_api, ocr_api, subscriptions_api, summaries_api

app_name = "vaults"

_VAULT = "vault/<str:vault_id>"
_OBJECT = f"{_VAULT}/objects/<str:object_id>"

urlpatterns = [
    path("vault", api.VaultListCreateApi.as_view(), name="vault-list"),
    # Before vault/<vault_id>, which would otherwise take "groups" for a vault id.
    path("vault/groups", api.GroupListCreateApi.as_view(), name="group-list"),
    path("vault/groups/<str:group_id>", api.GroupDetailApi.as_view(), name="group-detail"),
    path(_VAULT, api.VaultDetailApi.as_view(), name="vault-detail"),
    path(f"{_VAULT}/upload", api.UploadApi.as_view(), name="vault-upload"),
    path(
        f"{_VAULT}/upload/<str:object_id>/confirm",
        api.ConfirmUploadApi.as_view(),
        name="vault-upload-confirm",
    ),
    path(f"{_VAULT}/ingest/<str:object_id>", api.IngestApi.as_view(), name="ingest"),
    path(f"{_VAULT}/search", api.SearchApi.as_view(), name="vault-search"),
    path(f"{_VAULT}/multipart/init", api.MultipartInitApi.as_view(), name="multipart-init"),
    path(
        f"{_VAULT}/multipart/part-urls",
        api.MultipartPartUrlsApi.as_view(),
        name="multipart-part-urls",
    ),
    path(
        f"{_VAULT}/multipart/complete",
        api.MultipartCompleteApi.as_view(),
        name="multipart-complete",
    ),
    path(f"{_VAULT}/multipart/abort", api.MultipartAbortApi.as_view(), name="multipart-abort"),
    # A part's signed URL; the part size is fixed by the signature.
    path(
        f"{_VAULT}/multipart/<str:upload_id>/parts/<int:part_number>",
        own_body_limit(api.MultipartPartApi.as_view()),
        name="multipart-part",
    ),
    path(f"{_VAULT}/objects", api.ObjectListApi.as_view(), name="object-list"),
    path(_OBJECT, api.ObjectDetailApi.as_view(), name="object-detail"),
    path(f"{_OBJECT}/text", api.ObjectTextApi.as_view(), name="object-text"),
    path(f"{_OBJECT}/pages", api.ObjectPagesApi.as_view(), name="object-pages"),
    path(f"{_OBJECT}/chunks", api.ObjectChunksApi.as_view(), name="object-chunks"),
    path(f"{_OBJECT}/download", api.ObjectDownloadApi.as_view(), name="object-download"),
    path(f"{_OBJECT}/presigned-url", api.PresignedUrlApi.as_view(), name="object-presigned-url"),
    # VAULT_MAX_UPLOAD_BYTES, checked before and while streaming the body to disk.
    path(
        f"{_OBJECT}/content",
        own_body_limit(api.ObjectContentApi.as_view()),
        name="object-content",
    ),
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

# Routes of casedev 0.71.0 this server does not build: a JSON 501 naming the feature. They and
# the catch-all stay LAST: add every new route to urlpatterns above, never below them.
NOT_SUPPORTED = [
    re_path(
        r"^vault/(?P<vault_id>[^/]+)/graphrag(?:/.*)?$",
        api.NotSupportedApi.as_view(feature="GraphRAG (knowledge graph indexing and stats)"),
        name="graphrag-not-supported",
    ),
    # Any other path under /vault/: the 501 for a case.dev feature not built here, else 404.
    re_path(r"^vault/(?P<rest>.+)$", api.VaultNoRouteApi.as_view(), name="vault-no-route"),
]

urlpatterns += NOT_SUPPORTED
