"""No English field key or raw code reaches a Chinese reader: every kernel console page (and the
forms refused with errors) is rendered in zh_CN over a shop with data, and its visible text is
scanned for lower-case identifiers (``amount``, ``issue_on``, ``points_liability``…). What may
stay is listed with its reason; pages that are technical by nature (the audit log filters by
action codes, the plugins page lists hooks and jobs by their names) are listed apart, and a test
keeps the list of scanned pages complete."""

from __future__ import annotations

import html
import re
import types
import uuid

from membership.care import surveys, tickets
from membership.coupons import service as coupons
from membership.crm import campaigns
from membership.db import fetch
from membership.giftcards import service as giftcards
from membership.ledger import points_rules
from membership.ledger.rule_kinds import PARAMS
from membership.ledger.rules import LineInput
from membership.members.notes import add_note
from membership.notifications import config as channel_config
from membership.notifications import templates as message_templates
from membership.notifications.config import configure_channel
from membership.plugins import hooks
from membership.promotions import service as promotions
from membership.rewards import service as rewards
from membership.sales import service as sales
from membership.tiers import paid
from membership.tiers import service as tiers
from tests.console_client import csrf_of, text_of

ALLOWED = {
    "membership": "the product's name, in the window title",
    "owner": "staff usernames are data (the header shows who is logged in)",
    "manager": "a staff username",
    "clerk": "a staff username",
    "analyst": "a staff username",
}
TECHNICAL = {
    "/console/audit": "filters and lists action codes (member.update) by design: a forensic view",
    "/console/plugins": "lists plugins, hooks, jobs and schedules by their technical names",
    "/console/login": "before anyone logs in (no data, scanned in the browser tests)",
    "/console/setup": "the first-run wizard, closed once the business exists",
    "/console/counter/reads": "an event stream, not a page",
    "/console/counter/line": "a fragment the counter page asks for",
    "/console/counter/identify": "a fragment the counter page asks for",
    "/console/counter/unknown": "a fragment the counter page asks for",
    "/console/members/export": "a download",
    "/console/reports/{name:str}/{form:str}": "a download",
    "/console/members/import/{token:str}/status": "a fragment the import page polls",
    "/console/members/import/{token:str}/errors": "a download",
    "/console/members/import/{token:str}": "needs an uploaded file (tests/test_import_export.py)",
    "/console/counter/sales/{sale_id:uuid}/receipt": "the printed receipt (the counter's tests)",
    "/console/staff/{staff_id:uuid}/unlock": "only for an account with failed logins",
    "/console/counter/sales/{sale_id:uuid}": "the counter's sale page, its own tests' (it names the till pos)",
    "/console/segments/{code:str}/count": "a fragment: the live count the segment editor asks for",
    "/console/segments/row": "a fragment: one more condition row the segment editor asks for",
    "/console/segments/{code:str}": "a saved segment: the same editor as /console/segments/new, scanned there",
    "/console/campaigns/{code:str}": "scanned as /console/campaigns/spring (a path parameter)",
    "/console/campaigns/{code:str}/results": "scanned as /console/campaigns/spring/results (a path parameter)",
    "/console/message-templates/{code:str}": "scanned as /console/message-templates/hello (a path parameter)",
}
IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?![A-Za-z0-9_@/:-])")


