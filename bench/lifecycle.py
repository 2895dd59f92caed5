"""Queued-run lifecycle figures with local/echo and a real qcluster (not a test; prints figures).

Starts its own gunicorn server and qcluster (ORM broker) on a fresh SQLite database in a temp
dir (or the database in DATABASE_URL, e.g. PostgreSQL, with --database-url), then measures:
exec → completed latency, cancel → sandbox gone, SSE first-event latency, and the drain rate of
a backlog of queued runs.

    python bench/lifecycle.py [--runs 100] [--cancels 20] [--streams 50] [--backlog 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from execute_overhead import free_port, percentile  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.processes import processes_with  # noqa: E402


class Stack:
    def __init__(self, workdir: Path, database_url: str | None, q_workers: int) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_SETTINGS_MODULE": "agentexec.settings",
            "ALLOW_SCRIPTED_MODEL": "1",
            "Q_WORKERS": str(q_workers),
        }
        self.manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*self.manage, "migrate", "-v0"], check=True, env=self.env, cwd=ROOT)
        out = subprocess.run(
            [*self.manage, "createapikey", "--org", f"bench-{uuid.uuid4().hex[:6]}"],
            check=True,
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        self.key = out.strip().splitlines()[-1]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "agentexec.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "16",
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )
        self.cluster: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=60
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("server did not start")

    def start_cluster(self) -> None:
        self.cluster = subprocess.Popen(
            [*self.manage, "qcluster"],
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop_cluster(self) -> None:
        if self.cluster and self.cluster.poll() is None:
            os.killpg(self.cluster.pid, signal.SIGTERM)
            self.cluster.wait(30)

    def close(self) -> None:
        self.stop_cluster()
        os.killpg(self.server.pid, signal.SIGTERM)
        self.server.wait(10)

    def agent(self, model: str) -> str:
        body = {"name": "bench", "instructions": "x", "model": model}
        return self.client.post("/agent/v1/agents", json=body).json()["id"]

    def create(self, agent_id: str, prompt: str = "ping") -> str:
        return self.client.post(
            "/agent/v1/run", json={"agentId": agent_id, "prompt": prompt}
        ).json()["id"]

    def status(self, run_id: str) -> str:
        return self.client.get(f"/agent/v1/run/{run_id}/status").json()["status"]


def exec_latency(stack: Stack, n: int) -> tuple[list[float], int]:
    agent = stack.agent("local/echo")
    latencies, failed = [], 0
    for _ in range(n):
        run_id = stack.create(agent)
        t0 = time.perf_counter()
        stack.client.post(f"/agent/v1/run/{run_id}/exec")
        while (status := stack.status(run_id)) in ("queued", "running"):
            time.sleep(0.005)
        latencies.append((time.perf_counter() - t0) * 1000)
        failed += status != "completed"
    return latencies, failed


def cancel_latency(stack: Stack, n: int) -> list[float]:
    agent = stack.agent("local/scripted")
    latencies = []
    for _ in range(n):
        marker = f"{100 + uuid.uuid4().int % 800}.{uuid.uuid4().int % 997}"
        prompt = json.dumps(
            {"steps": [{"tool": "shell.exec", "input": {"command": f"sleep {marker}"}}]}
        )
        run_id = stack.create(agent, prompt)
        stack.client.post(f"/agent/v1/run/{run_id}/exec")
        while not processes_with(f"sleep {marker}"):
            time.sleep(0.005)
        t0 = time.perf_counter()
        stack.client.post(f"/agent/v1/run/{run_id}/cancel")
        while processes_with(f"sleep {marker}"):
            time.sleep(0.002)
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def sse_first_event(stack: Stack, n: int) -> list[float]:
    agent = stack.agent("local/echo")
    latencies = []
    for _ in range(n):
        run_id = stack.create(agent)
        t0 = time.perf_counter()
        with stack.client.stream("GET", f"/agent/v1/run/{run_id}/events") as response:
            for line in response.iter_lines():
                if line.startswith("id:"):
                    latencies.append((time.perf_counter() - t0) * 1000)
                    break
    return latencies


def backlog_drain(stack: Stack, n: int) -> tuple[float, int]:
    stack.stop_cluster()
    agent = stack.agent("local/echo")
    ids = [stack.create(agent) for _ in range(n)]
    for run_id in ids:
        stack.client.post(f"/agent/v1/run/{run_id}/exec")
    t0 = time.perf_counter()
    stack.start_cluster()
    # Done when the agent has no queued or running run left (two cheap queries a poll, so the
    # bench's own polling takes little of the CPU it measures).
    while any(
        stack.client.get(
            "/agent/v1/run", params={"agentId": agent, "status": s, "limit": 1}
        ).json()["runs"]
        for s in ("queued", "running")
    ):
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    return n / elapsed, n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--cancels", type=int, default=20)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=500)
    parser.add_argument("--q-workers", type=int, default=2)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="agentexec-bench-"))
    stack = Stack(workdir, args.database_url, args.q_workers)
    try:
        stack.start_cluster()
        time.sleep(2)
        exec_ms, exec_failed = exec_latency(stack, args.runs)
        cancel_ms = cancel_latency(stack, args.cancels)
        sse_ms = sse_first_event(stack, args.streams)
        drain_rate, drained = backlog_drain(stack, args.backlog)
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)

    db = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {db}, ORM broker, {args.q_workers} workers"
    )
    print(
        f"exec → completed ms over {len(exec_ms)} runs ({exec_failed} failed): p50 {percentile(exec_ms, 50):.0f}  p99 {percentile(exec_ms, 99):.0f}"
    )
    print(
        f"cancel → sandbox gone ms over {len(cancel_ms)} runs: p50 {percentile(cancel_ms, 50):.0f}  p99 {percentile(cancel_ms, 99):.0f}"
    )
    print(
        f"SSE first event ms over {len(sse_ms)} streams: p50 {percentile(sse_ms, 50):.1f}  p99 {percentile(sse_ms, 99):.1f}"
    )
    print(f"backlog of {drained} queued runs drained at {drain_rate:.1f} runs/s")


if __name__ == "__main__":
    main()
