"""The enrol form: a member (and their first card) in one step; errors next to the field, nothing saved."""

from __future__ import annotations

import re

from membership.db import fetch
from membership.members import service as members
from tests.console_client import csrf_of, text_of


def form(client, **fields) -> dict[str, str]:
    return {"name": "", "phone": "", "gender": "unknown", "birthday": "", "_csrf_token": csrf_of(client), **fields}


def error_of(html: str, field: str) -> str:
    """The message shown beside ``field``."""
    match = re.search(rf'name="{field}"[^>]*>\s*<span class="field-error" role="alert">([^<]+)</span>', html)
    return match.group(1) if match else ""


async def test_enrol_with_a_swiped_card_opens_the_new_member(console):
    async with console.logged_in("clerk") as client:
        page = await client.get("/console/members/new", params={"card": "0F00A1B2C3"})
        assert 'value="0F00A1B2C3"' in page.text
        done = await client.post(
            "/console/members/new",
            data=form(
                client, name="周杰", phone="13700001111", birthday="1990-05-17", card="0F00A1B2C3", marketing="1"
            ),
        )
        assert done.status_code == 303 and done.headers["location"].startswith("/console/members/")
        member_page = text_of((await client.get(done.headers["location"])).text)
        found = await client.get("/console/counter/identify", params={"q": "0F00A1B2C3"})
    assert "周杰" in member_page and "137****1111" in member_page and "营销信息 ✓" in member_page
    assert "周杰" in found.text


async def test_errors_are_shown_next_to_their_field_and_nothing_is_saved(console):
    await members.issue_credential(console.shop.member_id, "card_uid", "AABBCCDDEE")
    before = await fetch("SELECT COUNT(*) AS n FROM member")
    async with console.logged_in("clerk") as client:
        bad_phone = await client.post("/console/members/new", data=form(client, name="周杰", phone="12345"))
        no_name = await client.post("/console/members/new", data=form(client, phone="13700001111"))
        bad_date = await client.post("/console/members/new", data=form(client, name="周杰", birthday="17/05/1990"))
        taken = await client.post("/console/members/new", data=form(client, name="另一个", phone="13812345678"))
        card_taken = await client.post(
            "/console/members/new", data=form(client, name="周杰", phone="13700001111", card="AABBCCDDEE")
        )
    assert bad_phone.status_code == 422 and "12345" in error_of(bad_phone.text, "phone")
    assert 'value="周杰"' in bad_phone.text  # what was typed is kept
    assert "name" in error_of(no_name.text, "name")
    assert "1990-05-17" in error_of(bad_date.text, "birthday")
    assert "已存在" in error_of(taken.text, "phone")
    assert card_taken.status_code == 422 and error_of(card_taken.text, "card")
    assert await fetch("SELECT COUNT(*) AS n FROM member") == before  # the card failed: no member either
