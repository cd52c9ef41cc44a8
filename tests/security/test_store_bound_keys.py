"""A key bound to one store acts only for that store: it refunds only its own sales and changes
only the cards issued there (another store's answer 403, as docs/api.md says)."""

from __future__ import annotations

from membership.db import fetch_one
from membership.members import service as members


async def _sale_at(api, store_id) -> str:
    answer = await api.buy(api.sale(store_id=str(store_id)), key="pos")
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def test_a_store_key_refunds_only_its_own_stores_sales(any_api):
    api = any_api
    elsewhere = await _sale_at(api, api.shop.other_store_id)
    refused = await api.call("POST", f"/transactions/{elsewhere}/refund", "store", {})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden", refused.text
    assert (await fetch_one("SELECT status FROM sale WHERE id = {}", elsewhere))["status"] == "completed"
    here = await _sale_at(api, api.shop.store_id)
    assert (await api.call("POST", f"/transactions/{here}/refund", "store", {})).status_code == 201
    assert (await api.call("POST", f"/transactions/{elsewhere}/refund", "pos", {})).status_code == 201  # merchant key


async def test_a_store_key_changes_only_cards_issued_at_its_store(any_api):
    api = any_api
    member = api.shop.member_id
    theirs = await members.issue_credential(member, "card_uid", "04AA000001", store_id=api.shop.other_store_id)
    ours = await members.issue_credential(member, "card_uid", "04AA000002", store_id=api.shop.store_id)
    unbound = await members.issue_credential(member, "card_uid", "04AA000003")
    body = {"reason": "顾客报失", "lost": True}
    refused = await api.call("POST", f"/credentials/{theirs['id']}/block", "store", body)
    assert refused.status_code == 403, refused.text
    replaced = await api.call("POST", f"/credentials/{theirs['id']}/replace", "store", {"value": "04AA000009"})
    assert replaced.status_code == 403, replaced.text
    assert (await fetch_one("SELECT state FROM credential WHERE id = {}", theirs["id"]))["state"] == "active"
    for allowed in (ours, unbound):
        answer = await api.call("POST", f"/credentials/{allowed['id']}/block", "store", body)
        assert answer.status_code == 200 and answer.json()["state"] == "lost", answer.text
    assert (await api.call("POST", f"/credentials/{theirs['id']}/block", "pos", body)).status_code == 200
