"""The benchmarks' server: uvicorn on the real app, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from membership.config import Settings
from membership.db.throwaway import free_port


def start_server(
    settings: Settings, folder: Path, workers: int = 1, scheduler: bool = True
) -> tuple[subprocess.Popen, str]:
    """uvicorn with the app factory (``scheduler=False``: no jobs in the server); waits until
    /api/v1/health answers 200."""
    port = free_port()
    env = {
        **os.environ,
        "MEMBERSHIP_DATABASE_URL": settings.database_url,
        "MEMBERSHIP_SECRET_KEY": settings.secret_key,
        **({} if scheduler else {"MEMBERSHIP_SCHEDULER": "false"}),
    }
    command = [sys.executable, "-m", "uvicorn", "membership.app:create_app", "--factory", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=env, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as answer:
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")
