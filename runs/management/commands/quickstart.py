"""One command from a fresh checkout to a real agent run: migrate, create a demo organization,
API key and staff user, serve, and execute once over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agentexec.llm import router
from agentexec.tenancy.services import api_key_create
from vaults.services import demo_vault_create

DEMO_ORG = "Demo Legal"
STAFF_USER = "admin"
FALLBACK_PROMPT = "Introduce yourself in one sentence and say which documents you can see."
DEMO_PROMPT = (
    "Review the NDA in the demo vault and return the top 5 issues a receiving party's counsel "
    "should raise."
)
DEMO_GUIDANCE = "Focus on term, confidentiality, indemnity, liability and non-solicitation."


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Set up a demo organization, serve the API and UI with one worker beside it, and "
        "perform one execute over HTTP."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="exit after the demo execute instead of serving"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # SIGTERM unwinds like Ctrl-C, so the finally below stops the server and the worker.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        host, port = options["host"], options["port"]
        self.say("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        key, raw_key = api_key_create(organization_name=DEMO_ORG, name="quickstart")
        password = self.staff_user()
        vault_id = self.demo_vault(key.organization)
        base_url = f"http://{host}:{port}"
        processes = self.start_processes(host, port)
        try:
            self.wait_for(host, port, processes)
            self.demo_execute(base_url, raw_key, vault_id)
            if options["no_serve"]:
                self.stop(processes)
                self.say(
                    "\nThe server and the worker have stopped. Start them again with\n"
                    "  python manage.py runserver & python manage.py qcluster\n"
                    f"API key (shown once): {raw_key}\n"
                    f"Staff user {STAFF_USER!r}: set its password with "
                    f"`python manage.py changepassword {STAFF_USER}`."
                )
                return
            self.say(
                "\nTry it yourself:\n"
                f"  curl -s {base_url}/agent/v1/execute -H 'Authorization: Bearer {raw_key}' "
                "-H 'Content-Type: application/json' "
                '-d \'{"prompt": "List the documents you can see"}\'\n'
                f"Staff UI: {base_url}/ui/runs/  and admin: {base_url}/admin/  "
                f"(user {STAFF_USER!r}, password {password!r})\n"
                f"API key (shown once): {raw_key}"
            )
            self.say("\nServing until Ctrl-C.")
            self.wait_forever(processes)
        except KeyboardInterrupt:
            self.say("\nStopping.")
        finally:
            self.stop(processes)

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def staff_user(self) -> str:
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=STAFF_USER)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password

    def demo_vault(self, organization: Any) -> str | None:
        self.say("Creating and ingesting the demo vault…")
        return demo_vault_create(organization=organization).id

    def start_processes(self, host: str, port: int) -> list[subprocess.Popen[bytes]]:
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        # Served over plain http on this machine: cookies must not require https.
        env = {
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            **os.environ,
            "PYTHONUNBUFFERED": "1",
        }
        server = [sys.executable, manage, "runserver", f"{host}:{port}", "--noreload", "--insecure"]
        worker = [sys.executable, manage, "qcluster"]
        return [
            subprocess.Popen(server, env=env, start_new_session=True),
            subprocess.Popen(worker, env=env, start_new_session=True),
        ]

    def wait_for(self, host: str, port: int, processes: list[subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                raise CommandError(f"the server exited early; is port {port} free? (--port)")
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise CommandError(f"the server did not start listening on {host}:{port}")

    def demo_execute(self, base_url: str, raw_key: str, vault_id: str | None) -> None:
        body: dict[str, Any] = {"prompt": FALLBACK_PROMPT}
        if vault_id:
            body = {"prompt": DEMO_PROMPT, "guidance": DEMO_GUIDANCE, "vaultIds": [vault_id]}
        self.say(
            f"\nPOST {base_url}/agent/v1/execute with the default model "
            f"({router.default_model()}):\n{json.dumps(body, indent=2)}\n"
        )
        response = httpx.post(
            f"{base_url}/agent/v1/execute",
            json=body,
            headers={"Authorization": f"Bearer {raw_key}"},
            timeout=settings.RUN_TIMEOUT_S + 30,
        )
        self.say(f"HTTP {response.status_code}\n{json.dumps(response.json(), indent=2)}")
        if response.status_code != 200 or response.json().get("status") != "completed":
            raise CommandError("the demo execute did not complete; see the response above")

    def wait_forever(self, processes: list[subprocess.Popen[bytes]]) -> None:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)

    def stop(self, processes: list[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
