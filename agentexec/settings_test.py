"""Test settings: the production settings with only what tests need changed."""

import tempfile

from agentexec.settings import *  # noqa: F403
from agentexec.settings import STORAGES

ALLOW_SCRIPTED_MODEL = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="agentexec-test-media-")
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
DEFAULT_MODEL = ""
ANTHROPIC_API_KEY = ""
OPENAI_API_KEY = ""
LLM_GATEWAY_URL = ""
COURTLISTENER_API_TOKEN = ""
