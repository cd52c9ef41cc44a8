"""What redeeming a reward costs a sale: POST /transactions without and with a reward of the
points mall, and a reward redeemed on its own, in-process on SQLite.

    python bench/rewards.py [--sales 300]

Builds a shop in a temporary SQLite file with a gift (stocked, limited per month) and a discount,
gives the member points, then posts ``--sales`` purchases of each kind one after another through
the real app (httpx's ASGI transport: the app's own time, no network). Prints median and p95 per
kind and the SQL statements one request ran. Last line: ``RESULT …``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from membership.access.service import create_api_key
from membership.app import create_app
from membership.config import Settings, new_secret_key
from membership.db import close_database, open_database
from membership.db.migrate import migrate
from membership.db.sql import recorded_statements
from membership.ledger.service import adjust_points
from membership.members import service as members
from membership.org import service as org
from membership.rewards.service import create_reward

LINES = [
    {"sku": "DRINK", "name": "咖啡", "quantity": 1, "unit_price": 1_800},
    {"sku": "CAKE", "name": "蛋糕", "quantity": 2, "unit_price": 3_500},
]


async def run(sales: int) -> list[tuple[str, float, float, int]]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/m.db", secret_key=new_secret_key(), base_dir=Path(folder))
        await open_database(settings)
        try:
            await migrate()
            merchant = await org.create_merchant("基准咖啡")
            store = await org.create_store(merchant, "S1", "一号店", "上海")
            program = await org.create_program(merchant, "会员", points_expiry_days=365)
            member = await members.enrol(program.id, {"name": "张伟", "phone": "13812345678"}, store_id=store)
            await adjust_points(member.id, 10_000_000, "基准", "bench")
            gift = {
                "code": "drink",
                "name": "饮品",
                "kind": "gift",
                "params": {"sku": "DRINK"},
                "points": 300,
                "stackable": True,
            }
            await create_reward(
                program.id, {**gift, "stock": 1_000_000, "member_limit": 10_000, "limit_period": "month"}
            )
            off = {
                "code": "off20",
                "name": "8折",
                "kind": "discount",
                "params": {"percent_off": 20},
                "points": 500,
                "stackable": True,
            }
            await create_reward(program.id, off)
            key = (await create_api_key("bench", ["pos"], merchant_id=merchant)).secret
            app = create_app(settings, open_db=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                headers = {"Authorization": f"Bearer {key}"}
                sale = {"member_id": str(member.id), "store_id": str(store), "lines": LINES}
                kinds = {
                    "sale": ("/api/v1/transactions", sale),
                    "sale + gift": ("/api/v1/transactions", {**sale, "rewards": ["drink"]}),
                    "sale + gift + 8折": ("/api/v1/transactions", {**sale, "rewards": ["drink", "off20"]}),
                    "redeem on its own": (
                        f"/api/v1/programs/{program.id}/rewards/drink/redeem",
                        {"member_id": str(member.id)},
                    ),
                }
                results = []
                for name, (path, body) in kinds.items():
                    times, counted = [], 0
                    for i in range(sales):
                        with recorded_statements() as statements:
                            start = time.perf_counter()
                            answer = await client.post(
                                path, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
                            )
                            times.append((time.perf_counter() - start) * 1000)
                        assert answer.status_code == 201, answer.text
                        counted = len(statements) if i == 0 else counted
                    p95 = sorted(times)[int(len(times) * 0.95) - 1]
                    results.append((name, statistics.median(times), p95, counted))
                return results
        finally:
            await close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=300)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    results = asyncio.run(run(args.sales))
    print(f"{'request':<22} {'median ms':>10} {'p95 ms':>8} {'SQL':>5}")
    for name, median, p95, statements in results:
        print(f"{name:<22} {median:>10.1f} {p95:>8.1f} {statements:>5}")
    plain, gift = results[0], results[1]
    print(
        f"RESULT sale_ms={plain[1]:.1f} sale_with_reward_ms={gift[1]:.1f} extra_sql={gift[3] - plain[3]}"
        f" redeem_ms={results[3][1]:.1f}"
    )


if __name__ == "__main__":
    main()