def raw_words(page: str) -> set[str]:
    """Lower-case identifiers of three letters or more in what a reader sees of ``page``: not in
    scripts, styles, <code> (deliberately technical), text areas, input values, or the JSON view
    kept for integrators."""
    page = re.sub(r"<(script|style|code|textarea)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<details class="advanced".*?</details>', " ", page, flags=re.S)
    text = html.unescape(text_of(page))
    return {word for word in IDENTIFIER.findall(text) if len(word) >= 3 and word not in ALLOWED}


async def _shop_with_data(console):
    shop = console.shop
    program = shop.program.id
    await tiers.configure(
        program, [{"code": "gold", "name": "金卡", "threshold": 1000, "discount_pct": 2}], None, "test"
    )
    await paid.set_plans(program, [{"code": "year", "name": "年卡", "tier": "gold", "fee": 19_900, "days": 365}])
    await points_rules.create_rule(
        program,
        {"code": "wed", "name": "周三会员日", "kind": "member_day", "params": {"weekdays": [3], "multiplier_pct": 200}},
    )
    await coupons.create_template(
        program, {"code": "ten", "name": "减10元", "kind": "amount_off", "amount_off": 1000, "valid_days": 30}
    )
    await coupons.issue(program, "ten", [shop.member_id])
    drink = {"code": "drink", "name": "饮品", "kind": "gift", "params": {"sku": "D1"}, "points": 300, "stock": 9}
    await rewards.create_reward(program, {**drink, "member_limit": 2, "limit_period": "month"})
    tea = {
        "code": "tea",
        "name": "奶茶第二杯半价",
        "kind": "buy_n_get_m",
        "params": {"buy": 1, "get": 1, "percent_off": 50},
    }
    await promotions.create_promotion(program, {**tea, "conditions": [{"kind": "category", "any_of": ["饮品"]}]})
    sale = await sales.record_purchase(program, shop.store_id, shop.member_id, [LineInput("A", 1, 10_000)])
    await sales.record_purchase(program, shop.other_store_id, shop.member_id, [LineInput("B", 1, 2_000)])
    await add_note(shop.member_id, "喜欢靠窗", "staff:manager")
    await channel_config.configure_channel(program, "inbox", {}, True, "test")
    hello = message_templates.TemplateTerms(name="问候", body_zh="{{ member.name }}，您好")
    await message_templates.save_template(program, "hello", hello, "test", new=True)
    spring = {"name": "生日礼遇", "when": {"kind": "trigger", "event": "birthday"}, "template": "hello"}
    spring |= {"channels": ["inbox"], "points": 10, "control_pct": 10}
    await campaigns.save_campaign(program, "spring", campaigns.parse_terms(spring), "test", new=True)
    await giftcards.save_product(program, "GC-100", "100元礼品卡", 10_000, create=True)
    await sales.record_purchase(program, shop.store_id, shop.member_id, [LineInput("GC-100", 2, 10_000)])
    return sale


def _pages(shop, sale) -> list[str]:
    member = f"/console/members/{shop.member_id}"
    kinds = ["/console/loyalty/rules?kind=" + kind for kind in PARAMS]
    coupon_kinds = [f"/console/loyalty/coupons?kind={kind}" for kind in ("amount_off", "percent_off", "free_item")]
    reports = [f"/console/reports/{name}" for name in hooks().reports()]
    return [
        "/console/counter",
        f"/console/counter/members/{shop.member_id}",
        "/console/members",
        "/console/members/new",
        member,
        f"{member}/erase",
        "/console/members/import",
        "/console/dashboard",
        "/console/stores",
        "/console/settings",
        "/console/program-plugins",
        "/console/staff",
        "/console/api-keys",
        "/console/help",
        "/console/loyalty/rules",
        "/console/loyalty/rules?edit=wed",
        "/console/loyalty/policy",
        "/console/loyalty/top-up-plans",
        "/console/loyalty/coupons",
        "/console/loyalty/coupons?edit=ten",
        "/console/loyalty/rewards",
        "/console/loyalty/rewards?kind=discount",
        "/console/loyalty/rewards?edit=drink",
        "/console/loyalty/promotions",
        "/console/loyalty/promotions?kind=amount_off",
        "/console/loyalty/promotions?edit=tea",
        "/console/loyalty/tiers",
        "/console/loyalty/paid-plans",
        "/console/segments",
        "/console/segments/new",
        "/console/campaigns",
        "/console/campaigns/new",
        "/console/campaigns/spring",
        "/console/campaigns/spring/results",
        "/console/message-templates",
        "/console/message-templates/new",
        "/console/message-templates/hello",
        "/console/channels",
        "/console/tags",
        f"{member}/messages",
        "/console/gift-cards",
        "/console/gift-cards?edit=GC-100",
        *kinds,
        *coupon_kinds,
        *reports,
    ]


async def _care_data(shop) -> uuid.UUID:
    """A survey with an answer, and a ticket with a comment: what the care pages show."""
    program = shop.program.id
    await configure_channel(program, "inbox", {}, True, "test")
    terms = surveys.SurveyTerms(name="工单回访", kind="nps", send_after="ticket", question_zh="您会推荐我们吗？")
    await surveys.save_survey(program, "after-visit", terms, "test", new=True)
    ticket = await tickets.open_ticket(program, shop.member_id, "complaint", "咖啡送错了", store_id=shop.store_id)
    await tickets.comment(program, ticket["id"], "已致歉", "staff:manager")
    await tickets.move_ticket(program, ticket["id"], "close", "staff:manager")
    send = (await fetch("SELECT id FROM survey_send WHERE program_id = {}", program))[0]
    await surveys.answer(surveys.answer_token(uuid.UUID(str(send["id"]))), 9, "很好")
    await tickets.move_ticket(program, ticket["id"], "reopen", "staff:manager")
    return ticket["id"]


def _care_pages(ticket_id) -> list[str]:
    """Surveys (the one made by :func:`_care_data` is ``after-visit``) and tickets."""
    return [
        "/console/surveys",
        "/console/surveys/new",
        "/console/surveys/after-visit",
        "/console/surveys/after-visit/results",
        "/console/tickets",
        "/console/tickets?overdue=1&status=open",
        "/console/tickets/new",
        "/console/tickets/settings",
        f"/console/tickets/{ticket_id}",
    ]


async def test_no_console_page_shows_an_english_key_or_a_raw_code_to_a_chinese_reader(console):
    shop = console.shop
    sale = await _shop_with_data(console)
    ticket_id = await _care_data(shop)
    found: dict[str, set[str]] = {}
    async with console.logged_in("owner") as client:
        for path in [*_pages(shop, sale), *_care_pages(ticket_id)]:
            answer = await client.get(path)
            assert answer.status_code == 200, path
            words = raw_words(answer.text)
            if words:
                found[path] = words
        refused = {
            "/console/loyalty/tiers": {"tiers-0-code": "金 卡", "tiers-0-name": "", "tiers-0-threshold": "一千"},
            "/console/loyalty/rules": {"kind": "member_day", "code": "x", "name": "会员日", "p-multiplier_pct": "2"},
            "/console/loyalty/coupons": {"kind": "percent_off", "code": "p", "name": "折扣", "percent_off": "八折"},
            "/console/loyalty/top-up-plans": {"plans-0-code": "a", "plans-0-name": "充", "plans-0-pay": "-1"},
            "/console/loyalty/policy": {"expiry": "days_after", "pending_days": "x"},
            "/console/loyalty/coupons/issue": {"template": "ten", "to": "members", "members": "13700000000"},
            "/console/loyalty/rewards": {"kind": "discount", "code": "x", "name": "折", "params-percent_off": "八折"},
            "/console/loyalty/rewards/redeem": {"reward": "drink", "member": "13812345678"},
            "/console/loyalty/promotions": {
                "kind": "percent_off",
                "code": "x",
                "name": "折",
                "params-percent_off": "八折",
            },
            f"/console/members/{shop.member_id}/profile": {"name": "", "phone": "12345"},
            f"/console/members/{shop.member_id}/notes": {"text": ""},
            "/console/surveys": {"new": "1", "code": "x", "name": "", "kind": "nps", "question_zh": "推荐吗"},
            "/console/tickets": {"member": "13700000000", "kind": "complaint", "subject": "送错了"},
            "/console/tickets/settings": {"complaint-urgent": "两小时"},
            f"/console/tickets/{ticket_id}/move": {"action": "reopen"},
            "/console/api-keys": {"name": "收银机"},
            "/console/campaigns": {"new": "1", "code": "x", "name": "活动", "kind": "once", "points": "五十"},
            "/console/message-templates": {"new": "1", "code": "x", "name": "模板", "body_zh": "{{ member.name"},
            "/console/channels/email": {"s-host": "smtp.example.com", "s-port": "八百", "s-sender": "a@b.c"},
            "/console/channels/policy": {"p-quiet_start": "25:00"},
            "/console/tags/rules": {"tag": "", "segment": "none"},
            "/console/gift-cards/products": {"sku": "GC-50", "name": "50元卡", "face_value": "五十"},
            "/console/gift-cards/balance": {"code": "12345"},
        }
        for path, form in refused.items():
            answer = await client.post(path, data={**form, "_csrf_token": csrf_of(client)})
            assert answer.status_code == 422, (path, answer.status_code)
            words = raw_words(answer.text)
            if words:
                found[f"POST {path}"] = words
    assert found == {}, "\n".join(f"{path}: {sorted(words)}" for path, words in found.items())


def _shape(path: str) -> str:
    """A page's path with its ids and parameters as ``{}`` and without its query."""
    path = re.sub(r"\?.*", "", path)
    return re.sub(r"\{[a-z_]+:[a-z]+\}|[0-9a-f]{8}-[0-9a-f-]{27}", "{}", path)


def test_every_kernel_page_is_scanned_or_listed_as_technical(console):
    sale = types.SimpleNamespace(id=uuid.uuid4())
    every_report = "/console/reports/{name:str}"  # _pages scans each registered report
    care = [path.replace("after-visit", "{code:str}") for path in _care_pages(uuid.uuid4())]
    known = {_shape(path) for path in [*_pages(console.shop, sale), *care, *TECHNICAL, every_report, "/console"]}
    kernel_pages = set()
    for route in console.app.routes:
        handlers = [handler for handler in getattr(route, "route_handlers", []) if "GET" in handler.http_methods]
        if not route.path.startswith("/console") or route.path.startswith("/console/static") or not handlers:
            continue
        if all(handler.fn.__module__.startswith("membership_") for handler in handlers):
            continue  # a pack's page: the pack's own tests speak for its words
        kernel_pages.add(_shape(route.path))
    assert kernel_pages - known == set(), "scan the new page in _pages, or say why it is technical"
