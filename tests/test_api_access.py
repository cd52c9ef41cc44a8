"""Object-level access, route by route: a key never reaches another merchant's data; scopes,
store binding, missing keys and rate limits are enforced on every route."""

from __future__ import annotations

import uuid

import pytest

from membership.access.service import create_api_key
from membership.care import surveys, tickets
from membership.coupons import service as coupons
from membership.db import fetch, fetch_one
from membership.giftcards import service as giftcards
from membership.ledger.points_rules import create_rule
from membership.ledger.rules import LineInput
from membership.ledger.service import adjust_points
from membership.ledger.transfer import transfer_points
from membership.members import service as members
from membership.members.merge import merge_members
from membership.notifications.config import configure_channel
from membership.org.service import update_settings
from membership.promotions import service as promotions
from membership.rewards import redeeming as reward_redemptions
from membership.rewards import service as rewards
from membership.sales import service as sales
from membership.testing import make_member
from membership.tiers import paid
from membership.tiers import service as tiers
from tests.helpers import make_shop

PUBLIC = {("GET", "/api/v1/health"), ("POST", "/api/v1/survey-answers/{token}")}
NOT_OBJECTS = {  # the same for every key
    "/api/v1/plugins",
    "/api/v1/points-rule-kinds",
    "/api/v1/points-rule-conditions",
    "/api/v1/credential-kinds",
    "/api/v1/segment-fields",
    "/api/v1/channels",
    "/api/v1/reward-kinds",
    "/api/v1/promotion-kinds",
}
BASE = {"points": 1, "per_amount": 100}
PLAN = {"code": "prime", "name": "年卡", "tier": "gold", "fee": 19_900, "days": 365}
COUPON = {"code": "ten-off", "name": "减10元", "kind": "amount_off", "amount_off": 1_000, "valid_days": 30}
REWARD = {"code": "gift", "name": "10 积分换赠品", "kind": "gift", "params": {"sku": "A"}, "points": 10}
PROMOTION = {"code": "promo", "name": "满减", "kind": "amount_off", "params": {"amount_off": 100}}


async def _objects(shop) -> dict[str, str]:
    card = await members.issue_credential(shop.member_id, "card_uid", f"C{uuid.uuid4().hex[:8]}")
    sale = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("A", 1, 1_000)])
    await create_rule(shop.program.id, {"code": "base", "kind": "base_rate", "name": "基础", "params": BASE})
    await tiers.configure(shop.program.id, [{"code": "gold", "name": "金卡", "threshold": 1000}], None, "test")
    await update_settings(shop.program.id, {"paid_plans": [PLAN]})
    membership = await paid.buy(shop.member_id, "prime", "cash", shop.store_id)
    await coupons.create_template(shop.program.id, COUPON)
    coupon = (await coupons.issue(shop.program.id, "ten-off", [shop.member_id])).issued[0]
    await update_settings(shop.program.id, {"points_transfer": True})
    await adjust_points(shop.member_id, 50, "test", "test")
    friend, twin, duplicate = [await make_member(shop.program.id, store_id=shop.store_id) for _ in range(3)]
    transfer = await transfer_points(shop.member_id, friend, 10, actor="test")
    merge = await merge_members(twin, [duplicate], "test", actor="test")
    await rewards.create_reward(shop.program.id, REWARD)
    redemption = await reward_redemptions.redeem_reward(shop.program.id, "gift", shop.member_id)
    await promotions.create_promotion(shop.program.id, PROMOTION)
    await giftcards.save_product(shop.program.id, "GC-100", "礼品卡", 10_000, create=True)
    sold = await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [LineInput("GC-100", 1, 10_000)])
    ticket, token = await _care_objects(shop)
    return {
        "ticket": ticket,
        "token": token,
        "gift_card": (await giftcards.sold_by(shop.program.id, sold.id))[0].code,
        "redemption": str(redemption.id),
        "transfer": str(transfer.id),
        "merge": str(merge.id),
        "membership": str(membership.id),
        "coupon": coupon["code"],
        "member": str(shop.member_id),
        "credential": str(card["id"]),
        "card": card["value"],
        "sale": str(sale.id),
        "program": str(shop.program.id),
        "store": str(shop.store_id),
        "merchant": str(shop.merchant_id),
    }


SURVEY = {"name": "工单回访", "kind": "csat", "send_after": "ticket", "question_zh": "您满意吗？"}


