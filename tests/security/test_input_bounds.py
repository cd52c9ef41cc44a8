"""Inputs at the edge: search wildcards are literal; sale times outside the program's window, or
beyond what a date can hold, answer a clear 422 instead of a 500 or a back-dated cap."""

from __future__ import annotations

import datetime as dt

from membership.members import service as members


async def test_search_wildcards_match_literally(any_api):
    api = any_api
    await members.enrol(api.shop.program.id, {"name": "百分之%百"})
    for q, expected in (("%", ["百分之%百"]), ("_", []), ("\\", []), ("张", ["张伟"])):
        found = await api.call("GET", "/members", "read", params={"q": q})
        assert found.status_code == 200, found.text
        assert [m["name"] for m in found.json()["items"]] == expected, q


async def test_sale_times_outside_the_window_are_refused_clearly(any_api):
    api = any_api
    now = dt.datetime.now(dt.UTC)
    cases = {
        "0001-01-01T00:00:00Z": "occurred_at",
        (now - dt.timedelta(days=4)).isoformat(): "3 days",  # the default window is 3 days
        (now + dt.timedelta(hours=1)).isoformat(): "future",
    }
    for when, words in cases.items():
        answer = await api.buy(api.sale(occurred_at=when))
        assert answer.status_code == 422 and words in answer.text, (when, answer.text)
    within = await api.buy(api.sale(occurred_at=(now - dt.timedelta(days=2)).isoformat()))
    assert within.status_code == 201, within.text
    zh = await api.call(
        "POST",
        "/transactions",
        "pos",
        api.sale(occurred_at="2000-01-01T00:00:00+08:00"),
        lang="zh",
        **{"Idempotency-Key": "bounds-zh"},
    )
    assert zh.status_code == 422 and "补录" in zh.json()["detail"]
    for when in ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+08:00", "2100-01-01T00:00:00Z"):
        simulated = await api.call("POST", "/transactions/simulate", "pos", api.sale(occurred_at=when))
        assert simulated.status_code == 422, (when, simulated.text)
