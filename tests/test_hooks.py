"""Every hook spec is documented and exercised here (``test_hook_<name>`` per hook)."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import re
import uuid
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from membership import hookspecs
from membership.analytics.interface import Report, ReportResult
from membership.console.pages import ConsolePage
from membership.db import fetch, fetch_one, use_case
from membership.db.migrate import migrate, pending_migrations
from membership.errors import DuplicateMember, PluginError, RedemptionNotAllowed, ValidationError
from membership.hookspecs import hookimpl
from membership.jobs.interface import Job, JobResult
from membership.ledger import service as ledger
from membership.ledger.rules import Award, LineInput, PointsExpiry
from membership.members import service as members
from membership.notifications import service as notifications
from membership.notifications.interface import Channel, DeliveryReport, Message
from membership.plugins import hooks
from membership.readers.interface import CredentialRead, ReaderDriver
from membership.sales import service as sales
from membership.testing import deliver_events
from membership.tiers.policy import TierBenefits
from tests.helpers import ledger_violations, make_shop

SPECS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("membership_"))
BUY = [LineInput("6901", 1, 10_000, "米", "grocery")]


def test_every_hook_spec_is_documented():
    assert len(SPECS) >= 19
    for name in SPECS:
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert ":returns:" in doc and "Example::" in doc, name
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"{name} does not document {param}"
        firstresult = fn.membership_spec["firstresult"]
        assert ("first non-None" in doc) == firstresult, f"{name}: say whether it stops at the first result"


def test_every_hook_spec_has_a_test():
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    missing = [n for n in SPECS if not re.search(rf"def test_hook_{n.removeprefix('membership_')}\b", source)]
    assert missing == []


async def test_hook_normalize_credential(db, register_plugin):
    shop = await make_shop()

    class ShortUids:
        @hookimpl
        def membership_normalize_credential(self, kind, value):
            if kind == "card_uid" and len(value) == 6:
                return "00" + value.upper()

    register_plugin(ShortUids())
    card = await members.issue_credential(shop.member_id, "card_uid", "a1b2c3")
    assert card["value"] == "00A1B2C3"
    assert await members.identify(shop.program.id, "card_uid", "A1B2C3") == shop.member_id
    assert hooks().normalize_credential("card_uid", "aa:bb") == "AABB"  # built-in still answers the rest


async def test_hook_identify(db, register_plugin):
    shop = await make_shop()

    class BankCustomers:
        @hookimpl(tryfirst=True)
        async def membership_identify(self, program_id, kind, value):
            await asyncio.sleep(0)
            return shop.member_id if (kind, value) == ("barcode", "CIF-0042") else None

    register_plugin(BankCustomers())
    assert await members.identify(shop.program.id, "barcode", "CIF-0042") == shop.member_id


async def test_hook_normalize_profile(db, register_plugin):
    shop = await make_shop()

    class Traditional:
        @hookimpl
        def membership_normalize_profile(self, profile):
            if "name" in profile:
                profile["name"] = profile["name"].replace("張", "张")

    register_plugin(Traditional())
    member = await members.enrol(shop.program.id, {"name": "張三", "phone": "13700000003"})
    assert member.name == "张三"


async def test_hook_find_duplicate(db, register_plugin):
    shop = await make_shop()

    class SameName:
        @hookimpl(tryfirst=True)
        async def membership_find_duplicate(self, program_id, profile):
            row = await fetch_one(
                "SELECT id FROM member WHERE program_id = {} AND name = {}", program_id, profile.get("name")
            )
            return ("name", row["id"]) if row else None

    register_plugin(SameName())
    with pytest.raises(DuplicateMember) as caught:
        await members.enrol(shop.program.id, {"name": "张伟", "phone": "13700000004"})
    assert caught.value.params["field"] == "name"


async def test_hook_tier_for(db, register_plugin):
    shop = await make_shop()

    class SpendTiers:
        @hookimpl(tryfirst=True)
        def membership_tier_for(self, program, member_id, metrics):
            return "vip" if metrics.spend >= 20_000 and metrics.visits >= 2 else "member"

    register_plugin(SpendTiers())
    first = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert first.tier == "member"  # ¥100 in one visit
    result = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert result.tier == "vip"  # ¥200 in two visits
    assert (await fetch_one("SELECT tier FROM member WHERE id = {}", shop.member_id))["tier"] == "vip"


async def test_hook_tier_benefits(db, register_plugin):
    shop = await make_shop()

    class Black:
        @hookimpl(tryfirst=True)
        def membership_tier_for(self, program, member_id, metrics):
            return "black"

        @hookimpl(tryfirst=True)
        def membership_tier_benefits(self, program, tier):
            return TierBenefits(tier, "黑金", points_multiplier_pct=300) if tier == "black" else None

    register_plugin(Black())
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)  # becomes black
    second = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert second.points_earned == 300 and "黑金" in second.awards[0].reason


async def test_hook_points_awards(db, register_plugin):
    shop = await make_shop()

    class GroceryDouble:
        @hookimpl
        def membership_points_awards(self, context):
            grocery = sum(line.amount for line in context.lines if line.category == "grocery")
            return [Award("grocery-double", grocery // 100, "粮油双倍积分")] if grocery else None

    class CapAt150:
        @hookimpl(wrapper=True)
        def membership_points_awards(self, context):
            results = yield  # every plugin's list of awards
            total = sum(a.points for awards in results for a in awards or ())
            return [[Award("capped", 150, "单笔封顶 150 积分")]] if total > 150 else results

    register_plugin(GroceryDouble())
    simulation = await sales.simulate_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert {a.rule: a.points for a in simulation.awards} == {"base": 100, "grocery-double": 100}
    register_plugin(CapAt150())
    result = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert [(a.rule, a.points) for a in result.awards] == [("capped", 150)]
    entries = await fetch("SELECT rule, reason FROM ledger_entry WHERE rule = 'capped'")
    assert entries and all(e["reason"] == "单笔封顶 150 积分" for e in entries)
    assert await ledger_violations() == []


async def test_hook_line_prices(db, register_plugin):
    shop = await make_shop()
    lines = [LineInput("6901", 2, 10_000, "米", "grocery"), LineInput("7001", 1, 5_000, "油", "grocery")]

    class MemberPrice:
        @hookimpl
        def membership_line_prices(self, context):
            assert [line.sku for line in context.lines] == ["6901", "7001"] and context.tier is None
            return [(1, 9_000), (2, 6_000)]  # line 2 above its listed price: ignored

    class LowerStill:
        @hookimpl
        async def membership_line_prices(self, context):
            return [(1, 8_000)]

    register_plugin(MemberPrice())
    register_plugin(LowerStill())
    simulation = await sales.simulate_purchase(shop.program.id, shop.store_id, shop.member_id, lines)
    assert (simulation.total, simulation.discount, simulation.member_discount) == (21_000, 4_000, 4_000)
    assert [(p.line_no, p.unit_price, p.member_price) for p in simulation.member_prices] == [(1, 10_000, 8_000)]
    assert simulation.points_earned == 210  # points on what the member pays
    with pytest.raises(ValidationError) as listed:  # paying the listed total is refused, saying why
        await sales.record_purchase(
            shop.program.id, shop.store_id, shop.member_id, lines, [sales.PaymentInput("card", 25_000)]
        )
    assert "会员价优惠 4000" in listed.value.detail("zh")
    result = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, lines)
    assert (result.total, result.discount, result.member_discount, result.points_earned) == (21_000, 4_000, 4_000, 210)
    sale = await fetch_one("SELECT subtotal, discount, member_discount, total FROM sale WHERE id = {}", result.id)
    assert sale == {"subtotal": 25_000, "discount": 4_000, "member_discount": 4_000, "total": 21_000}
    sold = await fetch(
        "SELECT unit_price, member_price, amount FROM sale_line WHERE sale_id = {} ORDER BY line_no", result.id
    )
    assert sold == [
        {"unit_price": 10_000, "member_price": 8_000, "amount": 16_000},
        {"unit_price": 5_000, "member_price": None, "amount": 5_000},
    ]
    refund = await sales.refund(result.id, {1: 1})  # one bag of rice back: what was paid for it
    assert refund.amount == 8_000 and refund.points_reversed == 80
    assert (await sales.refund(result.id)).amount == 13_000
    assert await ledger_violations() == []


async def test_hook_growth_awards(db, register_plugin):
    shop = await make_shop()

    class VisitGrowth:
        @hookimpl
        def membership_growth_awards(self, context):
            return [Award("visit", 10, "到店 +10")]

    register_plugin(VisitGrowth())
    result = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert result.growth_earned == 110 and result.balances.growth == 110


async def test_hook_check_redemption(db, register_plugin):
    shop = await make_shop()
    await ledger.adjust_points(shop.member_id, 1000, "赠送", "admin")

    class NoRedeemAtStore2:
        @hookimpl
        async def membership_check_redemption(self, context):
            return "二号店不支持积分兑换" if context.store_id == shop.other_store_id else None

    register_plugin(NoRedeemAtStore2())
    with pytest.raises(RedemptionNotAllowed) as caught:
        await ledger.redeem_points(shop.member_id, 100, shop.other_store_id)
    assert "二号店" in caught.value.detail()
    assert (await ledger.redeem_points(shop.member_id, 100, shop.store_id)).balances.points == 900


async def test_hook_points_expiry(db, register_plugin):
    shop = await make_shop()

    class EndOfNextYear:
        @hookimpl(tryfirst=True)
        def membership_points_expiry(self, program, earned_at):
            local = earned_at.astimezone(program.zone)
            end = dt.datetime(local.year + 1, 12, 31, 23, 59, 59, tzinfo=program.zone)
            return PointsExpiry(end.astimezone(dt.UTC))

    register_plugin(EndOfNextYear())
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    lot = await fetch_one("SELECT expires_at FROM points_lot")
    local = lot["expires_at"].astimezone(shop.program.zone)
    assert (local.month, local.day, local.hour) == (12, 31, 23)
    assert local.year == dt.datetime.now(shop.program.zone).year + 1


def test_hook_register_reader_drivers(register_plugin):
    class Line(ReaderDriver):
        name = "line"

        def __init__(self):
            self.buffer = b""

        def feed(self, data):
            self.buffer += data
            *lines, self.buffer = self.buffer.split(b"\r")
            return [CredentialRead("barcode", line.decode()) for line in lines if line]

    class Drivers:
        @hookimpl
        def membership_register_reader_drivers(self):
            return [Line]

    register_plugin(Drivers())
    driver = hooks().reader_drivers()["line"]()
    assert driver.feed(b"123\r45") == [CredentialRead("barcode", "123")]
    assert driver.feed(b"6\r") == [CredentialRead("barcode", "456")]

    class Clash:
        @hookimpl
        def membership_register_reader_drivers(self):
            return [type("OtherLine", (ReaderDriver,), {"name": "line"})]

    register_plugin(Clash())
    with pytest.raises(ValidationError, match="registered twice"):
        hooks().reader_drivers()


async def test_hook_register_channels(register_plugin):
    sent = []

    class Outbox(Channel):
        name = "outbox"

        async def send(self, message):
            sent.append((self.settings["sender"], message.to))
            return DeliveryReport(self.name, True, provider_id="m-1")

    class Channels:
        @hookimpl
        def membership_register_channels(self):
            return [Outbox]

    register_plugin(Channels())
    report = await notifications.send("outbox", Message("+8613812345678", "您的积分即将到期"), {"sender": "悦享"})
    assert report.delivered and sent == [("悦享", "+8613812345678")]
    with pytest.raises(ValidationError):
        await notifications.send("carrier-pigeon", Message("x", "y"))


async def test_hook_register_reports(db, register_plugin):
    shop = await make_shop()
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)

    class GenderMix(Report):
        name = "gender_mix"

        async def run(self, program_id, params):
            rows = await fetch(
                "SELECT gender, COUNT(*) AS n FROM member WHERE program_id = {} GROUP BY gender", program_id
            )
            return ReportResult(["gender", "members"], [[r["gender"], r["n"]] for r in rows])

    class Reports:
        @hookimpl
        def membership_register_reports(self):
            return [GenderMix]

    register_plugin(Reports())
    reports = hooks().reports()
    assert {"members_summary", "points_liability", "sales_by_month", "gender_mix"} <= set(reports)
    assert (await reports["gender_mix"]().run(shop.program.id, {})).rows == [["unknown", 1]]
    month = dt.datetime.now(shop.program.zone).strftime("%Y-%m")
    assert (await reports["sales_by_month"]().run(shop.program.id, {})).rows == [[month, 1, 10_000, 100]]
    liability = {
        row["account"]: row["points"]
        for row in (await reports["points_liability"]().run(shop.program.id, {})).as_dicts()
    }
    assert liability["points"] == 100


async def test_hook_piccolo_apps(db, register_plugin):
    class Example:
        @hookimpl
        def membership_piccolo_apps(self):
            return ["tests.example_plugin.piccolo_app"]

    register_plugin(Example())
    assert await pending_migrations() == ["example_plugin:2026-11-23T19:00:00:000000"]
    assert await migrate() == ["example_plugin:2026-11-23T19:00:00:000000"]
    from tests.example_plugin.tables import Visit

    await Visit.insert(Visit(member_id=uuid.uuid4(), note="到店"))
    assert await Visit.count() == 1
    assert await migrate() == []


def test_hook_register_routes(register_plugin):
    def tables_handler():
        return {"tables": 12}

    class Routes:
        @hookimpl
        def membership_register_routes(self):
            return [tables_handler]

    register_plugin(Routes())
    assert tables_handler in hooks().routes()


def test_hook_register_console_pages(register_plugin):
    page = ConsolePage("/tables", "桌台", "Tables", handler=lambda: None, namespace="catering", templates=Path("t"))

    class Pages:
        @hookimpl
        def membership_register_console_pages(self):
            return [page]

    register_plugin(Pages())
    assert hooks().console_pages() == [page]
    register_plugin(type("Again", (), {"membership_register_console_pages": hookimpl(lambda self: [page])})())
    with pytest.raises(ValidationError):
        hooks().console_pages()


def test_hook_register_commands(register_plugin):
    class Commands:
        @hookimpl
        def membership_register_commands(self, cli):
            @cli.command("sync-pos")
            def sync_pos():
                "Pull receipts from the POS."
                typer.echo("synced 3 receipts")

    register_plugin(Commands())
    cli = typer.Typer()
    cli.command("noop")(lambda: None)
    hooks().register_commands(cli)
    result = CliRunner().invoke(cli, ["sync-pos"])
    assert result.exit_code == 0 and "synced 3 receipts" in result.output


async def test_hook_register_jobs(db, register_plugin):
    class Nightly(Job):
        name = "nightly-report"
        description = "每晚报表"

        async def run(self, now, progress):
            progress(1, 1)
            return JobResult(1, f"report for {now.date()}")

    class Jobs:
        @hookimpl
        def membership_register_jobs(self):
            return [Nightly]

    register_plugin(Jobs())
    jobs = hooks().jobs()
    assert {"expire-points", "purge-idempotency-keys", "nightly-report"} <= set(jobs)
    result = await jobs["nightly-report"]().run(dt.datetime(2026, 11, 23, tzinfo=dt.UTC), lambda d, t: None)
    assert result.summary == "report for 2026-11-23"


async def test_hook_demo_data(db, register_plugin):
    from membership.demo.service import create_demo

    class Areas:
        @hookimpl
        async def membership_demo_data(self, program, store_ids, rng):
            for name in ("大堂", "包间"):
                await ledger.adjust_points((await fetch_one("SELECT id FROM member LIMIT 1"))["id"], 1, name, "demo")

    register_plugin(Areas())
    summary = await create_demo(members_count=5, purchases=20, seed=1)
    assert summary.members == 5 and summary.purchases == 20
    reasons = {r["reason"] for r in await fetch("SELECT reason FROM ledger_posting WHERE kind = 'adjust'")}
    assert {"大堂", "包间"} <= reasons
    assert await ledger_violations() == []


async def test_hook_event(db, register_plugin):
    shop = await make_shop()
    seen = []

    class Listener:
        @hookimpl
        async def membership_event(self, event):
            seen.append((event.name, event.member_id))

    register_plugin(Listener())
    await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    await deliver_events()  # delivered after the commit, through the outbox
    assert ("purchase.recorded", str(shop.member_id)) in [(name, str(member)) for name, member in seen]

    @use_case
    async def enrol_then_fail():
        await members.enrol(shop.program.id, {"name": "回滚", "phone": "13700000009"})
        raise ValidationError(field="x", reason="boom")

    seen.clear()
    with pytest.raises(ValidationError):
        await enrol_then_fail()
    await deliver_events()
    assert seen == []  # rolled back: no event
    assert (await fetch_one("SELECT COUNT(*) AS n FROM member WHERE name = '回滚'"))["n"] == 0


async def test_a_failing_plugin_is_named_in_the_error(db, register_plugin):
    shop = await make_shop()

    class Broken:
        @hookimpl
        def membership_points_awards(self, context):
            return [Award("bad", 1 // 0, "")]

    register_plugin(Broken(), name="acme-broken-rules")
    with pytest.raises(PluginError) as caught:
        await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert "acme-broken-rules" in caught.value.detail("en") and "ZeroDivisionError" in caught.value.detail("en")
    assert (await fetch_one("SELECT COUNT(*) AS n FROM sale"))["n"] == 0


async def test_an_async_rule_under_a_wrapper_cap(db, register_plugin):
    """A wrapper sees an async implementation's awards, not its coroutine (it used to crash with
    "'coroutine' object is not iterable")."""
    shop = await make_shop()

    class AsyncBonus:
        @hookimpl
        async def membership_points_awards(self, context):
            await asyncio.sleep(0)
            return [Award("async-bonus", 500, "异步加送")]

    class Cap:
        @hookimpl(wrapper=True)
        def membership_points_awards(self, context):
            results = yield
            total = sum(a.points for awards in results for a in awards or ())
            return [[Award("capped", 200, "封顶 200")]] if total > 200 else results

    class OldStyle:
        @hookimpl(hookwrapper=True)
        def membership_growth_awards(self, context):
            outcome = yield
            outcome.force_result([[Award("growth-fixed", 7, "固定成长值")]])

    register_plugin(AsyncBonus())
    register_plugin(Cap())
    register_plugin(OldStyle())
    result = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, BUY)
    assert [(a.rule, a.points) for a in result.awards] == [("capped", 200)]
    assert result.growth_earned == 7
    assert await ledger_violations() == []
