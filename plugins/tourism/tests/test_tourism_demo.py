"""The demo of a scenic area: ``create_demo(industry="tourism")`` on SQLite and PostgreSQL, and
``membership serve --demo --industry tourism`` from an empty folder, in a child process, with its
pack pages and a pack API call (a gate's entry) answered."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from membership.plugin import fetch
from membership_tourism import demo as tourism_demo
from membership_tourism import gates, pass_plans, venues
from membership_tourism.reports import run_report


async def test_the_demo_builds_a_scenic_area_with_the_pack_on(tourism):
    from membership.demo.service import create_demo

    summary = await create_demo(members_count=40, purchases=120, seed=7, industry="tourism")
    program = summary.program
    assert program.name == "云栖山水会员" and "tourism" in program.plugins and len(summary.store_ids) == 5
    assert [p.code for p in await pass_plans.list_plans(program)] == ["season-pass", "year-pass"]
    assert {v["code"]: v["format"] for v in await venues.list_venues(program)}["YQ03"] == "dining"
    assert [g["code"] for g in await gates.list_gates(program)] == ["N1", "S1", "T1"]
    assert await pass_plans.list_blackouts(program.id)
    counted = await fetch(
        "SELECT SUM(CASE WHEN allowed = {} THEN 1 ELSE 0 END) AS entries, COUNT(*) AS tries FROM tourism_entry",
        True,
    )
    assert 0 < counted[0]["entries"] < counted[0]["tries"]  # let in, and refused now and then
    family = await fetch("SELECT COUNT(*) AS n FROM tourism_pass_person WHERE role = 'family'")
    assert family[0]["n"] > 0
    ids = await fetch("SELECT COUNT(*) AS n FROM credential WHERE kind = 'id_card' AND value_hint = ''")
    assert ids[0]["n"] > 0
    [total] = (await run_report(program.id, "tourism_secondary", {"by": "month"})).as_dicts()[-1:]
    assert total["visits"] >= total["spending_visits"]
    secondary = (await run_report(program.id, "tourism_secondary", {"by": "format"})).as_dicts()
    assert secondary and {r["format"] for r in secondary} <= {"hotel", "dining", "retail", "shows"}
    renewals = (await run_report(program.id, "tourism_renewals", {})).as_dicts()
    assert sum(r["sold"] for r in renewals) >= len(tourism_demo.PAID_PLANS)


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


def _call(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {}, data=body, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_demo_industry_tourism_from_an_empty_folder(tmp_path):
    import httpx

    from membership.db.throwaway import free_port

    port = free_port()
    out = tmp_path / "serve.log"
    env = {**os.environ, "MEMBERSHIP_PLUGINS": "tourism", "MEMBERSHIP_SCHEDULER": "false", "COLUMNS": "200"}
    env.pop("MEMBERSHIP_DATABASE_URL", None)
    env.pop("MEMBERSHIP_CONFIG", None)
    command = [sys.executable, "-m", "membership.cli", "serve", "--demo", "--industry", "tourism", "--port", str(port)]
    with out.open("w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        text = _wait_for_demo(server, out, 600)
        key = re.search(r"mk_[A-Za-z0-9_-]+", text)[0]
        password = re.search(r"demo / (\S+)", text)[1]
        base = f"http://127.0.0.1:{port}"
        _until_listening(base, server)
        bearer = {"Authorization": f"Bearer {key}", "Accept-Language": "zh-CN"}
        status, body = _call(f"{base}/api/v1/programs", bearer)
        assert status == 200, body
        program_id = re.search(r'"id":"([0-9a-f-]{36})"', body)[1]
        status, body = _call(f"{base}/api/v1/tourism/programs/{program_id}/pass-plans", bearer)
        assert status == 200 and "云栖山年卡" in body, body
        entry = b'{"gate": "S1", "credential": {"kind": "id_card", "value": "11010519491231002X"}}'
        status, body = _call(f"{base}/api/v1/tourism/entries", {**bearer, "Content-Type": "application/json"}, entry)
        assert status == 200 and '"allowed":false' in body and "未找到该卡或证件对应的会员" in body, body
        status, body = _call(f"{base}/api/v1/tourism/programs/{program_id}/reports/tourism_entries?by=hour", bearer)
        assert status == 200 and '"rows"' in body, body
        with httpx.Client(base_url=base, timeout=30) as console:
            console.get("/console/login")
            form = {"username": "demo", "password": password, "next": "/console/counter"}
            logged = console.post("/console/login", data={**form, "_csrf_token": console.cookies["csrftoken"]})
            assert logged.status_code == 303, logged.text
            for path, words in (
                ("", "南门闸机"),
                ("/passes", "最近办理的年卡"),
                ("/plans", "云栖山年卡"),
                ("/blackout", "国庆节"),
                ("/venues", "山居酒店"),
                ("/reports?report=tourism_secondary", "二次消费率"),
            ):
                page = console.get(f"/console/tourism{path}")
                assert page.status_code == 200 and words in page.text, (path, page.text[:500])
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server that does not stop
            server.kill()
            server.wait(timeout=10)
