"""Fixtures of the finance pack's tests: the kernel's databases (``tests/conftest.py`` of the
repository: a migrated SQLite file per test, a throwaway PostgreSQL 15 cluster, ``any_db`` for
both), the kernel's test kit (``load_plugins`` loads the pack through its entry point and migrates
its tables), a bank with the pack on (:mod:`finance_bank`), and the demo bank served by
``membership serve --demo --industry finance`` in a child process (``demo_server``)."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if (ROOT / "tests" / "conftest.py").exists() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the kernel's test fixtures, as `pytest plugins/finance/tests` from the root

from finance_bank import make_bank  # noqa: E402

from tests import conftest as kernel  # noqa: E402

# the kernel's database fixtures, shared with its own tests
sqlite_template, pg_server, pg_template = kernel.sqlite_template, kernel.pg_server, kernel.pg_template
db, pg_db, any_db = kernel.db, kernel.pg_db, kernel.any_db


@pytest.fixture
async def finance(any_db, load_plugins):
    """The pack loaded through its entry point (``finance``), its tables migrated."""
    return (await load_plugins("finance"))["finance"]


@pytest.fixture
async def bank(finance):
    """银河银行 with the pack on: see :func:`finance_bank.make_bank`."""
    return await make_bank()


@pytest.fixture
async def api(bank, any_db):
    """The real app's ``/api/v1`` over the bank (the app built with the pack loaded)."""
    import httpx
    from finance_bank import Client

    from membership.access.service import create_api_key
    from membership.app import create_app
    from membership.testing import make_merchant

    keys = {
        scope: (await create_api_key(f"test-{scope}", [scope], merchant_id=bank.merchant_id)).secret
        for scope in ("read", "pos", "admin")
    }
    keys["till"] = (await create_api_key("card-centre", ["pos"], store_id=bank.centre)).secret
    stranger = await make_merchant("别家银行")
    keys["stranger"] = (await create_api_key("stranger", ["admin"], merchant_id=stranger)).secret
    transport = httpx.ASGITransport(app=create_app(any_db, open_db=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Client(http, keys)


@dataclasses.dataclass(frozen=True)
class DemoServer:
    """``membership serve --demo --industry finance`` running in a child process from an empty
    folder: its address, the demo API key and the console password it printed."""

    base: str
    key: str
    password: str
    folder: Path


def _wait_for_demo(server: subprocess.Popen, out: Path, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = out.read_text(encoding="utf-8", errors="replace")
        if "demo API key" in text and "API:" in text:
            return text
        if server.poll() is not None:
            raise AssertionError(f"membership serve exited with {server.returncode}:\n{text}")
        time.sleep(1)
    raise AssertionError(f"no demo within {seconds} s:\n{out.read_text(errors='replace')}")


def _until_listening(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    """The demo prints its addresses just before the server binds its port: wait for it."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # answered: listening
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[DemoServer]:
    """The demo bank served from an empty folder (started once for the tests that need it)."""
    from membership.db.throwaway import free_port

    folder = tmp_path_factory.mktemp("finance-demo")
    port = free_port()
    out = folder / "serve.log"
    env = {**os.environ, "MEMBERSHIP_PLUGINS": "finance", "MEMBERSHIP_SCHEDULER": "false", "COLUMNS": "200"}
    env.pop("MEMBERSHIP_DATABASE_URL", None)
    env.pop("MEMBERSHIP_CONFIG", None)
    command = [sys.executable, "-m", "membership.cli", "serve", "--demo", "--industry", "finance", "--port", str(port)]
    with out.open("w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        text = _wait_for_demo(server, out, 600)
        base = f"http://127.0.0.1:{port}"
        _until_listening(base, server)
        key = re.search(r"mk_[A-Za-z0-9_-]+", text)[0]
        yield DemoServer(base, key, re.search(r"demo / (\S+)", text)[1], folder)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server that does not stop
            server.kill()
            server.wait(timeout=10)
