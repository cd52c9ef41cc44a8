"""The console's main pages run a fixed, small number of SQL statements, however much a member
has: no query per row. (Render times are measured by bench/console_pages.py, not here.)"""

from __future__ import annotations

import pytest

from membership.db.sql import recorded_statements
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales

LIMITS = {
    "/console/counter": 3,
    "/console/dashboard": 7,  # the session, the stores to filter by, one per report (5 of them)
    # with the member's latest sales, the store's recent items and the points mall's rewards on offer there
    "/console/counter/members/{member}": 10,
    "/console/members/{member}": 18,  # one per section of the page (consent history, points lots, spend, notes)
    "/console/members?q=张": 8,  # a name, and one indexed lookup per card kind
}


@pytest.mark.parametrize("path", sorted(LIMITS))
async def test_statements_per_page_are_bounded_and_do_not_grow_with_the_data(console, path):
    shop = console.shop
    url = path.format(member=shop.member_id)
    counts = []
    # One purchase first: a member holding points shows when they expire (a statement of its own).
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 500)])
    async with console.logged_in("owner") as client:
        for _ in range(2):
            await client.get(url)  # caches warm
            with recorded_statements() as statements:
                answer = await client.get(url)
            assert answer.status_code == 200
            counts.append(len(statements))
            for n in range(15):  # more purchases, cards and members: the count must not move
                await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 500)])
                await members.issue_credential(shop.member_id, "barcode", f"B{len(counts)}{n:02d}")
                await members.enrol(shop.program.id, {"name": f"张{len(counts)}{n}"})
    assert counts[0] == counts[1] <= LIMITS[path], counts