async def _care_objects(shop) -> tuple[str, str]:
    """A ticket, and the answer token of a survey invitation its closed twin gave."""
    await configure_channel(shop.program.id, "inbox", {}, True, "test")
    terms = surveys.SurveyTerms(**SURVEY)
    await surveys.save_survey(shop.program.id, "after-ticket", terms, "test", new=True)
    ticket = await tickets.open_ticket(shop.program.id, shop.member_id, "enquiry", "积分怎么用", actor="test")
    closed = await tickets.open_ticket(shop.program.id, shop.member_id, "complaint", "送错了", actor="test")
    await tickets.move_ticket(shop.program.id, closed["id"], "close", "test")
    send = await fetch_one("SELECT id FROM survey_send WHERE program_id = {}", shop.program.id)
    return str(ticket["id"]), surveys.answer_token(uuid.UUID(str(send["id"])))


def _care_cases(o: dict[str, str]) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """Surveys, tickets and the care settings: aimed at ``o``'s; the answer link is public."""
    program, ticket = o["program"], o["ticket"]
    routes = [
        ("GET", "surveys", None),
        ("POST", "surveys", {**SURVEY, "code": f"s{uuid.uuid4().hex[:6]}"}),
        ("GET", "surveys/{code}", None),
        ("PUT", "surveys/{code}", SURVEY),
        ("DELETE", "surveys/{code}", None),
        ("GET", "surveys/{code}/results", None),
        ("GET", "tickets", None),
        ("POST", "tickets", {"member_id": o["member"], "kind": "enquiry", "subject": "积分"}),
        ("GET", "care-settings", None),
        ("PATCH", "care-settings", {"complaint": {"urgent": 1, "high": 4, "normal": 12, "low": 48}}),
    ]
    cases = [
        (
            method,
            f"/api/v1/programs/{{program_id}}/{tail}",
            f"/api/v1/programs/{program}/{tail.replace('{code}', 'after-ticket')}",
            None,
            body,
        )
        for method, tail, body in routes
    ]
    for method, tail, body in [
        ("GET", "", None),
        ("PATCH", "", {"priority": "high"}),
        ("POST", "/transitions", {"action": "start"}),
        ("POST", "/comments", {"body": "已回复"}),
    ]:
        cases.append((method, f"/api/v1/tickets/{{ticket_id}}{tail}", f"/api/v1/tickets/{ticket}{tail}", None, body))
    token = o["token"]
    cases.append(("POST", "/api/v1/survey-answers/{token}", f"/api/v1/survey-answers/{token}", None, {"score": 4}))
    return cases


