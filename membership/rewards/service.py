"""The catalogue of rewards priced in points (积分商城): add, change, retire, read.

Each reward keeps a coupon template of its own (code ``reward.<code>``, ``issue_on`` ``reward``)
whose terms its kind gives (:meth:`~membership.rewards.kinds.RewardKind.coupon`): a redemption
issues a coupon of it (:mod:`membership.rewards.redeeming`). The template changes with its
reward only; the coupon pages refuse to change it or to issue it by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

import msgspec

from membership.audit import service as audit
from membership.coupons.service import date_of, local_today, uuids_of
from membership.db import fetch, fetch_one, is_sqlite, new_id, use_case
from membership.db.sql import json_column
from membership.errors import Reason, ValidationError
from membership.org.service import ProgramConfig, check_store, get_program
from membership.rewards.errors import RewardNotFound
from membership.rewards.kinds import CouponTerms, RewardKind, kind_of, parse_params, reward_kinds

MAX_POINTS = 1_000_000_000
TEMPLATE_PREFIX = "reward."

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$")]


class RewardTerms(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a reward says, but its code (the API takes the code from the path on a change).

    ``kind`` names a registered reward kind (``gift``, ``discount``, a pack's own) and ``params``
    its fields. ``points``: what one redemption costs. ``stock``: how many are left (None:
    unlimited; never below zero). ``member_limit``: redemptions per member per
    ``limit_period`` (``day``, ``week``, ``month``, ``year`` in the program's zone, or ``total``;
    None: no limit). Redeemable from ``available_from`` to ``available_until`` (inclusive local
    dates; None: open) at ``store_ids`` (empty: every store). ``coupon_days``: how long the coupon
    of a redemption made on its own stays valid. ``stackable``: its coupon combines with other
    stackable coupons on a sale."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    points: Annotated[int, msgspec.Meta(ge=1, le=MAX_POINTS)]
    params: dict[str, Any] = {}
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""
    stock: Annotated[int, msgspec.Meta(ge=0, le=MAX_POINTS)] | None = None
    member_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    limit_period: Literal["day", "week", "month", "year", "total"] = "total"
    available_from: dt.date | None = None
    available_until: dt.date | None = None
    store_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)] = []
    coupon_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 30
    stackable: bool = False


class RewardDef(RewardTerms, frozen=True, kw_only=True):
    """A reward: its terms (:class:`RewardTerms`) and its code, unique in the program."""

    code: Code


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_reward(data: dict[str, Any]) -> tuple[RewardDef, RewardKind, Any]:
    """A validated reward from JSON-like ``data``, its kind and its params (checked by the kind)."""
    try:
        reward = msgspec.convert(data, RewardDef)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "reward", reason=reason) from None
    kind = kind_of(reward.kind)
    params = parse_params(kind, reward.params)
    if reward.available_from and reward.available_until and reward.available_from > reward.available_until:
        raise ValidationError(
            field="available_until", reason=Reason("must not be before available_from", "不能早于开始兑换日期")
        )
    stores = list(dict.fromkeys(reward.store_ids))
    reward = msgspec.structs.replace(reward, params=msgspec.to_builtins(params), store_ids=stores)
    return reward, kind(), params


def template_code(code: str) -> str:
    """The code of the coupon template a reward's redemptions issue."""
    return f"{TEMPLATE_PREFIX}{code}"


