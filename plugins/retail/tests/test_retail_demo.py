"""``membership serve --demo --industry retail`` from a fresh folder builds the supermarket chain
with the pack on: its console pages show the demo's data and its API answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from membership.db.throwaway import free_port

STARTUP_S = 420


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo server, started in an empty folder; its address, demo password and API key."""
    folder = tmp_path_factory.mktemp("retail-demo")
    port = free_port()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "240", "TERM": "dumb", "MEMBERSHIP_SCHEDULER": "false"}
    env["MEMBERSHIP_PLUGINS"] = "retail"  # this pack alone, whatever else is installed beside it
    env.pop("MEMBERSHIP_CONFIG", None)
    log = (folder / "serve.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "membership.cli", "serve", "--demo", "--industry", "retail", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base, found = f"http://127.0.0.1:{port}", {}
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline and server.poll() is None:
            text = Path(log.name).read_text(encoding="utf-8")
            key = re.search(r"demo API key:\s*(\S+)", text)
            password = re.search(r"demo login:\s*demo / (\S+)", text)
            if key and password:
                try:
                    if httpx.get(f"{base}/console/login", timeout=2).status_code == 200:
                        found = {"base": base, "key": key[1], "password": password[1]}
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(1)
        if not found:
            pytest.fail(f"the demo server did not start:\n{Path(log.name).read_text(encoding='utf-8')[-3000:]}")
        yield found
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_the_demo_chain_in_the_console(demo_server):
    with httpx.Client(base_url=demo_server["base"], timeout=30) as browser:
        browser.get("/console/login")
        form = {"username": "demo", "password": demo_server["password"], "next": "/console/retail/"}
        answer = browser.post("/console/login", data={**form, "_csrf_token": browser.cookies["csrftoken"]})
        assert answer.status_code in (200, 303), answer.text
        home = browser.get("/console/retail/")
        assert home.status_code == 200 and "鲜丰汇会员" in home.text
        assert "本会员方案尚未开启" not in home.text  # the demo switched the pack on
        prices = browser.get("/console/retail/prices")
        assert "伊利纯牛奶" in prices.text or "6907992500010" in prices.text
        basket = browser.get("/console/retail/basket")
        assert basket.status_code == 200 and "提升度" in basket.text
        assert basket.text.count("%</td>") >= 2 and "暂时没有足够多的同单组合" not in basket.text
        for path in (
            "/console/retail/catalogue",
            "/console/retail/rules",
            "/console/retail/claims",
            "/console/retail/repurchase",
        ):
            assert browser.get(path).status_code == 200, path


def test_the_demo_chain_through_the_api(demo_server):
    headers = {"Authorization": f"Bearer {demo_server['key']}"}
    with httpx.Client(base_url=f"{demo_server['base']}/api/v1", headers=headers, timeout=30) as api:
        products = api.get("/retail/products", params={"search": "伊利"})
        assert products.status_code == 200 and {p["brand"] for p in products.json()} == {"伊利"}
        basket = api.get("/retail/basket")
        assert basket.status_code == 200, basket.text
        assert basket.json()["baskets"] > 1000 and basket.json()["rules"]
        assert max(rule["lift"] for rule in basket.json()["rules"]) > 1