def _cases(o: dict[str, str]) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """(method, path template, concrete path, query, body) for every route, aimed at ``o``."""
    m, sale = (
        o["member"],
        {"member_id": o["member"], "store_id": o["store"], "lines": [{"sku": "A", "quantity": 1, "unit_price": 100}]},
    )
    return [
        ("POST", "/api/v1/members", "/api/v1/members", None, {"name": "李雷", "program_id": o["program"]}),
        ("GET", "/api/v1/members", "/api/v1/members", {"program_id": o["program"]}, None),
        ("GET", "/api/v1/members/{member_id}", f"/api/v1/members/{m}", None, None),
        ("PATCH", "/api/v1/members/{member_id}", f"/api/v1/members/{m}", None, {"tags": ["x"]}),
        (
            "POST",
            "/api/v1/members/{member_id}/credentials",
            f"/api/v1/members/{m}/credentials",
            None,
            {"kind": "qr_token"},
        ),
        ("POST", "/api/v1/credentials/{credential_id}/block", f"/api/v1/credentials/{o['credential']}/block", None, {}),
        (
            "POST",
            "/api/v1/credentials/{credential_id}/replace",
            f"/api/v1/credentials/{o['credential']}/replace",
            None,
            {},
        ),
        (
            "GET",
            "/api/v1/identify",
            "/api/v1/identify",
            {"kind": "card_uid", "value": o["card"], "program_id": o["program"]},
            None,
        ),
        ("POST", "/api/v1/transactions", "/api/v1/transactions", None, sale),
        ("POST", "/api/v1/transactions/simulate", "/api/v1/transactions/simulate", None, sale),
        ("POST", "/api/v1/transactions/{sale_id}/refund", f"/api/v1/transactions/{o['sale']}/refund", None, {}),
        ("GET", "/api/v1/members/{member_id}/balances", f"/api/v1/members/{m}/balances", None, None),
        ("GET", "/api/v1/members/{member_id}/ledger", f"/api/v1/members/{m}/ledger", None, None),
        ("GET", "/api/v1/members/{member_id}/points-lots", f"/api/v1/members/{m}/points-lots", None, None),
        (
            "POST",
            "/api/v1/members/{member_id}/points/adjust",
            f"/api/v1/members/{m}/points/adjust",
            None,
            {"points": 5, "reason": "test"},
        ),
        (
            "POST",
            "/api/v1/members/{member_id}/points/redeem",
            f"/api/v1/members/{m}/points/redeem",
            None,
            {"points": 1},
        ),
        (
            "POST",
            "/api/v1/members/{member_id}/stored-value/top-up",
            f"/api/v1/members/{m}/stored-value/top-up",
            None,
            {"amount": 100},
        ),
        ("GET", "/api/v1/stores", "/api/v1/stores", {"program_id": o["program"]}, None),
        (
            "GET",
            "/api/v1/reader-reads",
            "/api/v1/reader-reads",
            {"program_id": o["program"], "store_id": o["store"]},
            None,
        ),
        (
            "GET",
            "/api/v1/reader-reads/stream",
            "/api/v1/reader-reads/stream",
            {"program_id": o["program"], "store_id": o["store"], "duration": 1},
            None,
        ),
        (
            "POST",
            "/api/v1/members/{member_id}/stored-value/cash-out",
            f"/api/v1/members/{m}/stored-value/cash-out",
            None,
            {"amount": 1},
        ),
        ("POST", "/api/v1/members/{member_id}/sign-ins", f"/api/v1/members/{m}/sign-ins", None, None),
        ("GET", "/api/v1/members/{member_id}/tier-history", f"/api/v1/members/{m}/tier-history", None, None),
        ("GET", "/api/v1/members/{member_id}/paid-memberships", f"/api/v1/members/{m}/paid-memberships", None, None),
        (
            "POST",
            "/api/v1/members/{member_id}/paid-memberships",
            f"/api/v1/members/{m}/paid-memberships",
            None,
            {"plan": "prime"},
        ),
        (
            "POST",
            "/api/v1/paid-memberships/{membership_id}/refund",
            f"/api/v1/paid-memberships/{o['membership']}/refund",
            None,
            {},
        ),
        ("GET", "/api/v1/members/{member_id}/coupons", f"/api/v1/members/{m}/coupons", None, None),
        ("GET", "/api/v1/coupons/{code}", f"/api/v1/coupons/{o['coupon']}", None, None),
        ("GET", "/api/v1/coupons/{code}/qr.svg", f"/api/v1/coupons/{o['coupon']}/qr.svg", None, None),
        ("GET", "/api/v1/coupons/{code}/qr.png", f"/api/v1/coupons/{o['coupon']}/qr.png", None, None),
        ("POST", "/api/v1/coupons/{code}/void", f"/api/v1/coupons/{o['coupon']}/void", None, {"reason": "test"}),
        (
            "GET",
            "/api/v1/members/{member_id}/reward-redemptions",
            f"/api/v1/members/{m}/reward-redemptions",
            None,
            None,
        ),
        (
            "POST",
            "/api/v1/reward-redemptions/{redemption_id}/cancel",
            f"/api/v1/reward-redemptions/{o['redemption']}/cancel",
            None,
            {"reason": "test"},
        ),
        ("GET", "/api/v1/reward-kinds", "/api/v1/reward-kinds", None, None),
        ("GET", "/api/v1/promotion-kinds", "/api/v1/promotion-kinds", None, None),
        *_program_cases(o["program"], m),
        *_crm_cases(o["program"], m),
        *_care_cases(o),
        *_gift_card_cases(o["program"], o["gift_card"]),
        *_loyalty_cases(o),
        *_setup_cases(o),
        ("GET", "/api/v1/members/{member_id}/export", f"/api/v1/members/{m}/export", None, None),
        ("POST", "/api/v1/members/{member_id}/erasure", f"/api/v1/members/{m}/erasure", None, {"reason": "test"}),
        ("GET", "/api/v1/members/{member_id}/consents", f"/api/v1/members/{m}/consents", None, None),
        (
            "PUT",
            "/api/v1/members/{member_id}/consents/{purpose}",
            f"/api/v1/members/{m}/consents/marketing",
            None,
            {"granted": False},
        ),
        ("GET", "/api/v1/points-rule-kinds", "/api/v1/points-rule-kinds", None, None),
        ("GET", "/api/v1/points-rule-conditions", "/api/v1/points-rule-conditions", None, None),
        ("GET", "/api/v1/segment-fields", "/api/v1/segment-fields", None, None),
        ("GET", "/api/v1/channels", "/api/v1/channels", None, None),
        ("GET", "/api/v1/credential-kinds", "/api/v1/credential-kinds", None, None),
        ("GET", "/api/v1/plugins", "/api/v1/plugins", None, None),
        ("GET", "/api/v1/health", "/api/v1/health", None, None),
    ]