def reward_out(row: dict[str, Any]) -> dict[str, Any]:
    """A reward as the API and the console show it; ``gives`` says what it gives (zh and en)."""
    params = json_column(row["params"]) or {}
    kind = reward_kinds().get(row["kind"])
    gives = None
    if kind is not None:
        try:
            gives = kind().describe(parse_params(kind, params))
        except ValidationError:  # its plugin changed what the kind takes since it was saved
            gives = None
    return {
        "code": row["code"],
        "name": row["name"],
        "description": row["description"],
        "kind": row["kind"],
        "params": params,
        "points": int(row["points"]),
        "stock": None if row["stock"] is None else int(row["stock"]),
        "member_limit": row["member_limit"],
        "limit_period": row["limit_period"],
        "available_from": date_of(row["available_from"]),
        "available_until": date_of(row["available_until"]),
        "store_ids": uuids_of(row["store_ids"]),
        "coupon_days": int(row["coupon_days"]),
        "stackable": bool(row["stackable"]),
        "active": bool(row["active"]),
        "gives_zh": gives.zh if gives else "",
        "gives_en": gives.en if gives else "",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def reward_row(program_id: uuid.UUID, code: str, lock: bool = False) -> dict[str, Any]:
    """A reward's row by its code in the program (locked for the transaction when ``lock``);
    ``RewardNotFound``."""
    if not 1 <= len(code) <= 48:
        raise RewardNotFound(code=code)
    suffix = " FOR NO KEY UPDATE" if lock and not is_sqlite() else ""
    row = await fetch_one(f"SELECT * FROM reward WHERE program_id = {{}} AND code = {{}}{suffix}", program_id, code)
    if row is None:
        raise RewardNotFound(code=code)
    return row


def _template_values(reward: RewardDef, terms: CouponTerms) -> list[Any]:
    return [
        reward.name,
        terms.kind,
        terms.amount_off,
        terms.percent_off,
        terms.max_off,
        terms.free_sku,
        terms.min_spend,
        reward.coupon_days,
        json.dumps([str(s) for s in reward.store_ids]),
        reward.stackable,
    ]


_TEMPLATE_SET = (
    "name = {}, kind = {}, amount_off = {}, percent_off = {}, max_off = {}, free_sku = {}, min_spend = {},"
    " valid_days = {}, store_ids = {}, stackable = {}"
)


def _reward_values(reward: RewardDef) -> list[Any]:
    return [
        reward.name,
        reward.description,
        reward.kind,
        json.dumps(reward.params, ensure_ascii=False),
        reward.points,
        reward.stock,
        reward.member_limit,
        reward.limit_period,
        reward.available_from,
        reward.available_until,
        json.dumps([str(s) for s in reward.store_ids]),
        reward.coupon_days,
        reward.stackable,
    ]


_REWARD_SET = (
    "name = {}, description = {}, kind = {}, params = {}, points = {}, stock = {}, member_limit = {},"
    " limit_period = {}, available_from = {}, available_until = {}, store_ids = {}, coupon_days = {}, stackable = {}"
)


async def _checked(program: ProgramConfig, data: dict[str, Any]) -> tuple[RewardDef, CouponTerms]:
    reward, kind, params = parse_reward(data)
    for store_id in reward.store_ids:  # a closed store may stay named
        await check_store(program, store_id, open_only=False)
    if reward.available_until is not None and reward.available_until < local_today(program):
        raise ValidationError(
            field="available_until", reason=Reason("already past: nobody could redeem it", "已过去：无人能兑换")
        )
    return reward, kind.coupon(params)


def _data(reward: RewardDef) -> dict[str, Any]:
    return msgspec.to_builtins(reward)


@use_case
async def create_reward(program_id: uuid.UUID, data: dict[str, Any], actor: str = "system") -> dict[str, Any]:
    """Add a reward to the catalogue (``code`` new in the program) with its coupon template.
    Audited."""
    program = await get_program(program_id)
    reward, terms = await _checked(program, data)
    if await fetch_one("SELECT id FROM reward WHERE program_id = {} AND code = {}", program_id, reward.code):
        raise ValidationError(
            field="code",
            reason=Reason(
                f"reward {reward.code!r} already exists; change it instead",
                f"兑换品 “{reward.code}” 已存在，请改为修改它",
            ),
        )
    now = _now()
    template_id = new_id()
    await fetch(
        "INSERT INTO coupon_template (id, program_id, code, name, kind, amount_off, percent_off, max_off, free_sku,"
        " min_spend, valid_days, store_ids, stackable, issue_on, birthday_window, issue_min_spend, issue_conditions,"
        " active, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 'reward', 'day',"
        " 0, '[]', {}, {}, {})",
        template_id,
        program_id,
        template_code(reward.code),
        *_template_values(reward, terms),
        True,
        now,
        now,
    )
    await fetch(
        "INSERT INTO reward (id, program_id, code, name, description, kind, params, points, stock, member_limit,"
        " limit_period, available_from, available_until, store_ids, coupon_days, stackable, template_id, active,"
        " created_at, updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {},"
        " {}, {})",
        new_id(),
        program_id,
        reward.code,
        *_reward_values(reward),
        template_id,
        True,
        now,
        now,
    )
    await audit.record(actor, "reward.create", "reward", reward.code, program_id, _data(reward))
    return await get_reward(program_id, reward.code)


@use_case
async def change_reward(
    program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str = "system"
) -> dict[str, Any]:
    """Replace a reward's terms (its code stays; ``stock`` is set to what ``data`` says); a
    retired reward comes back. Coupons already issued keep their dates and take the new coupon
    terms when used. Audited."""
    program = await get_program(program_id)
    row = await reward_row(program_id, code, lock=True)
    reward, terms = await _checked(program, {**data, "code": code})
    now = _now()
    await fetch(
        f"UPDATE coupon_template SET {_TEMPLATE_SET}, active = {{}}, updated_at = {{}}"
        " WHERE program_id = {} AND id = {}",
        *_template_values(reward, terms),
        True,
        now,
        program_id,
        row["template_id"],
    )
    await fetch(
        f"UPDATE reward SET {_REWARD_SET}, active = {{}}, updated_at = {{}} WHERE program_id = {{}} AND id = {{}}",
        *_reward_values(reward),
        True,
        now,
        program_id,
        row["id"],
    )
    before = {k: v for k, v in reward_out(row).items() if k not in ("created_at", "updated_at")}
    details = {"before": msgspec.to_builtins(before), "after": _data(reward)}
    await audit.record(actor, "reward.change", "reward", code, program_id, details)
    return await get_reward(program_id, code)


@use_case
async def retire_reward(program_id: uuid.UUID, code: str, actor: str = "system") -> None:
    """Take a reward off the catalogue (下架): it can no longer be redeemed; coupons already
    issued stay usable until they end. Audited."""
    row = await reward_row(program_id, code)
    now = _now()
    await fetch(
        "UPDATE reward SET active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        False,
        now,
        program_id,
        row["id"],
    )
    await fetch(
        "UPDATE coupon_template SET active = {}, updated_at = {} WHERE program_id = {} AND id = {}",
        False,
        now,
        program_id,
        row["template_id"],
    )
    await audit.record(actor, "reward.retire", "reward", code, program_id)


async def get_reward(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """One reward, active or retired."""
    return reward_out(await reward_row(program_id, code))


async def list_rewards(
    program_id: uuid.UUID, include_retired: bool = False, page: int = 1, page_size: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """A page of the program's rewards, cheapest first, and how many there are."""
    only = "" if include_retired else " AND active = {}"
    args = [program_id] + ([] if include_retired else [True])
    total = await fetch_one(f"SELECT COUNT(*) AS n FROM reward WHERE program_id = {{}}{only}", *args)
    rows = await fetch(
        f"SELECT * FROM reward WHERE program_id = {{}}{only} ORDER BY points, code LIMIT {{}} OFFSET {{}}",
        *args,
        page_size,
        (page - 1) * page_size,
    )
    return [reward_out(row) for row in rows], int(total["n"])


async def redeemable_rewards(program: ProgramConfig, store_id: uuid.UUID, today: dt.date) -> list[dict[str, Any]]:
    """The rewards a member could redeem at ``store_id`` on the local date ``today`` (on the
    catalogue, within their window, stocked), cheapest first, in one statement: what the counter
    offers (limits and points are checked when one is chosen)."""
    rows = await fetch(
        "SELECT * FROM reward WHERE program_id = {} AND active = {} AND (stock IS NULL OR stock > 0)"
        " AND (available_from IS NULL OR available_from <= {}) AND (available_until IS NULL OR available_until >= {})"
        " ORDER BY points, code LIMIT 50",
        program.id,
        True,
        today,
        today,
    )
    return [reward_out(row) for row in rows if not uuids_of(row["store_ids"]) or store_id in uuids_of(row["store_ids"])]


@dataclasses.dataclass(frozen=True)
class KindInfo:
    """A registered reward kind as clients and the console see it: its name, labels and the JSON
    schema of its params."""

    kind: str
    label_zh: str
    label_en: str
    params_schema: dict[str, Any]


def kinds_info() -> list[KindInfo]:
    """Every registered reward kind, by name."""
    found = []
    for name, kind in sorted(reward_kinds().items()):
        schema = msgspec.json.schema(kind.Params)
        found.append(
            KindInfo(name, kind.label_zh, kind.label_en, schema.get("$defs", {}).get(kind.Params.__name__, schema))
        )
    return found


def period_start(program: ProgramConfig, period: str, now: dt.datetime) -> dt.datetime | None:
    """The start (UTC) of the current ``period`` in the program's zone (None for ``total``): the
    day, the ISO week from Monday, the month or the year."""
    if period == "total":
        return None
    today = now.astimezone(program.zone).date()
    if period == "week":
        today -= dt.timedelta(days=today.weekday())
    elif period == "month":
        today = today.replace(day=1)
    elif period == "year":
        today = today.replace(month=1, day=1)
    return dt.datetime.combine(today, dt.time(), program.zone).astimezone(dt.UTC)


PERIOD_WORDS = {
    "day": ("per day", "每天"),
    "week": ("per week", "每周"),
    "month": ("per month", "每月"),
    "year": ("per year", "每年"),
    "total": ("in all", "累计"),
}
