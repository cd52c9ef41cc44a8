"""Console member pages: search with pages, the 360° view, audited reveal, points adjustment with a
reason, reporting a card lost."""

from __future__ import annotations

from membership.console import i18n
from membership.console.wording import bilingual
from membership.db import fetch
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales
from tests.console_client import csrf_of, text_of
from tests.helpers import ledger_violations


async def test_search_pages_through_members(console):
    shop = console.shop
    for n in range(25):
        await members.enrol(shop.program.id, {"name": f"李{n:02d}", "phone": f"1390000{n:04d}"})
    async with console.logged_in("analyst") as client:
        first = text_of((await client.get("/console/members", params={"q": "李"})).text)
        second = text_of((await client.get("/console/members", params={"q": "李", "page": 2})).text)
        by_phone = text_of((await client.get("/console/members", params={"q": "13900000007"})).text)
    assert "25" in first and "1 / 2" in first and "2 / 2" in second
    assert "李07" in by_phone and "李08" not in by_phone and "139****0007" in by_phone


async def test_the_member_view_shows_balances_purchases_and_each_entrys_reason(console):
    shop = console.shop
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 2, 1_990)])
    async with console.logged_in("clerk") as client:
        page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
    assert "张伟" in page and "138****5678" in page and "¥39.80" in page
    assert "显示完整信息" not in page  # a clerk may not reveal personal data
    entries, _ = await ledger.ledger_page(shop.member_id)
    i18n.use_language("zh_CN")  # each entry's reason in Chinese only: "消费 / purchase" reads 消费
    assert entries and all(bilingual(entry["reason"]) in page for entry in entries)
    assert "/ purchase" not in page


async def test_revealing_personal_data_is_audited(console):
    member = console.shop.member_id
    async with console.logged_in("manager") as client:
        page = (await client.get(f"/console/members/{member}")).text
        assert "显示完整信息（记入审计）" in page
        shown = await client.post(f"/console/members/{member}/reveal", data={"_csrf_token": csrf_of(client)})
    assert "+8613812345678" in shown.text
    audit = await fetch("SELECT actor FROM audit_log WHERE action = 'member.view_personal_data'")
    assert audit == [{"actor": "staff:manager"}]


async def test_points_adjustment_needs_a_reason_and_keeps_it(console):
    member = console.shop.member_id
    async with console.logged_in("manager") as client:
        token = csrf_of(client)
        missing = await client.post(f"/console/members/{member}/points", data={"points": "50", "_csrf_token": token})
        assert "reason 无效" in text_of(missing.text)
        done = await client.post(
            f"/console/members/{member}/points", data={"points": "50", "reason": "投诉补偿", "_csrf_token": token}
        )
    page = text_of(done.text)
    assert "积分已调整 +50" in page and "投诉补偿" in page
    assert await fetch("SELECT reason, operator FROM ledger_posting") == [
        {"reason": "投诉补偿", "operator": "staff:manager"}
    ]
    assert await ledger_violations() == []


async def test_a_card_reported_lost_no_longer_identifies(console):
    shop = console.shop
    card = await members.issue_credential(shop.member_id, "card_uid", "0F00A1B2C3")
    async with console.logged_in("clerk") as client:
        answer = await client.post(
            f"/console/credentials/{card['id']}/block",
            data={"lost": "1", "reason": "顾客挂失", "confirm": "yes", "_csrf_token": csrf_of(client)},
        )
        assert "已挂失" in text_of(answer.text)
        again = await client.get("/console/counter/identify", params={"q": "0F00A1B2C3"})
    assert "未登记的卡" in again.text


async def test_a_lost_card_is_replaced_and_the_new_one_identifies_the_same_member(console):
    shop = console.shop
    async with console.logged_in("clerk") as client:
        issued = await client.post(
            f"/console/members/{shop.member_id}/credentials",
            data={"kind": "card_uid", "value": "0F00A1B2C3", "_csrf_token": csrf_of(client)},
        )
        assert "已发卡，卡号尾号 B2C3" in text_of(issued.text)
        card = (await members.list_credentials(shop.member_id))[0]
        await client.post(
            f"/console/credentials/{card['id']}/block",
            data={"lost": "1", "reason": "顾客挂失", "confirm": "yes", "_csrf_token": csrf_of(client)},
        )
        replaced = await client.post(
            f"/console/credentials/{card['id']}/replace",
            data={"value": "0F00D4E5F6", "reason": "补卡", "_csrf_token": csrf_of(client)},
        )
        assert "已补卡，新卡尾号 E5F6" in text_of(replaced.text) and "已换卡" in text_of(replaced.text)
        twice = await client.post(
            f"/console/credentials/{card['id']}/replace",
            data={"value": "0F00000001", "_csrf_token": csrf_of(client)},
        )
        assert "该凭证已被替换" in twice.text
        qr = await client.post(
            f"/console/members/{shop.member_id}/credentials", data={"kind": "qr_token", "_csrf_token": csrf_of(client)}
        )
        assert "已发卡" in text_of(qr.text)
        empty = await client.post(
            f"/console/members/{shop.member_id}/credentials", data={"kind": "card_uid", "_csrf_token": csrf_of(client)}
        )
        assert "必填" in empty.text
        found = await client.get("/console/counter/identify", params={"q": "0F00D4E5F6"})
    assert "张伟" in found.text
    states = sorted((c["kind"], c["state"]) for c in await members.list_credentials(shop.member_id))
    assert states == [("card_uid", "active"), ("card_uid", "replaced"), ("qr_token", "active")]


async def test_tiers_and_paid_memberships_show_by_name_not_code(console):
    from membership.org.service import update_settings
    from membership.tiers import paid
    from membership.tiers import service as tiers

    shop = console.shop
    await tiers.configure(shop.program.id, [{"code": "gold", "name": "金卡会员", "threshold": 1_000_000}], None, "t")
    await update_settings(
        shop.program.id, {"paid_plans": [{"code": "p", "name": "年卡", "tier": "gold", "fee": 1, "days": 9}]}
    )
    bought = await paid.buy(shop.member_id, "p", "cash", shop.store_id)
    await paid.refund(bought.id)
    async with console.logged_in("clerk") as client:
        page = text_of((await client.get(f"/console/members/{shop.member_id}")).text)
        listed = text_of((await client.get("/console/members", params={"q": "张伟"})).text)
    assert "金卡会员" in page and "gold" not in page  # badge (history, paid table): names
    assert "已退款" in page and "refunded" not in page and "退款收回" not in page
    assert "gold" not in listed