def _program_cases(program: str, member: str) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """The program's configuration routes, each aimed at ``program``."""
    rule = {"kind": "base_rate", "name": "基础", "params": BASE}
    today = "2026-11-30"
    routes = [
        ("GET", "points-rules", None, None),
        ("POST", "points-rules", None, {**rule, "code": f"r{uuid.uuid4().hex[:6]}"}),
        ("GET", "points-rules/{code}", None, None),
        ("PUT", "points-rules/{code}", None, rule),
        ("DELETE", "points-rules/{code}", None, None),
        ("GET", "points-policy", None, None),
        ("PUT", "points-policy", None, {"pending_days": 0}),
        ("GET", "tiers", None, None),
        ("PUT", "tiers", None, {"tiers": [{"code": "gold", "name": "金卡", "threshold": 1000}]}),
        ("GET", "paid-plans", None, None),
        ("PUT", "paid-plans", None, [PLAN]),
        ("GET", "top-up-plans", None, None),
        ("PUT", "top-up-plans", None, []),
        ("GET", "settlement", {"start": today, "end": today}, None),
        ("GET", "settlement.csv", {"start": today, "end": today}, None),
        ("GET", "coupon-templates", None, None),
        ("POST", "coupon-templates", None, {**COUPON, "code": f"c{uuid.uuid4().hex[:6]}"}),
        ("GET", "coupon-templates/{code}", None, None),
        ("PUT", "coupon-templates/{code}", None, COUPON),
        ("DELETE", "coupon-templates/{code}", None, None),
        ("POST", "coupon-templates/{code}/issue", None, {"member_ids": [member]}),
        ("GET", "coupon-templates/{code}/report", None, None),
        ("GET", "coupon-report", None, None),
        ("GET", "rewards", None, None),
        ("POST", "rewards", None, {**REWARD, "code": f"w{uuid.uuid4().hex[:6]}"}),
        ("GET", "rewards/{code}", None, None),
        ("PUT", "rewards/{code}", None, REWARD),
        ("DELETE", "rewards/{code}", None, None),
        ("POST", "rewards/{code}/redeem", None, {"member_id": member}),
        ("GET", "promotions", None, None),
        ("POST", "promotions", None, {**PROMOTION, "code": f"p{uuid.uuid4().hex[:6]}"}),
        ("GET", "promotions/{code}", None, None),
        ("PUT", "promotions/{code}", None, PROMOTION),
        ("DELETE", "promotions/{code}", None, None),
    ]
    codes = {"coupon-templates/": "ten-off", "rewards/": "gift", "promotions/": "promo"}
    cases = []
    for method, tail, query, body in routes:
        code = next((c for prefix, c in codes.items() if tail.startswith(prefix)), "base")
        concrete = f"/api/v1/programs/{program}/{tail.replace('{code}', code)}"
        cases.append((method, f"/api/v1/programs/{{program_id}}/{tail}", concrete, query, body))
    return cases


def _gift_card_cases(program: str, card: str) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """The gift-card routes: products, cards, liability, a card's balance by its ``card`` code."""
    product = {"name": "礼品卡", "face_value": 10_000}
    routes = [
        ("GET", "gift-card-products", None),
        ("POST", "gift-card-products", {**product, "sku": f"g{uuid.uuid4().hex[:6]}"}),
        ("PUT", "gift-card-products/{sku}", product),
        ("GET", "gift-cards", None),
        ("GET", "gift-cards/liability", None),
        ("GET", "gift-cards/{code}", None),
    ]
    return [
        (
            method,
            f"/api/v1/programs/{{program_id}}/{tail}",
            f"/api/v1/programs/{program}/{tail.replace('{sku}', 'GC-100').replace('{code}', card)}",
            None,
            body,
        )
        for method, tail, body in routes
    ]


