"""The first run (首次设置): what the setup wizard asks for, checked step by step, and the one
transaction that sets the business up from it — merchant, program with its settings, stores and
the owner's account, all or none — spending the setup link.

The wizard's pages are in :mod:`membership.org.setup_console`; the link in
:mod:`membership.org.setup_token`.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import use_case
from membership.errors import MembershipError, Reason, ValidationError
from membership.org import service as org
from membership.org.settings import ProgramSettings, change_settings
from membership.org.setup_token import SetupDone, setup_needed, spend_setup_token
from membership.staff.service import USERNAME, StaffInfo, check_password, create_staff

ACTOR = "setup"
MAX_STORES = 50


@dataclasses.dataclass
class StoreRow:
    """A store as typed in the wizard."""

    code: str = ""
    name: str = ""
    city: str = ""

    @property
    def blank(self) -> bool:
        """Nothing typed in this row."""
        return not (self.code.strip() or self.name.strip() or self.city.strip())


@dataclasses.dataclass
class SetupPlan:
    """Everything the wizard gathered: the business, its stores, the program's settings (as
    :func:`change_settings` takes them) and the owner's account."""

    merchant: str
    program: str
    currency: str
    time_zone: str
    stores: list[StoreRow]
    settings: dict[str, Any]
    username: str
    password: str
    display_name: str = ""
    language: str = "zh_CN"


Errors = dict[str, MembershipError]


def _refuse(errors: Errors, field: str, en: str, zh: str) -> None:
    errors.setdefault(field, ValidationError(field=field, reason=Reason(en, zh)))


def _name(errors: Errors, field: str, value: str, longest: int) -> None:
    if not value.strip():
        _refuse(errors, field, "required", "必填")
    elif len(value.strip()) > longest:
        _refuse(errors, field, f"at most {longest} characters", f"最多 {longest} 个字")


def check_business(merchant: str, program: str, currency: str, time_zone: str) -> Errors:
    """Step 1's errors by field: the names, a known currency and time zone."""
    errors: Errors = {}
    _name(errors, "merchant", merchant, 200)
    if merchant.strip() or program.strip():  # an empty one is named after the business
        _name(errors, "program", program, 200)
    try:
        org.check_zone_and_currency(time_zone.strip(), currency)
    except ValidationError as exc:
        errors[str(exc.params["field"])] = exc
    return errors


def check_stores(stores: list[StoreRow]) -> Errors:
    """Step 2's errors, by ``store_code.N`` / ``store_name.N`` / ``store_city.N`` (N counts the
    rows from 0) or ``stores`` for the list: at least one store, codes once each."""
    errors: Errors = {}
    rows = [(index, row) for index, row in enumerate(stores) if not row.blank]
    if not rows:
        _refuse(errors, "stores", "add at least one store", "至少要有一家门店")
    if len(rows) > MAX_STORES:
        _refuse(errors, "stores", f"at most {MAX_STORES} stores here", f"这里最多添加 {MAX_STORES} 家门店")
    seen: set[str] = set()
    for index, row in rows:
        code = row.code.strip()
        if not code:
            _refuse(errors, f"store_code.{index}", "required", "必填")
        elif len(code) > 32:
            _refuse(errors, f"store_code.{index}", "at most 32 characters", "最多 32 个字符")
        elif code in seen:
            _refuse(errors, f"store_code.{index}", f"{code} is used twice", f"编码 {code} 重复了")
        seen.add(code)
        _name(errors, f"store_name.{index}", row.name, 200)
        if len(row.city.strip()) > 100:
            _refuse(errors, f"store_city.{index}", "at most 100 characters", "最多 100 个字")
    return errors


def check_owner(username: str, password: str, password_again: str, display_name: str) -> Errors:
    """Step 4's errors by field: a login name staff accounts accept, a password typed the same
    twice that staff may use, a display name of at most 100 characters."""
    errors: Errors = {}
    if not USERNAME.fullmatch(username.strip()):
        _refuse(errors, "username", "2 to 50 letters, digits or . _ @ -", "2 到 50 个字母、数字或 . _ @ -")
    try:
        check_password(password)
    except ValidationError as exc:
        errors["password"] = exc
    if password != password_again:
        _refuse(errors, "password_again", "the two passwords differ", "两次输入的密码不一样")
    if len(display_name.strip()) > 100:
        _refuse(errors, "display_name", "at most 100 characters", "最多 100 个字")
    return errors


def program_defaults(plan: SetupPlan) -> ProgramSettings:
    """The settings a new program starts from (the wizard's choices are changes to these)."""
    return ProgramSettings(name=plan.program.strip() or "-", currency=plan.currency, time_zone=plan.time_zone)


@dataclasses.dataclass(frozen=True)
class SetUp:
    """What :func:`finish_setup` created."""

    merchant_id: uuid.UUID
    program_id: uuid.UUID
    store_ids: list[uuid.UUID]
    owner: StaffInfo


@use_case
async def finish_setup(plan: SetupPlan, token: str) -> SetUp:
    """Set the business up from ``plan`` in one transaction: spend the setup link (every open
    one), create the merchant, the program (its settings through :func:`change_settings`,
    audited), the stores and the owner's account. Any refusal leaves nothing behind and the link
    unspent. ``SetupDone`` when a merchant exists; ``SetupLinkInvalid`` for a bad link."""
    if not await setup_needed():
        raise SetupDone()
    await spend_setup_token(token)
    try:
        merchant_id = await org.create_merchant(plan.merchant)
        program = await org.create_program(merchant_id, plan.program.strip(), plan.currency, plan.time_zone.strip())
        if plan.settings:
            await change_settings(program.id, plan.settings, ACTOR)
        stores = [row for row in plan.stores if not row.blank]
        store_ids = [await org.create_store(merchant_id, r.code.strip(), r.name, r.city.strip()) for r in stores]
        owner = await create_staff(
            plan.username,
            plan.password,
            "owner",
            merchant_id,
            display_name=plan.display_name,
            language=plan.language,
            actor=ACTOR,
        )
        details = {"stores": [row.code.strip() for row in stores], "owner": owner.username}
        await audit.record(ACTOR, "setup.finish", "merchant", merchant_id, program.id, details)
    except BaseException:
        org.forget_programs()  # the program cached inside the rolled-back transaction is gone
        raise
    return SetUp(merchant_id, program.id, store_ids, owner)
