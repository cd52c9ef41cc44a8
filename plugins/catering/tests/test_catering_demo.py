"""The demo of a restaurant group: ``create_demo(industry="catering")`` on SQLite and PostgreSQL,
and ``membership serve --demo --industry catering`` from an empty folder, in a child process, with
its pack pages and a pack API call answered."""

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
from membership_catering import demo as catering_demo
from membership_catering import dining_rules, stamps


async def test_the_demo_builds_a_restaurant_group_with_the_pack_on(catering):
    from membership.demo.service import create_demo

    summary = await create_demo(members_count=20, purchases=150, seed=7, industry="catering")
    program = summary.program
    assert program.name == "悦食会员" and "catering" in program.plugins and len(summary.store_ids) == 4
    assert [s["code"] for s in await stamps.list_schemes(program.id)] == ["coffee"]
    assert len(await dining_rules.list_rules(program.id)) == len(catering_demo.RULES)
    visits = await fetch("SELECT party_size, service_mode FROM catering_visit WHERE program_id = {}", program.id)
    assert len(visits) == summary.purchases and all(v["party_size"] for v in visits)
    assert {v["service_mode"] for v in visits} <= {"dine_in", "takeaway", "delivery"}
    rewards = await fetch("SELECT COUNT(*) AS n FROM catering_stamp_entry WHERE kind = 'reward'")
    coupons = await fetch("SELECT COUNT(*) AS n FROM coupon WHERE occasion LIKE 'catering-stamps:%'")
    assert rewards[0]["n"] == coupons[0]["n"] > 0
    kept = await fetch("SELECT COUNT(*) AS n FROM catering_preference")
    assert kept[0]["n"] >= 1


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


def _wait_for_health(server: subprocess.Popen, url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"membership serve exited with {server.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_demo_industry_catering_from_an_empty_folder(tmp_path):
    import httpx

    from membership.db.throwaway import free_port

    port = free_port()
    out = tmp_path / "serve.log"
    env = {**os.environ, "MEMBERSHIP_PLUGINS": "catering", "MEMBERSHIP_SCHEDULER": "false", "COLUMNS": "200"}
    env.pop("MEMBERSHIP_DATABASE_URL", None)
    env.pop("MEMBERSHIP_CONFIG", None)
    command = [sys.executable, "-m", "membership.cli", "serve", "--demo", "--industry", "catering", "--port", str(port)]
    with out.open("w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        text = _wait_for_demo(server, out, 420)
        key = re.search(r"mk_[A-Za-z0-9_-]+", text)[0]
        password = re.search(r"demo / (\S+)", text)[1]
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(server, f"{base}/api/v1/health", 60)
        bearer = {"Authorization": f"Bearer {key}", "Accept-Language": "zh-CN"}
        status, body = _get(f"{base}/api/v1/programs", bearer)
        assert status == 200, body
        program_id = re.search(r'"id":"([0-9a-f-]{36})"', body)[1]
        status, body = _get(f"{base}/api/v1/catering/programs/{program_id}/stamp-schemes", bearer)
        assert status == 200 and "咖啡集点卡" in body, body
        status, body = _get(f"{base}/api/v1/catering/programs/{program_id}/reports/catering_dishes?by=store", bearer)
        assert status == 200 and "SH01" in body, body
        with httpx.Client(base_url=base, timeout=30) as console:
            console.get("/console/login")
            form = {"username": "demo", "password": password, "next": "/console/counter"}
            logged = console.post("/console/login", data={**form, "_csrf_token": console.cookies["csrftoken"]})
            assert logged.status_code == 303, logged.text
            for path, words in (
                ("stamp-schemes", "咖啡集点卡"),
                ("dining-rules", "晚市堂食双倍积分"),
                ("guests", "会员口味与集点"),
                ("reports", "到店频次"),
            ):
                page = console.get(f"/console/catering/{path}")
                assert page.status_code == 200 and words in page.text, (path, page.text[:500])
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server that does not stop
            server.kill()
            server.wait(timeout=10)