SEGMENT = {"match": "all", "conditions": [{"field": "spend", "op": "gte", "value": 50_000, "days": 90}]}
TEMPLATE = {"code": "points", "name": "积分提醒", "purpose": "service", "subject_zh": "积分", "body_zh": "{{ points }}"}
CAMPAIGN = {
    "code": "birthday",
    "name": "生日礼遇",
    "when": {"kind": "trigger", "event": "birthday"},
    "template": "points",
}


def _crm_cases(program: str, member: str) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """The CRM's routes (segments, tags, RFM, campaigns, channels, templates, messages)."""
    routes = [
        ("GET", "segments", None),
        ("POST", "segments", {"code": f"s{uuid.uuid4().hex[:6]}", "name": "高消费", "definition": SEGMENT}),
        ("GET", "segments/{code}", None),
        ("PUT", "segments/{code}", {"name": "高消费", "definition": SEGMENT}),
        ("DELETE", "segments/{code}", None),
        ("GET", "segments/{code}/count", None),
        ("GET", "segments/{code}/members", None),
        ("POST", "segments/{code}/members", {"lines": ["13812345678"], "replace": True}),
        ("POST", "segment-counts", {"definition": SEGMENT}),
        ("GET", "lifecycle", None),
        ("GET", "crm-settings", None),
        ("PATCH", "crm-settings", {"dormant_after_days": 60}),
        ("GET", "tags", None),
        ("GET", "tag-rules", None),
        ("POST", "tag-rules", {"tag": "高价值", "segment": "big"}),
        ("DELETE", "tag-rules/{tag}", None),
        ("GET", "campaigns", None),
        ("POST", "campaigns", {**CAMPAIGN, "code": f"c{uuid.uuid4().hex[:6]}"}),
        ("GET", "campaigns/{code}", None),
        ("PUT", "campaigns/{code}", CAMPAIGN),
        ("POST", "campaigns/{code}/run", None),
        ("GET", "campaigns/{code}/results", None),
        ("GET", "channels", None),
        ("PUT", "channels/{channel}", {"settings": {}}),
        ("POST", "channels/{channel}/test", {"to": "boss@example.com"}),
        ("GET", "notification-policy", None),
        ("PATCH", "notification-policy", {"quiet_start": "22:00"}),
        ("GET", "message-templates", None),
        ("POST", "message-templates", {**TEMPLATE, "code": f"t{uuid.uuid4().hex[:6]}"}),
        ("PUT", "message-templates/{code}", TEMPLATE),
        ("POST", "message-templates/{code}/preview", {"language": "zh", "values": {"points": 1}}),
    ]
    names = {"{code}": "big", "{tag}": "高价值", "{channel}": "inbox"}
    cases = []
    for method, tail, body in routes:
        concrete = tail
        for name, value in names.items():
            concrete = concrete.replace(name, value)
        cases.append(
            (method, f"/api/v1/programs/{{program_id}}/{tail}", f"/api/v1/programs/{program}/{concrete}", None, body)
        )
    message = uuid.uuid4()
    for method, tail, body in [
        ("GET", "score", None),
        ("POST", "tags", {"add": ["咖啡"]}),
        ("GET", "messages", None),
        ("POST", "messages", {"template": "points", "channels": ["inbox"], "values": {"points": 1}}),
        ("GET", "inbox", None),
        ("POST", f"inbox/{message}/read", None),
    ]:
        template = tail.replace(str(message), "{message_id}")
        cases.append(
            (method, f"/api/v1/members/{{member_id}}/{template}", f"/api/v1/members/{member}/{tail}", None, body)
        )
    return cases


