"""Open credential kinds: a plugin registers a kind (a bank card checked by Luhn and shown 6+4,
a secret ID-card number) and the API, the services, the readers and the console take it; an
unknown kind is refused with the list of known ones; the built-in kinds are registered the same
way; a secret kind is never shown and survives a key rotation."""

from __future__ import annotations

from typing import ClassVar

import pytest

from membership.config import Settings, new_secret_key
from membership.db import close_database, fetch, fetch_one, open_database
from membership.db.engine import current_settings
from membership.errors import CredentialNotFound, PluginError, Reason, ValidationError
from membership.hookspecs import hookimpl
from membership.members import service as members
from membership.members.credentials import (
    CredentialKindSpec,
    UnknownCredentialKind,
    credential_kind,
    credential_kinds,
    shown,
)
from membership.members.rotation import rotate
from membership.plugins import hooks
from membership.readers.interface import CredentialRead, ReaderDriver, ReaderEvent
from membership.readers.service import record_read
from tests.conftest import SECRET
from tests.console_client import csrf_of, text_of
from tests.helpers import make_shop

BUILT_IN = ["card_uid", "magstripe", "qr_token", "barcode", "wechat_openid", "phone"]
CARD = "6222021234567894"  # a valid check digit
CARD_TYPED = "6222 0212 3456 7894"
MASKED = "622202******7894"
ID_NUMBER = "11010119900307123X"


def bank_card(value: str) -> str:
    """Digits only, 12 to 19 of them, with a valid Luhn check digit."""
    digits = value.replace(" ", "").replace("-", "")
    if not (digits.isdigit() and 12 <= len(digits) <= 19):
        raise ValidationError(field="value", reason=Reason("12 to 19 digits", "应为 12 到 19 位数字"))
    total = sum(sum(divmod(int(d) * (1 + i % 2), 10)) for i, d in enumerate(reversed(digits)))
    if total % 10:
        raise ValidationError(
            field="value", reason=Reason("not a bank card number (check digit)", "不是有效的银行卡号（校验位不符）")
        )
    return digits


