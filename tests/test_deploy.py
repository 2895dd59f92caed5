"""The README's production environment passes Django's deployment checks, and a TLS proxy's
X-Forwarded-Proto makes the URLs the server builds https."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

README = Path(settings.BASE_DIR) / "README.md"


def readme_production_environment() -> dict[str, str]:
    section = README.read_text().split("## Running in production", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    exports = block.replace("\\\n", " ").split("export ", 1)[1].splitlines()[0]
    env = dict(re.findall(r"([A-Z_]+)=(\S+)", exports))
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the README's is "..."
    return env


def test_the_readme_production_environment_passes_check_deploy_without_warnings(tmp_path):
    env = readme_production_environment()
    assert {"SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "TRUST_X_FORWARDED_PROTO"} <= set(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "agentexec.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_cookies_are_secure_when_debug_is_off():
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE is True and settings.CSRF_COOKIE_SECURE is True


def test_upload_urls_are_https_behind_a_tls_proxy(alice, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    vault = alice.client.post("/vault", {"name": "Matter"}, format="json").json()
    body = {"filename": "a.txt", "contentType": "text/plain"}
    upload = alice.client.post(
        f"/vault/{vault['id']}/upload",
        body,
        format="json",
        HTTP_HOST="testserver",  # as a proxy sends it
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert upload.json()["uploadUrl"].startswith("https://testserver/vault/")
    plain = alice.client.post(f"/vault/{vault['id']}/upload", body, format="json")
    assert plain.json()["uploadUrl"].startswith("http://testserver/")