def _loyalty_cases(o: dict[str, str]) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """Points transfers, member merges and manual tiers: aimed at ``o``'s."""
    m, transfer, merge = o["member"], o["transfer"], o["merge"]
    tier = {"tier": "gold", "ends_on": "2099-06-30", "reason": "经理批准"}
    given = {"points": 1, "to": {"kind": "phone", "value": "13912345678"}}
    return [
        ("GET", "/api/v1/members/{member_id}/points-transfers", f"/api/v1/members/{m}/points-transfers", None, None),
        ("POST", "/api/v1/members/{member_id}/points-transfers", f"/api/v1/members/{m}/points-transfers", None, given),
        ("GET", "/api/v1/points-transfers/{transfer_id}", f"/api/v1/points-transfers/{transfer}", None, None),
        (
            "POST",
            "/api/v1/points-transfers/{transfer_id}/reverse",
            f"/api/v1/points-transfers/{transfer}/reverse",
            None,
            {"reason": "撤回"},
        ),
        ("GET", "/api/v1/members/{member_id}/merges", f"/api/v1/members/{m}/merges", None, None),
        (
            "POST",
            "/api/v1/members/{member_id}/merges",
            f"/api/v1/members/{m}/merges",
            None,
            {"merged": [str(uuid.uuid4())], "reason": "重复"},
        ),
        (
            "POST",
            "/api/v1/member-merges/{merge_id}/undo",
            f"/api/v1/member-merges/{merge}/undo",
            None,
            {"reason": "撤销"},
        ),
        ("GET", "/api/v1/members/{member_id}/tier-assignment", f"/api/v1/members/{m}/tier-assignment", None, None),
        ("PUT", "/api/v1/members/{member_id}/tier-assignment", f"/api/v1/members/{m}/tier-assignment", None, tier),
        (
            "DELETE",
            "/api/v1/members/{member_id}/tier-assignment",
            f"/api/v1/members/{m}/tier-assignment",
            {"reason": "到期"},
            None,
        ),
    ]


def _setup_cases(o: dict[str, str]) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """Merchants, programs with their settings and documents, stores: aimed at ``o``'s."""
    program, merchant, store = o["program"], o["merchant"], o["store"]
    document = {"program": {"name": "某方案", "merchant": "别的商户"}}
    return [
        ("GET", "/api/v1/merchants", "/api/v1/merchants", None, None),
        ("POST", "/api/v1/merchants", "/api/v1/merchants", None, {"name": "新商户"}),
        ("PATCH", "/api/v1/merchants/{merchant_id}", f"/api/v1/merchants/{merchant}", None, {"name": "改名"}),
        ("GET", "/api/v1/programs", "/api/v1/programs", None, None),
        ("POST", "/api/v1/programs", "/api/v1/programs", None, {"name": "新方案", "merchant_id": merchant}),
        ("GET", "/api/v1/programs/{program_id}", f"/api/v1/programs/{program}", None, None),
        (
            "PATCH",
            "/api/v1/programs/{program_id}/settings",
            f"/api/v1/programs/{program}/settings",
            None,
            {"min_redeem_points": 10},
        ),
        ("GET", "/api/v1/programs/{program_id}/document", f"/api/v1/programs/{program}/document", None, None),
        ("POST", "/api/v1/programs/apply", "/api/v1/programs/apply", None, document),
        ("GET", "/api/v1/programs/{program_id}/plugins", f"/api/v1/programs/{program}/plugins", None, None),
        (
            "PUT",
            "/api/v1/programs/{program_id}/plugins/{name}",
            f"/api/v1/programs/{program}/plugins/no-such-plugin",
            None,
            {"enabled": True},
        ),
        ("POST", "/api/v1/stores", "/api/v1/stores", None, {"code": "NEW", "name": "新店", "merchant_id": merchant}),
        ("PATCH", "/api/v1/stores/{store_id}", f"/api/v1/stores/{store}", None, {"city": "苏州"}),
    ]


# routes that list or create rather than reach one object: what a merchant's admin key gets instead of 404
LISTS = {
    ("GET", "/api/v1/merchants"): 200,
    ("GET", "/api/v1/programs"): 200,
    ("POST", "/api/v1/merchants"): 403,
}


def _scope_of(app, method: str, template: str) -> str | None:
    for route in app.routes:
        if route.path.replace(":uuid", "").replace(":str", "") == template:
            for handler in route.route_handlers:
                if method in handler.http_methods:
                    return None if handler.opt.get("public") else str(handler.opt.get("scope", "admin"))
    raise AssertionError(f"no route {method} {template}")


@pytest.fixture
async def other(api):
    """A second merchant with its own program, member, card and sale."""
    shop = await make_shop()
    return await _objects(shop)


