"""Settings, all driven by the environment (django-environ; a `.env` file is optional)."""

import tempfile
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The fallback key is only good for a laptop; production sets SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="agentexec-insecure-development-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "agentexec.apps.AgentexecConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "agentexec.tenancy",
    "runs",
    "sandboxes",
    "vaults",
]

MIDDLEWARE = [
    "agentexec.requestid.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "agentexec.middleware.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "agentexec.urls"
WSGI_APPLICATION = "agentexec.wsgi.application"
ASGI_APPLICATION = "agentexec.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (parallel executes, the worker) must wait for the lock rather than
    # fail with "database is locked": WAL lets readers run beside the writer, IMMEDIATE takes
    # the write lock at BEGIN so two transactions never deadlock upgrading a read lock, and
    # the timeout is SQLite's busy timeout in seconds.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_BUSY_TIMEOUT_S", default=30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out staff before the password
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

LOGIN_URL = "ui:login"

REST_FRAMEWORK = {
    # Bearer API keys; OPTIONS (CORS preflights, method discovery) needs none.
    "DEFAULT_AUTHENTICATION_CLASSES": ["agentexec.preflight.ApiKeyOrOptionsAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["agentexec.preflight.IsAuthenticatedOrOptions"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["agentexec.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["agentexec.ratelimit.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "agentexec.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# Every line carries the request id ("-" outside a request); LOG_FORMAT=json writes one JSON
# object per line (time, level, logger, message, request_id).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "agentexec.requestid.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "agentexec.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},  # the Vercel Sandbox SDK's HTTP client
        "httpcore": {"level": "WARNING"},
    },
}

# --- Agents and runs -------------------------------------------------------------------------
DEFAULT_MODEL = env.str("DEFAULT_MODEL", default="")
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="https://api.anthropic.com")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
LLM_GATEWAY_URL = env.str("LLM_GATEWAY_URL", default="")
LLM_GATEWAY_API_KEY = env.str("LLM_GATEWAY_API_KEY", default="")
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", default=4096)
LLM_MAX_ATTEMPTS = env.int("LLM_MAX_ATTEMPTS", default=3)
LLM_TIMEOUT_S = env.float("LLM_TIMEOUT_S", default=120.0)
LLM_BACKOFF_BASE_S = env.float("LLM_BACKOFF_BASE_S", default=0.5)
ANTHROPIC_VERSION = env.str("ANTHROPIC_VERSION", default="2023-06-01")
PRICE_TABLE_PATH = env.str("PRICE_TABLE_PATH", default="")
ALLOW_SCRIPTED_MODEL = env.bool("ALLOW_SCRIPTED_MODEL", default=False)
COURTLISTENER_API_TOKEN = env.str("COURTLISTENER_API_TOKEN", default="")
COURTLISTENER_BASE_URL = env.str(
    "COURTLISTENER_BASE_URL", default="https://www.courtlistener.com/api/rest/v4"
)

RUN_TIMEOUT_S = env.float("RUN_TIMEOUT_S", default=300.0)
MAX_STEPS = env.int("MAX_STEPS", default=40)
MAX_PROMPT_CHARS = env.int("MAX_PROMPT_CHARS", default=200_000)
SHELL_TIMEOUT_S = env.int("SHELL_TIMEOUT_S", default=120)
TOOL_OUTPUT_CAP_BYTES = env.int("TOOL_OUTPUT_CAP_BYTES", default=32_768)
RUN_LOG_CAP_BYTES = env.int("RUN_LOG_CAP_BYTES", default=65_536)
# The quotation check when a run ends (runs/grounding.py): at most this many quotations per
# output; documents in scope read in full up to this many characters (past it, only those the
# run touched or a search finds for a quotation); how alike a passage must be to call a
# quotation "altered" rather than "not_found".
GROUNDING_MAX_QUOTES = env.int("GROUNDING_MAX_QUOTES", default=50)
GROUNDING_MAX_SCAN_CHARS = env.int("GROUNDING_MAX_SCAN_CHARS", default=5_000_000)
GROUNDING_ALTERED_MIN_SIMILARITY = env.float("GROUNDING_ALTERED_MIN_SIMILARITY", default=0.8)

RUN_HEARTBEAT_TIMEOUT_S = env.float("RUN_HEARTBEAT_TIMEOUT_S", default=60.0)
RUN_QUEUE_TIMEOUT_S = env.float("RUN_QUEUE_TIMEOUT_S", default=3600.0)
SSE_POLL_S = env.float("SSE_POLL_S", default=0.25)
SSE_KEEPALIVE_S = env.float("SSE_KEEPALIVE_S", default=15.0)
SSE_MAX_STREAM_S = env.float("SSE_MAX_STREAM_S", default=300.0)
IDEMPOTENCY_TTL_H = env.int("IDEMPOTENCY_TTL_H", default=24)

ALLOW_INSECURE_CALLBACKS = env.bool("ALLOW_INSECURE_CALLBACKS", default=False)
CALLBACK_TIMEOUT_S = env.float("CALLBACK_TIMEOUT_S", default=10.0)
CALLBACK_MAX_ATTEMPTS = env.int("CALLBACK_MAX_ATTEMPTS", default=8)
CALLBACK_BACKOFF_BASE_S = env.float("CALLBACK_BACKOFF_BASE_S", default=2.0)
CALLBACK_INLINE_WAIT_S = env.float("CALLBACK_INLINE_WAIT_S", default=30.0)

# Where runs execute: auto (bwrap where it works here, else process) | bwrap | process | vercel |
# daytona. SANDBOX_PROVIDER runs synchronous executes; LEGACY_SANDBOX_PROVIDER (set below) runs
# `agentRuntime: true` executes and queued runs.
SANDBOX_PROVIDER = env.str("SANDBOX_PROVIDER", default="auto")
SANDBOX_CPU_DEFAULT = env.int("SANDBOX_CPU_DEFAULT", default=1)
SANDBOX_CPU_MAX = env.int("SANDBOX_CPU_MAX", default=4)
SANDBOX_MEMORY_MIB_DEFAULT = env.int("SANDBOX_MEMORY_MIB_DEFAULT", default=512)
SANDBOX_MEMORY_MIB_MIN = env.int("SANDBOX_MEMORY_MIB_MIN", default=64)
SANDBOX_MEMORY_MIB_MAX = env.int("SANDBOX_MEMORY_MIB_MAX", default=8192)
SANDBOX_WORKSPACE_MIB = env.int("SANDBOX_WORKSPACE_MIB", default=256)
# When the service runs as root, sandboxes drop to this unprivileged host user (never root).
SANDBOX_UID = env.int("SANDBOX_UID", default=65534)
SANDBOX_GID = env.int("SANDBOX_GID", default=65534)

# --- Remote runtimes call home ------------------------------------------------------------------
# The URL a runtime outside this host (a remote sandbox) reaches this server at; https, or http
# for a loopback host only (development and tests). With a per-run token it is all the runtime
# gets from us.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# How a broker request reaches the run's executor in another process: Redis lists with
# REDIS_URL, else a table polled every RELAY_POLL_S.
RELAY_POLL_S = env.float("RELAY_POLL_S", default=0.015)
# How long one broker request waits for the host's reply before answering 202 (ask again);
# stays under common proxy timeouts.
RELAY_LONG_POLL_S = env.float("RELAY_LONG_POLL_S", default=25.0)
# The largest message a remote runtime may post (a model request carries the conversation).
RELAY_MAX_MESSAGE_BYTES = env.int("RELAY_MAX_MESSAGE_BYTES", default=64 * 1024 * 1024)

# --- Remote sandbox providers (see README, "Sandbox providers") ------------------------------
# Vercel Sandbox: an access token scoped to the team, and the project sandboxes are billed to.
VERCEL_TOKEN = env.str("VERCEL_TOKEN", default="")
VERCEL_TEAM_ID = env.str("VERCEL_TEAM_ID", default="")
VERCEL_PROJECT_ID = env.str("VERCEL_PROJECT_ID", default="")
# The Sandbox API's base URL ("" -> https://vercel.com/api); for proxies and tests.
VERCEL_SANDBOX_API_URL = env.str("VERCEL_SANDBOX_API_URL", default="")
# The sandbox image ("" -> Vercel's default image, which ships python3).
VERCEL_SANDBOX_IMAGE = env.str("VERCEL_SANDBOX_IMAGE", default="")
# Daytona: an API key; the API URL ("" -> Daytona's cloud) and target region are optional.
DAYTONA_API_KEY = env.str("DAYTONA_API_KEY", default="")
DAYTONA_API_URL = env.str("DAYTONA_API_URL", default="")
DAYTONA_TARGET = env.str("DAYTONA_TARGET", default="")
# The image Daytona sandboxes are made from (it needs python3; built once into a snapshot).
DAYTONA_IMAGE = env.str("DAYTONA_IMAGE", default="python:3.12-slim")
LEGACY_SANDBOX_PROVIDER = env.str(
    "LEGACY_SANDBOX_PROVIDER", default="daytona" if DAYTONA_API_KEY else SANDBOX_PROVIDER
)

# --- Organization quotas ---------------------------------------------------------------------
# Runs of one organization running at once (0: no limit). A synchronous execute over it is a
# 429; a queued run over it waits in the queue for a slot. Monthly token and cost budgets are
# per organization, on the Organization record (admin).
ORG_MAX_CONCURRENT_RUNS = env.int("ORG_MAX_CONCURRENT_RUNS", default=20)

# --- Document ingest: text extraction runs in a bounded child process ----------------------
INGEST_SANDBOX_PROVIDER = env.str("INGEST_SANDBOX_PROVIDER", default="auto")
INGEST_MEMORY_MIB = env.int("INGEST_MEMORY_MIB", default=512)
INGEST_TIMEOUT_S = env.int("INGEST_TIMEOUT_S", default=120)  # CPU time and wall clock
INGEST_MAX_TEXT_BYTES = env.int("INGEST_MAX_TEXT_BYTES", default=32 * 1024 * 1024)
INGEST_MAX_UNCOMPRESSED_BYTES = env.int("INGEST_MAX_UNCOMPRESSED_BYTES", default=256 * 1024 * 1024)
INGEST_MAX_COMPRESSION_RATIO = env.float("INGEST_MAX_COMPRESSION_RATIO", default=100.0)
INGEST_MAX_PAGES = env.int("INGEST_MAX_PAGES", default=5000)
INGEST_CHUNK_BATCH = env.int("INGEST_CHUNK_BATCH", default=500)  # chunks per transaction
# OCR (Tesseract, in the same bounded child): PDF pages without a text layer, PNG/JPEG/TIFF.
# OCR_LANGUAGES is Tesseract's "eng+deu" form (each needs its tesseract-ocr-<lang> package).
# A document that may need OCR gets OCR_TIMEOUT_S more than INGEST_TIMEOUT_S in all; each page
# at most OCR_PAGE_TIMEOUT_S; a document with more than OCR_MAX_PAGES pages to OCR is refused.
OCR_ENABLED = env.bool("OCR_ENABLED", default=True)
OCR_LANGUAGES = env.str("OCR_LANGUAGES", default="eng")
OCR_MAX_PAGES = env.int("OCR_MAX_PAGES", default=500)
OCR_PAGE_TIMEOUT_S = env.int("OCR_PAGE_TIMEOUT_S", default=60)
OCR_TIMEOUT_S = env.int("OCR_TIMEOUT_S", default=1800)
# Vault memory (/vault/:id/memory, the memory.* tools): characters one vault's entries may hold.
MEMORY_MAX_CHARS = env.int("MEMORY_MAX_CHARS", default=200_000)
# Summaries (POST /vault/:id/objects/:objectId/summarize): the most text a model is given; a
# longer document is summarized from its first pages, and the request says so.
SUMMARY_MAX_INPUT_CHARS = env.int("SUMMARY_MAX_INPUT_CHARS", default=400_000)

# --- Worker (django-q2) ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# How often every worker process sweeps for lost runs (runs.services.runs_reap): a running run
# with no heartbeat for RUN_HEARTBEAT_TIMEOUT_S fails, a handed-over run that no worker took
# within that window is handed over again. Also swept once when a worker starts.
RUN_REAPER_INTERVAL_S = env.float("RUN_REAPER_INTERVAL_S", default=10.0)
Q_WORKERS = env.int("Q_WORKERS", default=2)
Q_CLUSTER: dict[str, object] = {
    "name": "agentexec",
    "workers": Q_WORKERS,
    # A run must never be silently executed twice: one attempt, a task timeout above the run
    # timeout, and a retry window above the task timeout so the broker never re-delivers a
    # task that is still running. (Runs do not depend on it: their task claims the run with a
    # compare-and-set, so a second copy of it does nothing. Other tasks do.)
    "max_attempts": 1,
    # The tasks a cluster takes from the broker before a worker is free for them. Kept at one
    # per worker: a cluster that dies strands no more than that, and the reaper hands them over
    # again.
    "queue_limit": Q_WORKERS,
    "timeout": int(RUN_TIMEOUT_S) + 60,
    "retry": int(RUN_TIMEOUT_S) + 120,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.1,
    "save_limit": 1000,
    "label": "Worker",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Security (production) ---------------------------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients), this
# makes request.is_secure() true, so built URLs (uploadUrl, downloadUrl) are https.
TRUST_X_FORWARDED_PROTO = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client address for rate limits and the staff lockout: the first X-Forwarded-For hop
# instead of REMOTE_ADDR, only when the proxy in front sets that header.
TRUST_X_FORWARDED_FOR = env.bool("TRUST_X_FORWARDED_FOR", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Secure cookies unless DEBUG: browsers still send them to http://localhost and 127.0.0.1.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)

# --- Limits ------------------------------------------------------------------------------------
# JSON (and form) bodies; must hold the longest prompt even with every character escaped as
# \uXXXX (6 bytes), which a system check enforces. File uploads have their own limit.
MAX_JSON_BODY_BYTES = env.int("MAX_JSON_BODY_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_BYTES  # what Django itself reads into memory
VAULT_MAX_UPLOAD_BYTES = env.int("VAULT_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
VAULT_UPLOAD_URL_EXPIRES_S = env.int("VAULT_UPLOAD_URL_EXPIRES_S", default=3600)
# Multipart uploads: the part size when init names none, and the smallest allowed (as S3:
# every part but the last is at least this big).
VAULT_MULTIPART_PART_BYTES = env.int("VAULT_MULTIPART_PART_BYTES", default=16 * 1024 * 1024)
VAULT_MULTIPART_MIN_PART_BYTES = env.int("VAULT_MULTIPART_MIN_PART_BYTES", default=5 * 1024 * 1024)
# A multipart upload not completed this long after init is aborted by an hourly sweep (its parts
# removed from disk, its pending object from the vault).
VAULT_MULTIPART_ABANDON_S = env.int("VAULT_MULTIPART_ABANDON_S", default=24 * 3600)
# An ingest `processing` for longer than this is taken to be dead and may be started again.
VAULT_INGEST_STALE_S = env.int("VAULT_INGEST_STALE_S", default=900)
# The longest document an agent may write with vault.write (characters).
VAULT_WRITE_MAX_CHARS = env.int("VAULT_WRITE_MAX_CHARS", default=1_000_000)
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")  # per API key; N/sec|min|hour|day
AUTH_FAILURE_RATE_LIMIT = env.str("AUTH_FAILURE_RATE_LIMIT", default="30/min")  # per address

# Rate-limit counters must be shared by every worker and host: Redis (CACHE_URL, else REDIS_URL),
# or a table in the database (created by migrate).
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
_LONGEST_WINDOW_S = 86400 + 60  # a counter outlives its window, however it is incremented
if CACHE_URL:
    _cache = environ.Env.cache_url_config(CACHE_URL)
    CACHES = {"default": _cache, "ratelimit": {**_cache, "KEY_PREFIX": "ratelimit"}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "agentexec_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
    }
CACHES["ratelimit"]["TIMEOUT"] = _LONGEST_WINDOW_S

# Staff sign-in (admin and UI) through django-axes: a username from one address is locked out
# after AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "agentexec.ratelimit.staff_login_address"
AXES_LOCKOUT_CALLABLE = "agentexec.staff.staff_locked_out"
AXES_VERBOSE = False  # no banner on every start; lockouts are still logged as warnings

# --- Operations: health, metrics, CORS, OpenAPI ---------------------------------------------------
# /readyz wants a worker cluster heartbeat this recent. django-q2 keeps its cluster stats in a
# cache (Redis itself with REDIS_URL); with the ORM broker they go to the "q_stats" cache, which
# every process must share: a directory by default (one host); several hosts set
# Q_STATS_CACHE_URL to a shared cache, e.g. dbcache://agentexec_q_stats after
# `manage.py createcachetable`.
READYZ_WORKER_MAX_AGE_S = env.float("READYZ_WORKER_MAX_AGE_S", default=60.0)
Q_STATS_CACHE_URL = env.str(
    "Q_STATS_CACHE_URL", default=f"filecache://{tempfile.gettempdir()}/agentexec-q-stats"
)
CACHES["q_stats"] = environ.Env.cache_url_config(Q_STATS_CACHE_URL)
Q_CLUSTER["cache"] = "q_stats"
# /metrics is open unless this is set; then it wants `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# CORS for browser clients, on the API paths only; no origins (the default) = no CORS headers.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(agent/|vault(/|$)|openapi\.json$|healthz$|readyz$)"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "last-event-id",
    "user-agent",
    "x-request-id",
    "x-stainless-arch",
    "x-stainless-async",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-read-timeout",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
)
CORS_EXPOSE_HEADERS = ["x-request-id", "retry-after"]
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=600)

SPECTACULAR_SETTINGS = {
    "TITLE": "agentexec API",
    "DESCRIPTION": "Agent API v1 and Vault API (case.dev compatible), self-hosted. Authenticate "
    'with `Authorization: Bearer <API key>`. Every error is `{"error": {"type", "message", '
    '"fields"}}`.',
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "agentexec.openapi.add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
