"""Render times of the console's main pages over the demo data (300 members, 3,000 purchases).

    python bench/console_pages.py [--requests 50]

Builds the demo chain in a temporary SQLite file, logs an owner in, then requests each page
``--requests`` times in-process (httpx's ASGI transport: no network, so the figure is the app's
own time: routing, session check, SQL, template). Prints median and p95 per page, and the SQL
statements each page ran. Last line: ``RESULT console_p95_ms_max=… page=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from membership.app import create_app
from membership.config import Settings, new_secret_key
from membership.db import close_database, fetch_one, open_database
from membership.db.migrate import migrate
from membership.db.sql import recorded_statements
from membership.demo.service import create_demo
from membership.staff.service import create_staff

PASSWORD = "bench-console-1"


async def run(requests: int) -> list[tuple[str, float, float, int]]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/m.db", secret_key=new_secret_key(), base_dir=Path(folder))
        await open_database(settings)
        try:
            await migrate()
            await create_demo(300, 3000, 20261123)
            program = await fetch_one("SELECT id, merchant_id FROM program")
            await create_staff("owner", PASSWORD, "owner", program["merchant_id"])
            member = await fetch_one(
                "SELECT member_id FROM sale GROUP BY member_id ORDER BY COUNT(*) DESC LIMIT 1"
            )  # the busiest member: the longest ledger and purchase list
            phone_member = await fetch_one("SELECT member_no FROM member LIMIT 1")
            pages = {
                "counter": "/console/counter",
                "counter member panel": f"/console/counter/members/{member['member_id']}",
                "member 360°": f"/console/members/{member['member_id']}",
                "member search": f"/console/members?q={phone_member['member_no']}",
                "member list": "/console/members",
                "dashboard": "/console/dashboard",
                "report: sales by month": "/console/reports/sales_by_month",
                "stores": "/console/stores",
                "staff": "/console/staff",
                "API keys": "/console/api-keys",
                "settings": "/console/settings",
                "audit log": "/console/audit",
                "plugins": "/console/plugins",
                "help": "/console/help",
            }
            app = create_app(settings, open_db=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await client.get("/console/login")
                form = {"username": "owner", "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]}
                assert (await client.post("/console/login", data=form)).status_code == 303
                results = []
                for name, url in pages.items():
                    await client.get(url)
                    times = []
                    for _ in range(requests):
                        with recorded_statements() as statements:
                            start = time.perf_counter()
                            answer = await client.get(url)
                            times.append((time.perf_counter() - start) * 1000)
                        assert answer.status_code == 200, (url, answer.status_code)
                    p95 = statistics.quantiles(times, n=20)[-1]
                    results.append((name, statistics.median(times), p95, len(statements)))
                return results
        finally:
            await close_database()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    results = asyncio.run(run(args.requests))
    print(f"{'page':<24} {'median ms':>10} {'p95 ms':>8} {'SQL':>5}")
    for name, median, p95, statements in results:
        print(f"{name:<24} {median:>10.1f} {p95:>8.1f} {statements:>5}")
    worst = max(results, key=lambda row: row[2])
    print(f"RESULT console_p95_ms_max={worst[2]:.1f} page={worst[0].replace(' ', '_')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
