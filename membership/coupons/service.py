"""Coupon use cases: templates, issuing (by hand and by trigger), reading, void and QR images.

At the till: :mod:`membership.coupons.redemption`; jobs: :mod:`membership.coupons.jobs`; the
report: :mod:`membership.coupons.report`. Rules kept throughout:

* one use case is one transaction; the trigger and redemption functions join their caller's;
* a coupon is issued at most once per template, member and *occasion* (unique index): a trigger
  fired twice (a retried sign-up, the birthday job run twice) issues once;
* a coupon is redeemed by a conditional ``UPDATE … WHERE state = 'issued' RETURNING``: two sales
  racing for one coupon cannot both have it;
* validity dates are inclusive and local to the program's zone; money is integer minor units.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
import segno
from cachetools import TTLCache

from membership.audit import service as audit
from membership.coupons.templates import TRIGGERS, TemplateDef, parse_template, validity
from membership.db import emit, fetch, fetch_one, is_sqlite, new_id, placeholders, use_case
from membership.db.engine import database_cache
from membership.db.sql import json_column
from membership.errors import (
    CouponAlreadyRedeemed,
    CouponCodeNotFound,
    CouponExpired,
    CouponTemplateNotFound,
    CouponTemplateRetired,
    CouponVoid,
    MemberNotFound,
    Reason,
    ValidationError,
)
from membership.events import Event
from membership.org.service import ProgramConfig, check_store, get_program
from membership.rewards.errors import RewardTemplateLocked
from membership.tiers.policy import tier_config

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed without doubt
CODE_LENGTH = 12
CHUNK = 500  # members per INSERT statement
STATES = ("issued", "redeemed", "expired", "void")

_TEMPLATE_COLUMNS = (
    "code, name, kind, amount_off, percent_off, max_off, free_sku, min_spend, valid_from, valid_until,"
    " valid_days, per_member_limit, store_ids, stackable, issue_on, tier, birthday_window, issue_min_spend,"
    " issue_conditions"
)
COUPON_SELECT = (
    "SELECT c.id, c.code, c.program_id, c.member_id, c.state, c.occasion, c.issued_at, c.valid_from,"
    " c.valid_until, c.redeemed_at, c.sale_id, c.store_id, c.discount, t.code AS template, t.name, t.kind,"
    " t.amount_off, t.percent_off, t.max_off, t.free_sku, t.min_spend, t.store_ids, t.stackable"
    " FROM coupon c JOIN coupon_template t ON t.program_id = c.program_id AND t.id = c.template_id"
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def date_of(value: Any) -> dt.date | None:
    """A DATE column's value (SQLite may hand back the ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def uuids_of(value: Any) -> list[uuid.UUID]:
    """A JSON column of UUID strings as UUIDs."""
    return [uuid.UUID(str(v)) for v in (json_column(value) or [])]


def local_today(program: ProgramConfig, now: dt.datetime | None = None) -> dt.date:
    """Today in the program's zone."""
    return (now or _now()).astimezone(program.zone).date()


def new_code() -> str:
    """A random coupon code: 12 characters of :data:`ALPHABET` (60 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What a till or a person typed, as stored: capitals, without spaces or dashes."""
    return "".join(code.split()).replace("-", "").upper()


def well_formed(code: str) -> bool:
    """True for a string that can be a coupon code (no need to ask the database otherwise)."""
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


TEMPLATE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


# --- templates ------------------------------------------------------------------------------------


def _terms_out(row: dict[str, Any]) -> dict[str, Any]:
    """A template's terms, as the template and each of its coupons show them."""
    return {
        "name": row["name"],
        "kind": row["kind"],
        "amount_off": int(row["amount_off"]),
        "percent_off": int(row["percent_off"]),
        "max_off": None if row["max_off"] is None else int(row["max_off"]),
        "free_sku": row["free_sku"],
        "min_spend": int(row["min_spend"]),
        "store_ids": uuids_of(row["store_ids"]),
        "stackable": bool(row["stackable"]),
    }