def six_four(value: str) -> str:
    """The first six and last four digits (how banks print a card number)."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


class BankPack:
    """A throwaway pack: bank cards, and ID-card numbers that nobody may read back."""

    @hookimpl
    def membership_register_credential_kinds(self):
        return [
            CredentialKindSpec("bank_card", "银行卡", "bank card", normalize=bank_card, mask=six_four),
            CredentialKindSpec("id_card", "身份证", "ID card", normalize=lambda v: v.strip().upper(), secret=True),
        ]


@pytest.fixture
def bank(register_plugin):
    register_plugin(BankPack(), "bank-pack")


async def test_hook_register_credential_kinds(db, register_plugin):
    assert list(credential_kinds()) == BUILT_IN  # the built-in identity plugin registers its own
    register_plugin(BankPack(), "bank-pack")
    kinds = credential_kinds()
    assert list(kinds) == [*BUILT_IN, "bank_card", "id_card"]
    assert (kinds["bank_card"].label("zh_CN"), kinds["bank_card"].label("en")) == ("银行卡", "bank card")
    assert hooks().normalize_credential("bank_card", CARD_TYPED) == CARD  # the kind's normaliser
    assert hooks().normalize_credential("card_uid", "0f:00:a1") == "0F00A1"  # the built-in ones still answer

    class Copycat:
        @hookimpl
        def membership_register_credential_kinds(self):
            return [CredentialKindSpec("bank_card", "借记卡", "debit card")]

    register_plugin(Copycat(), "copycat")
    with pytest.raises(ValidationError) as twice:
        credential_kinds()
    assert "bank-pack" in twice.value.detail("en") and "copycat" in twice.value.detail("en")
    assert "重复注册" in twice.value.detail("zh")


async def test_a_kind_is_named_and_labelled_or_the_plugin_is_named(db, register_plugin):
    class Sloppy:
        @hookimpl
        def membership_register_credential_kinds(self):
            return [CredentialKindSpec("Bank-Card", "银行卡", "bank card")]

    register_plugin(Sloppy(), "sloppy")
    with pytest.raises(PluginError) as bad:
        credential_kinds()
    assert bad.value.params["plugin"] == "sloppy" and "lower-case" in bad.value.detail("en")
    with pytest.raises(ValidationError, match="label"):
        CredentialKindSpec("bank_card", "", "bank card")


async def test_a_plugins_kind_is_issued_identified_and_shown_masked_through_the_api(api, bank):
    member = str(api.shop.member_id)
    issued = await api.call("POST", f"/members/{member}/credentials", json={"kind": "bank_card", "value": CARD_TYPED})
    assert issued.status_code == 201, issued.text
    assert issued.json() | {"id": None} == {
        "id": None,
        "kind": "bank_card",
        "hint": MASKED,
        "state": "active",
        "value": CARD,
    }
    found = await api.call("GET", "/identify", "read", params={"kind": "bank_card", "value": CARD_TYPED})
    assert found.status_code == 200 and found.json()["member_id"] == member
    bought = await api.buy({**api.sale(), "member_id": None, "credential": {"kind": "bank_card", "value": CARD}})
    assert bought.status_code == 201, bought.text
    page = (await api.call("GET", "/members", "read", params={"q": CARD})).json()
    assert [m["id"] for m in page["items"]] == [member]  # staff find the member by the card too
    blocked = await api.call("POST", f"/credentials/{issued.json()['id']}/block", json={"lost": True})
    assert blocked.json()["hint"] == MASKED and blocked.json()["value"] is None
    taken = await api.call("POST", f"/members/{member}/credentials", json={"kind": "bank_card", "value": CARD})
    assert taken.status_code == 201  # a lost card's number may be issued again
    again = await api.call(
        "POST", f"/members/{member}/credentials", json={"kind": "bank_card", "value": CARD}, lang="zh"
    )
    assert again.status_code == 409 and again.json()["detail"] == "该银行卡已绑定到其他会员。"


async def test_a_bad_value_is_refused_with_the_kinds_reason(api, bank):
    member = str(api.shop.member_id)
    bad = CARD[:-1] + "5"
    refused = await api.call(
        "POST", f"/members/{member}/credentials", json={"kind": "bank_card", "value": bad}, lang="zh"
    )
    assert refused.status_code == 422 and refused.json()["code"] == "validation_error"
    assert refused.json()["detail"] == "value 无效：不是有效的银行卡号（校验位不符）"
    assert refused.json()["errors"] == [{"field": "value", "message": "not a bank card number (check digit)"}]
    identify = await api.call("GET", "/identify", "read", params={"kind": "bank_card", "value": "12ab"})
    assert identify.status_code == 422 and "12 to 19 digits" in identify.json()["detail"]
    unknown = await api.call("GET", "/identify", "read", params={"kind": "bank_card", "value": CARD}, lang="zh")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "没有会员持有该银行卡。"
    unknown_en = await api.call("GET", "/identify", "read", params={"kind": "card_uid", "value": "FFFF"})
    assert unknown_en.json()["detail"] == "No member holds this member card."


async def test_an_unknown_kind_is_refused_listing_the_known_ones(api, bank):
    member = str(api.shop.member_id)
    answers = [
        await api.call("POST", f"/members/{member}/credentials", json={"kind": "loyalty_ring", "value": "1"}),
        await api.call("GET", "/identify", "read", params={"kind": "loyalty_ring", "value": "1"}),
        await api.buy({**api.sale(), "member_id": None, "credential": {"kind": "loyalty_ring", "value": "1"}}),
    ]
    for answer in answers:
        assert answer.status_code == 422 and answer.json()["code"] == "unknown_credential_kind", answer.text
        detail = answer.json()["detail"]
        assert detail.startswith("Unknown credential kind 'loyalty_ring'. Known kinds: card_uid (member card),")
        assert "bank_card (bank card)" in detail and "phone (phone number)" in detail
        assert answer.json()["errors"][0]["field"] == "kind"
    zh = await api.call("GET", "/identify", "read", params={"kind": "loyalty_ring", "value": "1"}, lang="zh")
    assert zh.json()["detail"].startswith("未知的凭证类型 “loyalty_ring”。可用的类型：card_uid（会员卡）、")
    assert "bank_card（银行卡）" in zh.json()["detail"]
    malformed = await api.call("GET", "/identify", "read", params={"kind": "Card UID", "value": "1"})
    assert malformed.status_code == 422  # not even a kind's name: refused by the schema's pattern
    phone = await api.call("POST", f"/members/{member}/credentials", json={"kind": "phone", "value": "13912345678"})
    assert phone.status_code == 422 and "not issued" in phone.json()["detail"]


async def test_the_kinds_route_and_the_schema(api, bank):
    listed = await api.call("GET", "/credential-kinds", "read")
    assert listed.status_code == 200
    kinds = {k["name"]: k for k in listed.json()}
    assert list(kinds) == [*BUILT_IN, "bank_card", "id_card"]
    assert kinds["bank_card"] == {
        "name": "bank_card",
        "label_zh": "银行卡",
        "label_en": "bank card",
        "secret": False,
        "issuable": True,
        "at_counter": True,
        "generated": False,
    }
    assert kinds["id_card"]["secret"] and kinds["qr_token"]["generated"] and not kinds["phone"]["issuable"]
    assert not kinds["wechat_openid"]["at_counter"]

    schema = api.app.openapi_schema.to_schema()
    (kind,) = [p for p in schema["paths"]["/api/v1/identify"]["get"]["parameters"] if p["name"] == "kind"]
    assert kind["schema"]["type"] == "string" and "enum" not in kind["schema"] and kind["schema"]["pattern"]
    assert "/api/v1/credential-kinds" in kind["description"]
    body = schema["components"]["schemas"]["CredentialIn"]["properties"]["kind"]
    assert body["type"] == "string" and "enum" not in body and "/api/v1/credential-kinds" in body["description"]
    ref = schema["components"]["schemas"]["CredentialRef"]["properties"]["kind"]
    assert ref["type"] == "string" and "enum" not in ref


async def test_a_secret_kind_keeps_only_a_hash_to_find_it_and_shows_nothing(api, bank):
    member = str(api.shop.member_id)
    issued = await api.call("POST", f"/members/{member}/credentials", json={"kind": "id_card", "value": ID_NUMBER})
    assert issued.status_code == 201, issued.text
    assert (issued.json()["hint"], issued.json()["value"]) == ("", None)  # not even to the till that sent it
    row = await fetch_one("SELECT value_hint, value_enc, value_hash FROM credential WHERE kind = 'id_card'")
    assert row["value_hint"] == "" and ID_NUMBER not in row["value_enc"] and ID_NUMBER not in row["value_hash"]
    found = await api.call("GET", "/identify", "read", params={"kind": "id_card", "value": ID_NUMBER.lower()})
    assert found.status_code == 200 and found.json()["member_id"] == member
    assert [c["hint"] for c in await members.list_credentials(api.shop.member_id)] == [""]
    assert shown("") == "******"

    stranger = await record_read(api.shop.program.id, None, "till", "test", CredentialRead("id_card", "110101X"))
    assert (stranger.outcome, stranger.hint, stranger.value) == ("unknown", "", None)  # the counter gets no number
    known = await record_read(api.shop.program.id, None, "till", "test", CredentialRead("id_card", ID_NUMBER))
    assert (known.outcome, known.member_id, known.hint) == ("member", api.shop.member_id, "")


async def _reopen(secret: str, *old: str) -> None:
    url = current_settings().database_url
    await close_database()
    await open_database(Settings(database_url=url, secret_key=secret, old_secret_keys=old))


async def test_a_secret_kind_is_still_found_after_a_key_rotation(any_db, bank):
    shop = await make_shop()
    await members.issue_credential(shop.member_id, "id_card", ID_NUMBER)
    await members.issue_credential(shop.member_id, "bank_card", CARD)  # a 16-character hint fits, on PostgreSQL too
    new = new_secret_key()
    await _reopen(new, SECRET)
    await rotate(lambda done, total: None)
    await _reopen(new)  # the old key is forgotten: only hashes under the new one can match
    assert await members.identify(shop.program.id, "id_card", ID_NUMBER) == shop.member_id
    assert await members.identify(shop.program.id, "bank_card", CARD) == shop.member_id
    await _reopen(SECRET)


async def test_readers_take_registered_kinds_and_refuse_others(db, bank):
    shop = await make_shop()
    await members.issue_credential(shop.member_id, "bank_card", CARD)
    read = await record_read(shop.program.id, shop.store_id, "till", "test", CredentialRead("bank_card", CARD_TYPED))
    assert (read.outcome, read.member_id, read.hint) == ("member", shop.member_id, MASKED)
    other = "6228480012345671"
    unknown = await record_read(shop.program.id, shop.store_id, "till", "test", CredentialRead("bank_card", other))
    assert (unknown.outcome, unknown.hint, unknown.value) == ("unknown", "622848******5671", other)
    bad = await record_read(shop.program.id, shop.store_id, "till", "test", CredentialRead("bank_card", "1234"))
    assert (bad.outcome, bad.message) == ("refused", "validation_error")
    stray = await record_read(shop.program.id, shop.store_id, "till", "test", CredentialRead("ring", "1"))
    assert (stray.outcome, stray.message, stray.hint) == ("refused", "unknown_credential_kind", "")

    class Scanner(ReaderDriver):
        name = "test-scanner"
        options: ClassVar[dict[str, str]] = {"kind": "credential kind of a scan"}

        def __init__(self, **options: str) -> None:
            super().__init__(**options)
            self.kind = self.kind_option("kind", "qr_token")

        def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
            return [CredentialRead(self.kind, data.decode())]

    assert Scanner().kind == "qr_token" and Scanner(kind="bank_card").kind == "bank_card"
    with pytest.raises(UnknownCredentialKind, match="bank_card"):
        Scanner(kind="ring")
    with pytest.raises(ValidationError, match="qr_token"):
        Scanner(kind="phone")  # no reader issues phones: they are in the profile


async def test_the_console_issues_and_shows_a_plugins_kind(console, bank):
    shop = console.shop
    async with console.logged_in("clerk") as client:
        page = await client.get(f"/console/members/{shop.member_id}")
        assert '<option value="bank_card">银行卡</option>' in page.text
        assert '<option value="wechat_openid">' not in page.text and '<option value="phone">' not in page.text
        issued = await client.post(
            f"/console/members/{shop.member_id}/credentials",
            data={"kind": "bank_card", "value": CARD_TYPED, "_csrf_token": csrf_of(client)},
        )
        assert f"已发卡，卡号尾号 {MASKED}" in text_of(issued.text)
        assert f"银行卡 {MASKED}" in text_of(issued.text)
        bad = await client.post(
            f"/console/members/{shop.member_id}/credentials",
            data={"kind": "bank_card", "value": CARD[:-1] + "5", "_csrf_token": csrf_of(client)},
        )
        assert "不是有效的银行卡号（校验位不符）" in text_of(bad.text)
        stray = await client.post(
            f"/console/members/{shop.member_id}/credentials",
            data={"kind": "ring", "value": "1", "_csrf_token": csrf_of(client)},
        )
        assert "未知的凭证类型 “ring”" in text_of(stray.text) and "bank_card（银行卡）" in text_of(stray.text)
        secret = await client.post(
            f"/console/members/{shop.member_id}/credentials",
            data={"kind": "id_card", "value": ID_NUMBER, "_csrf_token": csrf_of(client)},
        )
        assert "已发卡，卡号尾号 ******" in text_of(secret.text) and ID_NUMBER not in secret.text
        found = await client.get("/console/counter/identify", params={"q": CARD_TYPED})
    assert "张伟" in found.text
    assert await members.identify(shop.program.id, "id_card", ID_NUMBER) == shop.member_id


async def test_the_built_in_kinds_are_specs_like_any_other(db):
    shop = await make_shop()
    assert credential_kind("card_uid").label("en") == "member card"
    qr = await members.issue_credential(shop.member_id, "qr_token")
    assert len(qr["value"]) == 24 and qr["hint"] == qr["value"][-4:]
    with pytest.raises(CredentialNotFound) as missing:
        await members.identify(shop.program.id, "barcode", "nobody")
    assert missing.value.detail("zh") == "没有会员持有该条码。"
    with pytest.raises(UnknownCredentialKind):
        await members.issue_credential(shop.member_id, "bank_card", CARD)  # the pack is not installed here
    assert [row["kind"] for row in await fetch("SELECT kind FROM credential")] == ["qr_token"]