async def _send(api, key, method, path, query, body):
    headers = api.headers(key, **{"Idempotency-Key": uuid.uuid4().hex})
    return await api.client.request(method, path, params=query, json=body, headers=headers)


async def test_every_route_is_in_the_access_table(api, other):
    documented = {(method, path) for method, path, *_ in _cases(other)}
    schema = (await api.client.get("/schema/openapi.json")).json()
    served = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert served == documented


@pytest.fixture
async def unhurried(api):
    """The API with keys of each scope allowed more requests a second than walking every route sends
    (the default 100 would answer 429 halfway: the rate limit has its own test below)."""
    for scope in ("read", "pos", "admin"):
        key = await create_api_key(f"walk-{scope}", [scope], merchant_id=api.shop.merchant_id, rate_limit=10_000)
        api.keys[scope] = key.secret
    return api


async def test_a_key_never_reaches_another_merchants_data(unhurried, other):
    """Even an admin key of merchant A gets 404 for B's member, card, sale and program."""
    api = unhurried
    for method, template, path, query, body in _cases(other):
        if (method, template) in PUBLIC or template in NOT_OBJECTS:
            continue
        answer = await _send(api, "admin", method, path, query, body)
        if (method, template) == ("GET", "/api/v1/stores"):  # a merchant key lists its own stores only
            assert answer.status_code == 200
            assert other["store"] not in answer.text and str(api.shop.store_id) in answer.text
            continue
        if (method, template) in LISTS:
            assert answer.status_code == LISTS[method, template], (method, path, answer.text)
            assert other["merchant"] not in answer.text and other["program"] not in answer.text
            continue
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"].endswith("_not_found"), answer.json()


async def test_every_route_wants_a_key_and_its_scope(unhurried):
    api = unhurried
    mine = await _objects(api.shop)
    weaker = {"read": None, "pos": "read", "admin": "pos"}
    for method, template, path, query, body in _cases(mine):
        if (method, template) in PUBLIC:
            assert (await _send(api, None, method, path, query, body)).status_code == 200
            continue
        missing = await _send(api, None, method, path, query, body)
        assert missing.status_code == 401 and missing.json()["code"] == "unauthorized", (method, path)
        wrong = await _send(api, "mk_00000000_nope", method, path, query, body)
        assert wrong.status_code == 401, (method, path)
        scope = _scope_of(api.app, method, template)
        if weaker[scope] is not None:
            refused = await _send(api, weaker[scope], method, path, query, body)
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden", (method, path, refused.text)


async def test_a_store_key_acts_only_for_its_store(api):
    body = api.sale(1_000)
    assert (await api.buy(body, key="store")).status_code == 201
    elsewhere = await api.buy({**body, "store_id": str(api.shop.other_store_id)}, key="store")
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "forbidden"
    implied = {k: v for k, v in body.items() if k != "store_id"}
    assert (await api.buy(implied, key="store")).status_code == 201  # the key's own store by default
    assert (await api.buy(implied, key="pos")).status_code == 422  # a merchant key must name the store


async def test_reveal_needs_admin_and_is_audited(api):
    path = f"/members/{api.shop.member_id}"
    masked = await api.call("GET", path, "read")
    assert masked.json()["phone"] == "138****5678"
    refused = await api.call("GET", path, "pos", params={"reveal": "true"})
    assert refused.status_code == 403
    shown = await api.call("GET", path, "admin", params={"reveal": "true"})
    assert shown.status_code == 200 and shown.json()["phone"] == "+8613812345678"

    audit = await fetch("SELECT actor, action FROM audit_log WHERE action = 'member.view_personal_data'")
    assert audit == [{"actor": "api-key:test-admin", "action": "member.view_personal_data"}]


async def test_rate_limit_answers_429_with_retry_after(api):
    key = (await create_api_key("slow-till", ["read"], merchant_id=api.shop.merchant_id, rate_limit=3)).secret
    statuses = []
    for _ in range(5):
        answer = await api.call("GET", f"/members/{api.shop.member_id}/balances", key)
        statuses.append(answer.status_code)
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    limited = await api.call("GET", f"/members/{api.shop.member_id}/balances", key)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1 and limited.json()["code"] == "rate_limited"
    assert (await api.call("GET", f"/members/{api.shop.member_id}/balances", "read")).status_code == 200
