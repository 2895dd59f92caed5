"""Platform overhead of POST /agent/v1/execute with local/echo (not a test; prints figures).

By default it starts its own server (gunicorn, on a fresh SQLite database in a temp dir) and
creates an API key; point it at a running server with --url and --key instead. Sandbox boot
times are read from the Sandbox rows of the runs it made (needs the same DATABASE_URL as the
server, which is automatic when the bench starts the server itself).

    python bench/execute_overhead.py [--sequential 200] [--clients 8] [--seconds 10]

With --provider vercel|daytona it starts a local emulator of that provider's API in this process
(tests.emulators, driven by the official SDK in the server) and runs remote executes against it:
the runtime zipapp runs as a local process and calls the server home over HTTP. It reports the
platform's own overhead per remote run apart from the provider's work: the emulator's time
answering create/upload/start/stop requests (plus --create-ms/--command-ms of simulated
provider latency) and the runtime's start inside the sandbox (spawn -> its first output).

    python bench/execute_overhead.py --provider vercel [--sequential 30] [--create-ms 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    workdir: Path, workers: int, threads: int, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "agentexec.settings",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE")})
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    out = subprocess.run(
        [*manage, "createapikey", "--org", "bench"],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    key = out.strip().splitlines()[-1]
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "agentexec.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}", key
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def one_execute(client: httpx.Client, url: str) -> tuple[float, dict | None]:
    t0 = time.perf_counter()
    try:
        response = client.post(
            f"{url}/agent/v1/execute", json={"prompt": "ping", "model": "local/echo"}
        )
        body = response.json() if response.status_code == 200 else None
        if body is not None and body.get("status") != "completed":
            body = None
    except httpx.HTTPError:
        body = None
    return (time.perf_counter() - t0) * 1000, body


def sequential(url: str, key: str, n: int) -> tuple[list[float], list[str], int]:
    latencies, runtime_ids, failures = [], [], 0
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        one_execute(client, url)  # warm up imports and connections
        for _ in range(n):
            ms, body = one_execute(client, url)
            latencies.append(ms)
            if body is None:
                failures += 1
            else:
                runtime_ids.append(body["runtimeId"])
    return latencies, runtime_ids, failures


def concurrent(url: str, key: str, clients: int, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            while time.monotonic() < stop:
                ms, body = one_execute(client, url)
                with lock:
                    latencies.append(ms)
                    failures[0] += body is None

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures[0], time.monotonic() - t0


def boot_times(runtime_ids: list[str]) -> list[int]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from sandboxes.models import Sandbox

    rows = Sandbox.objects.filter(id__in=runtime_ids).values_list("boot_ms", flat=True)
    return [b for b in rows if b is not None]


# -- remote providers against their emulators -------------------------------------------------


def start_emulator(name: str, create_ms: float, command_ms: float) -> tuple[Any, dict[str, str]]:
    """The provider's emulated API, in this process, and the server's settings for it."""
    sys.path.insert(0, str(ROOT))
    from tests.emulators.daytona import DaytonaEmulator
    from tests.emulators.vercel import VercelEmulator

    create_s, command_s = create_ms / 1000, command_ms / 1000
    if name == "vercel":
        api: Any = VercelEmulator(create_delay_s=create_s, command_delay_s=command_s).start()
        env = {
            "VERCEL_TOKEN": api.token,
            "VERCEL_TEAM_ID": api.team_id,
            "VERCEL_PROJECT_ID": api.project_id,
            "VERCEL_SANDBOX_API_URL": api.base_url,
        }
    else:
        api = DaytonaEmulator(create_delay_s=create_s, command_delay_s=command_s).start()
        env = {"DAYTONA_API_KEY": api.api_key, "DAYTONA_API_URL": api.api_url}
    return api, {**env, "SANDBOX_PROVIDER": name, "LEGACY_SANDBOX_PROVIDER": name}


def provider_work_ms(api: Any, sandbox_id: str) -> float:
    """The emulator's own time answering one sandbox's requests (create, upload, start, stop,
    state polls), not the streams that last as long as its runtime does."""
    mine = [r for r in api.requests if r.sandbox_id == sandbox_id and not r.streamed]
    return sum(r.duration_s for r in mine) * 1000


def remote_bench(args: argparse.Namespace) -> None:
    api, env = start_emulator(args.provider, args.create_ms, args.command_ms)
    workdir = Path(tempfile.mkdtemp(prefix="agentexec-bench-"))
    server, url, key = start_server(workdir, args.workers, args.threads, env)
    totals, work, boots, failures = [], [], [], 0
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            one_execute(client, url)  # warm up: imports the SDK, builds the runtime zipapp
            for _ in range(args.sequential):
                before = set(api.sandboxes)
                ms, body = one_execute(client, url)
                fresh = [api.sandboxes[i] for i in set(api.sandboxes) - before]
                if body is None or len(fresh) != 1:
                    failures += 1
                    continue
                (sandbox,) = fresh
                (command,) = sandbox.commands.values()
                totals.append(ms)
                work.append(provider_work_ms(api, sandbox.id))
                boots.append((command.first_output_at - command.spawned_at) * 1000)
    finally:
        server.terminate()
        server.wait(10)
        api.close()
        shutil.rmtree(workdir, ignore_errors=True)
    overhead = [t - w - b for t, w, b in zip(totals, work, boots, strict=True)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"provider {args.provider} (emulated; simulated create {args.create_ms:g} ms, "
        f"command start {args.command_ms:g} ms): {len(totals)} executes, {failures} failed"
    )
    for label, values in (
        ("execute latency", totals),
        ("provider work (emulator: create, upload, start, stop)", work),
        ("runtime start in the sandbox (spawn -> first output)", boots),
        ("platform overhead (the rest)", overhead),
    ):
        print(
            f"  {label:56s} p50 {percentile(values, 50):7.1f}  p90 {percentile(values, 90):7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url")
    parser.add_argument("--key")
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--provider", choices=["vercel", "daytona"])
    parser.add_argument("--create-ms", type=float, default=0.0)
    parser.add_argument("--command-ms", type=float, default=0.0)
    args = parser.parse_args()
    if args.provider:
        if args.sequential == parser.get_default("sequential"):
            args.sequential = 30
        remote_bench(args)
        return

    workdir = Path(tempfile.mkdtemp(prefix="agentexec-bench-"))
    server = None
    url, key = args.url, args.key
    if not url:
        server, url, key = start_server(workdir, args.workers, args.threads)
    try:
        seq, runtime_ids, seq_failures = sequential(url, key, args.sequential)
        conc, conc_failures, elapsed = concurrent(url, key, args.clients, args.seconds)
        boots = boot_times(runtime_ids) if server else []
    finally:
        if server:
            server.terminate()
            server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"sequential: {len(seq)} executes, {seq_failures} failed")
    print(
        f"  latency ms  p50 {percentile(seq, 50):.1f}  p90 {percentile(seq, 90):.1f}  p99 {percentile(seq, 99):.1f}"
    )
    print(f"  executes/s  {len(seq) / (sum(seq) / 1000):.1f}")
    print(
        f"concurrent: {args.clients} clients for {elapsed:.1f} s: {len(conc)} executes, {conc_failures} failed"
    )
    print(
        f"  latency ms  p50 {percentile(conc, 50):.1f}  p90 {percentile(conc, 90):.1f}  p99 {percentile(conc, 99):.1f}"
    )
    print(f"  executes/s  {len(conc) / elapsed:.1f}")
    if boots:
        print(
            f"sandbox boot ms  p50 {statistics.median(boots):.1f}  p90 {percentile([float(b) for b in boots], 90):.1f}  (n={len(boots)})"
        )


if __name__ == "__main__":
    main()