def _template_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        **_terms_out(row),
        "valid_from": date_of(row["valid_from"]),
        "valid_until": date_of(row["valid_until"]),
        "valid_days": row["valid_days"],
        "per_member_limit": row["per_member_limit"],
        "issue_on": row["issue_on"],
        "tier": row["tier"],
        "birthday_window": row["birthday_window"],
        "issue_min_spend": int(row["issue_min_spend"]),
        "issue_conditions": json_column(row["issue_conditions"]) or [],
        "active": bool(row["active"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _values(t: TemplateDef) -> list[Any]:
    return [
        t.code,
        t.name,
        t.kind,
        t.amount_off,
        t.percent_off,
        t.max_off,
        t.free_sku,
        t.min_spend,
        t.valid_from,
        t.valid_until,
        t.valid_days,
        t.per_member_limit,
        json.dumps([str(s) for s in t.store_ids]),
        t.stackable,
        t.issue_on,
        t.tier,
        t.birthday_window,
        t.issue_min_spend,
        json.dumps(t.issue_conditions, ensure_ascii=False),
    ]


async def _checked_template(program: ProgramConfig, data: dict[str, Any]) -> TemplateDef:
    """``data`` parsed, its stores and tier the program's, and still valid some day from today."""
    template = parse_template(data)
    for store_id in template.store_ids:  # a closed store may stay named (its coupons are history)
        await check_store(program, store_id, open_only=False)
    if template.tier is not None and template.tier not in {tier.code for tier in tier_config(program.settings).tiers}:
        raise ValidationError(
            field="tier",
            reason=Reason(f"the program has no tier {template.tier!r}", f"会员方案中没有等级 {template.tier!r}"),
        )
    if template.valid_until is not None and template.valid_until < local_today(program):
        raise ValidationError(
            field="valid_until",
            reason=Reason("already past: no coupon of it could be used", "已过期：按此模板发出的券都无法使用"),
        )
    return template


async def _template_row(program_id: uuid.UUID, code: str, lock: bool = False) -> dict[str, Any]:
    if not TEMPLATE_CODE.match(code):
        raise CouponTemplateNotFound(code=code)
    suffix = " FOR NO KEY UPDATE" if lock and not is_sqlite() else ""
    row = await fetch_one(
        f"SELECT * FROM coupon_template WHERE program_id = {{}} AND code = {{}}{suffix}", program_id, code
    )
    if row is None:
        raise CouponTemplateNotFound(code=code)
    return row


def _not_a_reward(row: dict[str, Any]) -> dict[str, Any]:
    """``row``, unless it is the template of a reward priced in points (积分商城), which changes
    and issues with its reward only (``RewardTemplateLocked``)."""
    if row["issue_on"] == "reward":
        raise RewardTemplateLocked(code=row["code"])
    return row


@use_case
async def create_template(program_id: uuid.UUID, data: dict[str, Any], actor: str = "system") -> dict[str, Any]:
    """Add a template; its ``code`` must be new in the program. Audited."""
    program = await get_program(program_id)
    template = await _checked_template(program, data)
    if await fetch_one("SELECT id FROM coupon_template WHERE program_id = {} AND code = {}", program_id, template.code):
        raise ValidationError(
            field="code",
            reason=Reason(
                f"template {template.code!r} already exists; change it instead",
                f"优惠券模板 {template.code!r} 已存在，请改为修改该模板",
            ),
        )
    now = _now()
    marks = placeholders(range(19))
    await fetch(
        f"INSERT INTO coupon_template (id, program_id, {_TEMPLATE_COLUMNS}, active, created_at, updated_at)"
        f" VALUES ({{}}, {{}}, {marks}, {{}}, {{}}, {{}})",
        new_id(),
        program_id,
        *_values(template),
        True,
        now,
        now,
    )
    await audit.record(actor, "coupon_template.create", "coupon_template", template.code, program_id, _data(template))
    _purchase_templates.pop(program_id, None)
    return await get_template(program_id, template.code)


@use_case
async def change_template(
    program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str = "system"
) -> dict[str, Any]:
    """Replace a template's terms (its code stays); a retired template becomes active again.
    Coupons already issued keep their dates and take the new terms when used. Terms ``data``
    leaves out that only the API shows (``issue_min_spend``, ``issue_conditions``) are kept, so a
    form without them changes the rest. Audited."""
    program = await get_program(program_id)
    row = _not_a_reward(await _template_row(program_id, code))
    kept = {key: _template_out(row)[key] for key in ("issue_min_spend", "issue_conditions") if key not in data}
    template = await _checked_template(program, {**kept, **data, "code": code})
    sets = ", ".join(f"{column.strip()} = {{}}" for column in _TEMPLATE_COLUMNS.split(","))
    await fetch(
        f"UPDATE coupon_template SET {sets}, active = {{}}, updated_at = {{}} WHERE program_id = {{}} AND id = {{}}",
        *_values(template),
        True,
        _now(),
        program_id,
        row["id"],
    )
    before = {k: v for k, v in _template_out(row).items() if k not in ("created_at", "updated_at")}
    details = {"before": before, "after": _data(template)}
    await audit.record(actor, "coupon_template.change", "coupon_template", code, program_id, details)
    _purchase_templates.pop(program_id, None)
    return await get_template(program_id, code)


@use_case
async def retire_template(program_id: uuid.UUID, code: str, actor: str = "system") -> None:
    """Stop issuing from a template. Coupons already issued stay usable until they end. Audited."""
    row = _not_a_reward(await _template_row(program_id, code))
    await fetch(
        "UPDATE coupon_template SET active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        False,
        _now(),
        program_id,
        row["id"],
    )
    await audit.record(actor, "coupon_template.retire", "coupon_template", code, program_id)
    _purchase_templates.pop(program_id, None)


def _data(template: TemplateDef) -> dict[str, Any]:
    return msgspec.to_builtins(template)


async def get_template(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """One template, active or retired."""
    return _template_out(await _template_row(program_id, code))


async def list_templates(
    program_id: uuid.UUID,
    include_retired: bool = False,
    page: int = 1,
    page_size: int = 50,
    include_rewards: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the program's templates by code, and how many there are; the templates of the
    points mall's rewards (``issue_on`` ``reward``, kept with their rewards) only when
    ``include_rewards``."""
    only = "" if include_retired else " AND active = {}"
    args = [program_id] + ([] if include_retired else [True])
    if not include_rewards:
        only += " AND issue_on <> 'reward'"
    total = await fetch_one(f"SELECT COUNT(*) AS n FROM coupon_template WHERE program_id = {{}}{only}", *args)
    rows = await fetch(
        f"SELECT * FROM coupon_template WHERE program_id = {{}}{only} ORDER BY code LIMIT {{}} OFFSET {{}}",
        *args,
        page_size,
        (page - 1) * page_size,
    )
    return [_template_out(row) for row in rows], int(total["n"])


# --- issuing ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IssueResult:
    """Coupons issued by hand, and the members skipped because they hold the template's limit."""

    issued: list[dict[str, Any]]
    skipped: list[uuid.UUID]


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    """``items`` in slices of at most ``size`` (one statement each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _held_counts(template_id: uuid.UUID, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    counts: dict[uuid.UUID, int] = {}
    for chunk in chunks(member_ids):
        marks = placeholders(chunk)
        rows = await fetch(
            "SELECT member_id, COUNT(*) AS n FROM coupon WHERE template_id = {} AND state <> 'void'"
            f" AND member_id IN ({marks}) GROUP BY member_id",
            template_id,
            *chunk,
        )
        counts.update({uuid.UUID(str(r["member_id"])): int(r["n"]) for r in rows})
    return counts


async def issue_rows(
    program: ProgramConfig,
    template: dict[str, Any],
    member_ids: list[uuid.UUID],
    occasion: str | None,
    actor: str,
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """Issue one coupon of ``template`` to each member below its per-member limit, in set-based
    statements; an ``occasion`` already served for a member issues nothing. Returns the coupons
    (as :func:`coupon_out` shapes them) and the members skipped for the limit."""
    first, last = _window(template, local_today(program, now))
    limit = template["per_member_limit"]
    skipped: list[uuid.UUID] = []
    if limit is not None:
        counts = await _held_counts(template["id"], member_ids)
        skipped = [m for m in member_ids if counts.get(m, 0) >= limit]
        member_ids = [m for m in member_ids if counts.get(m, 0) < limit]
    issued: list[dict[str, Any]] = []
    terms = _terms_out(template)
    for chunk in chunks(member_ids):
        args: list[Any] = []
        for member_id in chunk:
            args += [new_id(), template["id"], program.id, member_id, new_code(), occasion, actor, now]
            args += [first, last, now]
        rows = await fetch(
            "INSERT INTO coupon (id, template_id, program_id, member_id, code, state, occasion, issued_by,"
            " issued_at, valid_from, valid_until, discount, changed_at) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, 'issued', {}, {}, {}, {}, {}, 0, {})" for _ in chunk)
            + " ON CONFLICT (template_id, member_id, occasion, program_id) DO NOTHING RETURNING id, member_id, code",
            *args,
        )
        for row in rows:
            coupon = {
                "id": row["id"],
                "code": row["code"],
                "program_id": program.id,
                "member_id": uuid.UUID(str(row["member_id"])),
                "state": "issued",
                "occasion": occasion,
                "issued_at": now,
                "valid_from": first,
                "valid_until": last,
                "redeemed_at": None,
                "sale_id": None,
                "store_id": None,
                "discount": 0,
                "template": template["code"],
                **terms,
            }
            issued.append(coupon)
            emit(
                Event(
                    "coupon.issued",
                    program.id,
                    coupon["member_id"],
                    {"code": coupon["code"], "template": template["code"], "valid_until": last.isoformat()},
                )
            )
    return issued, skipped


def _window(template: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    """:func:`validity` of a template row for a coupon issued ``today``."""
    terms = {"valid_from": date_of(template["valid_from"]), "valid_until": date_of(template["valid_until"])}
    return validity({**terms, "valid_days": template["valid_days"]}, today)


def ended(template: dict[str, Any], program: ProgramConfig, now: dt.datetime) -> bool:
    """True when a coupon issued now would already be past its last day."""
    first, last = _window(template, local_today(program, now))
    return last < first


@use_case
async def issue(
    program_id: uuid.UUID,
    template_code: str,
    member_ids: list[uuid.UUID],
    actor: str = "system",
    now: dt.datetime | None = None,
) -> IssueResult:
    """Issue one coupon of a template to each member (手动发券), skipping members who already hold
    its ``per_member_limit`` (void coupons do not count). Every member must be an active member of
    the program, else nothing is issued. Audited."""
    program = await get_program(program_id)
    now = now or _now()
    template = _not_a_reward(await _template_row(program_id, template_code, lock=True))  # one issue at a time
    if not template["active"] or ended(template, program, now):
        raise CouponTemplateRetired(code=template_code)
    wanted = list(dict.fromkeys(member_ids))
    if not wanted:
        raise ValidationError(field="member_ids", reason=Reason("at least one member", "至少需要一位会员"))
    lock = "" if is_sqlite() else " ORDER BY id FOR NO KEY UPDATE"  # limits held against triggered issues
    for chunk in chunks(sorted(wanted)):
        marks = placeholders(chunk)
        found = await fetch(
            f"SELECT id FROM member WHERE program_id = {{}} AND status = 'active' AND id IN ({marks}){lock}",
            program_id,
            *chunk,
        )
        known = {uuid.UUID(str(r["id"])) for r in found}
        for member_id in chunk:
            if member_id not in known:
                raise MemberNotFound(member_id=member_id)
    issued, skipped = await issue_rows(program, template, wanted, None, actor, now)
    details = {"members": len(wanted), "issued": len(issued), "skipped": [str(m) for m in skipped]}
    await audit.record(actor, "coupon.issue", "coupon_template", template_code, program_id, details)
    return IssueResult(issued, skipped)


def occasion_for(
    trigger: str,
    *,
    tier: str | None = None,
    referred_member_id: uuid.UUID | None = None,
    year: int | None = None,
) -> str:
    """The occasion a trigger names by default: ``sign_up``, ``tier_upgrade:gold``,
    ``referral:<referred member id>``, ``birthday:2026``."""
    if trigger == "sign_up":
        return "sign_up"
    if trigger == "tier_upgrade":
        if not tier:
            raise ValidationError(
                field="tier",
                reason=Reason("the tier reached is required for tier_upgrade", "tier_upgrade 须提供升到的等级"),
            )
        return f"tier_upgrade:{tier}"
    if trigger == "referral":
        if referred_member_id is None:
            raise ValidationError(
                field="referred_member_id",
                reason=Reason("the referred member is required for referral", "referral 须提供被推荐的会员"),
            )
        return f"referral:{referred_member_id}"
    if trigger == "birthday":
        if year is None:
            raise ValidationError(field="year", reason=Reason("required for birthday", "birthday 时必填"))
        return f"birthday:{year}"
    raise ValidationError(
        field="trigger", reason=Reason(f"one of {', '.join(TRIGGERS[1:])}", f"只能是 {', '.join(TRIGGERS[1:])} 之一")
    )


TEMPLATES_CACHE_SECONDS = 5.0
_purchase_templates = database_cache(TTLCache(maxsize=1024, ttl=TEMPLATES_CACHE_SECONDS))


async def purchase_templates(program_id: uuid.UUID) -> list[dict[str, Any]]:
    """The program's active templates issued by purchases (next-order coupons), read on every
    purchase and so kept for :data:`TEMPLATES_CACHE_SECONDS` (a change here clears them at once in
    this process; other processes see it within that time)."""
    found = _purchase_templates.get(program_id)
    if found is None:
        found = _purchase_templates[program_id] = await fetch(
            "SELECT * FROM coupon_template WHERE program_id = {} AND issue_on = 'purchase' AND active = {}"
            " ORDER BY code",
            program_id,
            True,
        )
    return found


async def has_templates(program_id: uuid.UUID, trigger: str) -> bool:
    """Whether the program has an active template issued on ``trigger`` (one indexed lookup,
    so bulk flows can skip :func:`issue_by_trigger` when nothing could be issued)."""
    row = await fetch_one(
        "SELECT id FROM coupon_template WHERE program_id = {} AND issue_on = {} AND active = {} LIMIT 1",
        program_id,
        trigger,
        True,
    )
    return row is not None


@use_case
async def issue_by_trigger(
    program_id: uuid.UUID,
    member_id: uuid.UUID,
    trigger: str,
    *,
    tier: str | None = None,
    referred_member_id: uuid.UUID | None = None,
    templates: Iterable[str] = (),
    occasion: str | None = None,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Issue every active template whose ``issue_on`` is ``trigger`` to the member, plus the
    active ``templates`` named (e.g. a tier's ``upgrade_coupons``); call it inside the flow that
    fired the trigger (it joins that transaction).

    * ``sign_up``: after enrolment (occasion ``sign_up``: once per member);
    * ``referral``: to the *referrer*, with the new member as ``referred_member_id`` (occasion
      ``referral:<id>``: once per referred member);
    * ``tier_upgrade``: with the ``tier`` reached; templates for that tier or for any tier
      (occasion ``tier_upgrade:<tier>``: once per member and tier, so falling back and climbing
      again gives nothing new);
    * ``birthday``: the daily job does it (occasion ``birthday:<year>``).

    Safe to call twice for the same occurrence: the second call issues nothing. Named templates
    that do not exist or are retired, templates whose validity has ended, and members at a
    template's limit are skipped, so a purchase or an enrolment never fails for a coupon.
    ``occasion`` overrides the default. One statement when nothing is to be issued. Returns the
    coupons issued."""
    now = now or _now()
    if trigger not in TRIGGERS or trigger == "manual":
        raise ValidationError(
            field="trigger",
            reason=Reason(f"one of {', '.join(TRIGGERS[1:])}", f"只能是 {', '.join(TRIGGERS[1:])} 之一"),
        )
    if trigger == "tier_upgrade" and not tier:
        raise ValidationError(
            field="tier",
            reason=Reason("the tier reached is required for tier_upgrade", "tier_upgrade 须提供升到的等级"),
        )
    matches, args = "issue_on = {}", [trigger]
    if trigger == "tier_upgrade":
        matches, args = "issue_on = {} AND (tier IS NULL OR tier = {})", [trigger, tier]
    named = list(dict.fromkeys(templates))
    if named:
        matches = f"({matches}) OR code IN ({placeholders(named)})"
        args += named
    rows = await fetch(
        f"SELECT * FROM coupon_template WHERE program_id = {{}} AND active = {{}} AND ({matches}) ORDER BY code",
        program_id,
        True,
        *args,
    )
    if not rows:
        return []
    program = await get_program(program_id)
    if occasion is None:
        year = local_today(program, now).year
        occasion = occasion_for(trigger, tier=tier, referred_member_id=referred_member_id, year=year)
    lock = "" if is_sqlite() else " FOR NO KEY UPDATE"  # the member's coupon limits, one issue at a time
    member = await fetch_one(
        f"SELECT program_id, status FROM member WHERE program_id = {{}} AND id = {{}}{lock}", program_id, member_id
    )
    if member is None or member["status"] != "active":
        raise MemberNotFound(member_id=member_id)
    issued: list[dict[str, Any]] = []
    for template in rows:
        if not ended(template, program, now):
            issued += (await issue_rows(program, template, [member_id], occasion, actor, now))[0]
    return issued


@use_case
async def issue_coupon(
    program_id: uuid.UUID,
    template_code: str,
    member_id: uuid.UUID,
    occasion: str,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> dict[str, Any] | None:
    """Issue one coupon of the template to the member for ``occasion`` (a plugin's reward, e.g.
    ``"stamps:<card>:3"`` for a third completed stamp card), at most once: called again for the
    same template, member and occasion it issues nothing and returns the coupon issued then.
    Joins the caller's transaction. Returns the coupon (as :func:`coupon_out` shapes it), or None
    when the member already holds the template's ``per_member_limit``.
    ``CouponTemplateNotFound``/``CouponTemplateRetired`` for a template that does not exist in
    the program, is retired or has ended; ``MemberNotFound`` for a member not active in it."""
    now = now or _now()
    if not occasion or len(occasion) > 100:
        raise ValidationError(field="occasion", reason=Reason("1 to 100 characters", "1 到 100 个字符"))
    program = await get_program(program_id)
    template = await _template_row(program_id, template_code)
    lock = "" if is_sqlite() else " FOR NO KEY UPDATE"  # the member's coupon limits, one issue at a time
    member = await fetch_one(
        f"SELECT program_id, status FROM member WHERE program_id = {{}} AND id = {{}}{lock}", program_id, member_id
    )
    if member is None or member["status"] != "active":
        raise MemberNotFound(member_id=member_id)
    earlier = await fetch_one(
        COUPON_SELECT + " WHERE c.template_id = {} AND c.member_id = {} AND c.occasion = {}",
        template["id"],
        member_id,
        occasion,
    )
    if earlier is not None:
        return coupon_out(earlier, local_today(program, now))
    if not template["active"] or ended(template, program, now):
        raise CouponTemplateRetired(code=template_code)
    issued, _ = await issue_rows(program, template, [member_id], occasion, actor, now)
    return issued[0] if issued else None


# --- reading coupons ------------------------------------------------------------------------------


def coupon_out(row: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """A coupon with its template's terms; ``issued`` past its last day reads ``expired`` (the
    job marks it soon)."""
    state = row["state"]
    valid_until = date_of(row["valid_until"])
    if state == "issued" and today is not None and valid_until < today:
        state = "expired"
    return {
        "code": row["code"],
        "template": row["template"],
        "member_id": uuid.UUID(str(row["member_id"])),
        "state": state,
        "occasion": row["occasion"],
        "issued_at": row["issued_at"],
        "valid_from": date_of(row["valid_from"]),
        "valid_until": valid_until,
        "redeemed_at": row["redeemed_at"],
        "sale_id": row["sale_id"],
        "store_id": row["store_id"],
        "discount": int(row["discount"]),
        **_terms_out(row),
    }


async def coupon_row(code: str) -> dict[str, Any]:
    """A coupon by its code (any program) with its template's terms; ``CouponCodeNotFound``."""
    normalised = normalise_code(code)
    row = await fetch_one(COUPON_SELECT + " WHERE c.code = {}", normalised) if well_formed(normalised) else None
    if row is None:
        raise CouponCodeNotFound(code=code)
    return row


async def get_coupon(code: str) -> dict[str, Any]:
    """One coupon, as :func:`coupon_out` shows it."""
    row = await coupon_row(code)
    program = await get_program(row["program_id"])
    return coupon_out(row, local_today(program))


_STATE_FILTERS = {
    "issued": " AND c.state = 'issued' AND c.valid_until >= {}",
    "expired": " AND (c.state = 'expired' OR (c.state = 'issued' AND c.valid_until < {}))",
    "redeemed": " AND c.state = 'redeemed'",
    "void": " AND c.state = 'void'",
}


async def recent_coupons(
    member_id: uuid.UUID, limit: int = 20, usable_on: dt.date | None = None
) -> list[dict[str, Any]]:
    """The member's latest coupons with their template's name (one statement, for screens); only
    those usable on the local date ``usable_on`` when given."""
    usable = " AND c.state = 'issued' AND c.valid_from <= {} AND c.valid_until >= {}" if usable_on else ""
    return await fetch(
        "SELECT c.code, t.name, c.state, c.valid_from, c.valid_until, c.redeemed_at FROM coupon c"
        " JOIN coupon_template t ON t.program_id = c.program_id AND t.id = c.template_id WHERE c.member_id = {}"
        + usable
        + " ORDER BY c.issued_at DESC LIMIT {}",
        member_id,
        *([usable_on, usable_on] if usable_on else []),
        limit,
    )


async def member_coupons(
    member_id: uuid.UUID, state: str | None = None, page: int = 1, page_size: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """A page of the member's coupons, newest first, and how many match. ``state`` ``issued``
    lists the usable ones (not past their last day)."""
    member = await fetch_one("SELECT program_id FROM member WHERE id = {}", member_id)
    if member is None:
        raise MemberNotFound(member_id=member_id)
    program = await get_program(member["program_id"])
    today = local_today(program)
    where, args = " WHERE c.member_id = {}", [member_id]
    if state is not None:
        if state not in _STATE_FILTERS:
            raise ValidationError(
                field="state", reason=Reason(f"one of {', '.join(STATES)}", f"只能是 {', '.join(STATES)} 之一")
            )
        where += _STATE_FILTERS[state]
        args += [today] if "{}" in _STATE_FILTERS[state] else []
    total = await fetch_one("SELECT COUNT(*) AS n FROM coupon c" + where, *args)
    rows = await fetch(
        COUPON_SELECT + where + " ORDER BY c.issued_at DESC, c.code LIMIT {} OFFSET {}",
        *args,
        page_size,
        (page - 1) * page_size,
    )
    return [coupon_out(row, today) for row in rows], int(total["n"])


@use_case
async def void(code: str, reason: str, actor: str = "system") -> dict[str, Any]:
    """Void an unused coupon (作废) with a reason; a used, expired or void one is refused. Audited."""
    row = await coupon_row(code)
    now = _now()
    changed = await fetch(
        "UPDATE coupon SET state = 'void', changed_at = {} WHERE program_id = {} AND id = {} AND state = 'issued'"
        " RETURNING id",
        now,
        row["program_id"],
        row["id"],
    )
    if not changed:
        if row["state"] == "redeemed":
            raise CouponAlreadyRedeemed(code=row["code"], sale_id=row["sale_id"])
        if row["state"] == "expired":
            raise CouponExpired(code=row["code"], valid_until=date_of(row["valid_until"]).isoformat())
        raise CouponVoid(code=row["code"])
    details = {"reason": reason, "member_id": str(row["member_id"]), "template": row["template"]}
    await audit.record(actor, "coupon.void", "coupon", row["code"], row["program_id"], details)
    program = await get_program(row["program_id"])
    return coupon_out({**row, "state": "void"}, local_today(program, now))


async def void_unused(
    program_id: uuid.UUID, member_id: uuid.UUID, occasion: str, issued_since: dt.datetime, reason: str, now: dt.datetime
) -> list[str]:
    """Inside the caller's transaction: void the member's still unused coupons that ``occasion``
    issued since ``issued_since`` (used ones stay as they are), each audited as :func:`void`
    audits one. Their codes."""
    voided = await fetch(
        "UPDATE coupon SET state = 'void', changed_at = {} WHERE member_id = {} AND program_id = {}"
        " AND occasion = {} AND state = 'issued' AND issued_at >= {} RETURNING code",
        *(now, member_id, program_id, occasion, issued_since),
    )
    for row in voided:
        details = {"reason": reason, "member_id": str(member_id)}
        await audit.record("system", "coupon.void", "coupon", row["code"], program_id, details)
    return [row["code"] for row in voided]


# --- QR codes ---------------------------------------------------------------------------------------


def qr_svg(code: str) -> bytes:
    """The coupon code as a QR code (error correction M), an SVG document titled with the code."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="svg", scale=8, border=4, title=code, unit="px")
    return buffer.getvalue()


def qr_png(code: str) -> bytes:
    """The coupon code as a QR code (error correction M), a PNG image (8 px per module)."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()
