"""Test settings: the production settings with only what tests need changed."""

import tempfile
from pathlib import Path

from agentexec.settings import *  # noqa: F403
from agentexec.settings import Q_CLUSTER, STORAGES

ALLOW_SCRIPTED_MODEL = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="agentexec-test-media-"))
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_MODEL = ""
ANTHROPIC_API_KEY = ""
OPENAI_API_KEY = ""
LLM_GATEWAY_URL = ""
COURTLISTENER_API_TOKEN = ""
# Sandboxes run locally unless a test points a remote provider at an emulator.
VERCEL_TOKEN = VERCEL_TEAM_ID = VERCEL_PROJECT_ID = VERCEL_SANDBOX_API_URL = ""
DAYTONA_API_KEY = DAYTONA_API_URL = DAYTONA_TARGET = ""
LEGACY_SANDBOX_PROVIDER = SANDBOX_PROVIDER  # noqa: F405
LLM_BACKOFF_BASE_S = 0.01
# Tasks run inline in unit tests; the end-to-end tests start a real qcluster process instead.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# Rate limits count across a whole test run's requests from one address: off here, and on in
# the tests of the limits themselves.
API_RATE_LIMIT = ""
AUTH_FAILURE_RATE_LIMIT = ""
# Serve static files from the app folders: tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A file, not memory, for the SQLite test database: the end-to-end tests run a real qcluster
# process against the same database as the live test server.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.mkdtemp(prefix="agentexec-test-db-")) / "test.sqlite3")
    }
