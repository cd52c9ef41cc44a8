"""Next-order coupons through the API on SQLite and PostgreSQL: a template issued by purchases that
reach a spend and meet conditions (the conditions of points rules), once per sale, usable from the
next purchase; simulate says it would be issued; a replay issues nothing more; refunding the
whole sale voids it unless it was used."""

from __future__ import annotations

from membership.coupons.service import change_template
from membership.db import fetch

COFFEE = {"sku": "C1", "name": "拿铁", "category": "咖啡", "quantity": 4, "unit_price": 3000}
TEA = {"sku": "T1", "name": "乌龙", "category": "茶", "quantity": 5, "unit_price": 3000}
TEMPLATE = {
    "code": "next10",
    "name": "下次满50减10",
    "kind": "amount_off",
    "amount_off": 1000,
    "min_spend": 5000,
    "valid_days": 30,
    "issue_on": "purchase",
    "issue_min_spend": 10000,
    "issue_conditions": [{"kind": "category", "any_of": ["咖啡"]}, {"kind": "min_quantity", "quantity": 2}],
}


def _sale(api, *lines, **extra) -> dict:
    return {"member_id": str(api.shop.member_id), "store_id": str(api.shop.store_id), "lines": list(lines), **extra}


async def _template(api) -> None:
    answer = await api.call("POST", f"/programs/{api.shop.program.id}/coupon-templates", "admin", TEMPLATE)
    assert answer.status_code == 201, answer.text
    assert answer.json()["issue_min_spend"] == 10000 and answer.json()["issue_conditions"][0]["kind"] == "category"


async def test_a_qualifying_purchase_issues_a_coupon_for_the_next_one(any_api):
    api = any_api
    await _template(api)
    for lines, expected in (([COFFEE], ["next10"]), ([{**COFFEE, "quantity": 3}], []), ([TEA], [])):
        sim = await api.call("POST", "/transactions/simulate", "pos", _sale(api, *lines))
        assert sim.json()["coupons_issued"] == expected, (lines, sim.text)  # ¥90 is below ¥100; tea is not coffee
    bought = await api.buy(_sale(api, COFFEE), idem="till-1-1")
    assert bought.status_code == 201, bought.text
    codes = bought.json()["coupons_issued"]
    assert len(codes) == 1
    replay = await api.buy(_sale(api, COFFEE), idem="till-1-1")
    assert replay.json()["coupons_issued"] == codes
    held = await fetch("SELECT code, occasion, state FROM coupon WHERE member_id = {}", api.shop.member_id)
    assert [(c["code"], c["state"]) for c in held] == [(codes[0], "issued")]
    assert held[0]["occasion"] == f"purchase:{bought.json()['id']}"
    used = await api.buy(_sale(api, TEA, coupons=codes))  # the next purchase uses it
    assert used.status_code == 201 and used.json()["discount"] == 1000, used.text
    second = await api.buy(_sale(api, COFFEE))  # each qualifying sale issues its own
    assert len(second.json()["coupons_issued"]) == 1 and second.json()["coupons_issued"] != codes


async def test_refunding_the_sale_voids_its_unused_coupon(any_api):
    api = any_api
    await _template(api)
    first = (await api.buy(_sale(api, COFFEE))).json()
    refunded = await api.call("POST", f"/transactions/{first['id']}/refund", json={})
    assert refunded.status_code == 201 and refunded.json()["coupons_voided"] == first["coupons_issued"]
    state = await fetch("SELECT state FROM coupon WHERE code = {}", first["coupons_issued"][0])
    assert state == [{"state": "void"}]
    kept = (await api.buy(_sale(api, COFFEE))).json()
    await api.buy(_sale(api, TEA, coupons=kept["coupons_issued"]))
    after_use = await api.call("POST", f"/transactions/{kept['id']}/refund", json={})
    assert after_use.json()["coupons_voided"] == []  # used already: it stays used


async def test_bad_purchase_templates_are_refused(any_api):
    api = any_api
    path = f"/programs/{api.shop.program.id}/coupon-templates"
    manual = {**TEMPLATE, "issue_on": "manual", "issue_conditions": []}
    refused = await api.call("POST", path, "admin", manual)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "issue_min_spend"
    bad = {**TEMPLATE, "issue_conditions": [{"kind": "colour", "any_of": ["红"]}]}
    answer = await api.call("POST", path, "admin", bad)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "issue_conditions[1].kind"
    await _template(api)
    form = {k: v for k, v in TEMPLATE.items() if k not in ("code", "issue_min_spend", "issue_conditions")}
    changed = await change_template(api.shop.program.id, "next10", {**form, "name": "改名"})  # a form without them
    assert changed["name"] == "改名" and changed["issue_min_spend"] == 10000 and len(changed["issue_conditions"]) == 2
