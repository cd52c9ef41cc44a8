"""Redeeming rewards priced in points (积分兑换): on their own, or inside a sale at the till.

Rules kept by every path:

* the member's row is locked for the transaction (the sale path locks it already), so the
  per-member limit is counted one redemption at a time and the points are never overdrawn;
* the points go through the ledger (:func:`~membership.ledger.service.debit_points`: lots
  nearest expiry first, a conditional ``UPDATE … WHERE balance >= n``), one posting per
  redemption request, with the plugins' ``membership_check_redemption`` asked first;
* the stock is taken by a conditional ``UPDATE reward SET stock = stock - n WHERE stock >= n``, so
  two members redeeming the last unit at once cannot both have it;
* a redemption gives a coupon of the reward's template (occasion ``reward:<redemption id>``): on
  its own the member uses it later; inside a sale the sale uses it at once (its discount comes
  through the coupon engine, :mod:`membership.coupons.discounts`);
* refunding the whole sale, or cancelling a redemption made on its own whose coupon is unused,
  voids the coupon and gives back the points (keeping their expiry) and the stock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import Counter
from typing import Any

from membership.audit import service as audit
from membership.coupons import redemption as coupon_redemption
from membership.coupons.discounts import HeldCoupon
from membership.coupons.service import date_of, issue_rows, local_today, uuids_of
from membership.db import emit, fetch, fetch_one, new_id, placeholders, use_case
from membership.errors import CouponNotUsable, InsufficientPoints, MemberNotFound, Reason, ValidationError
from membership.events import Event
from membership.ledger import idempotency
from membership.ledger.accounts import Kind
from membership.ledger.rules import LineInput
from membership.ledger.service import (
    Balances,
    MemberAccounts,
    PostingWriter,
    check_redemption,
    debit_points,
    give_back_points,
)
from membership.members.service import active_member, member_row
from membership.org.service import ProgramConfig, check_store, get_program
from membership.rewards.errors import (
    RedemptionNotCancellable,
    RedemptionNotFound,
    RewardExpired,
    RewardKindMissing,
    RewardLimitReached,
    RewardNotFound,
    RewardNotUsable,
    RewardNotYetAvailable,
    RewardOutOfStock,
    RewardRetired,
    RewardWrongStore,
)
from membership.rewards.kinds import reward_kinds
from membership.rewards.service import PERIOD_WORDS, period_start, reward_row, template_code

MAX_PER_SALE = 10


@dataclasses.dataclass(frozen=True)
class Redemption:
    """A reward redeemed on its own: what it cost, the coupon it gave (usable from
    ``valid_from`` to ``valid_until``, local dates) and the balances after it."""

    id: uuid.UUID
    reward: str
    name: str
    member_id: uuid.UUID
    points: int
    coupon: str
    valid_from: dt.date
    valid_until: dt.date
    balances: Balances
    state: str = "redeemed"
    replayed: bool = False


@dataclasses.dataclass(frozen=True)
class RewardUse:
    """A reward redeemed inside a sale (or that would be, in a simulation): its code and name,
    the points it cost, its coupon (None in a simulation) and what it took off the sale."""

    reward: str
    name: str
    points: int
    coupon: str | None = None
    discount: int = 0


@dataclasses.dataclass(frozen=True)
class Taken:
    """The rewards of a sale, checked (and, for a purchase, redeemed): their coupons as the
    coupon engine reads them, and the points they cost."""

    uses: tuple[RewardUse, ...] = ()
    held: tuple[HeldCoupon, ...] = ()

    @property
    def points(self) -> int:
        """The points the rewards cost together."""
        return sum(use.points for use in self.uses)


NOTHING = Taken()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_reward_codes(codes: list[str] | None) -> list[str]:
    """The reward codes of a sale (one per unit; a code may repeat), checked: at most
    :data:`MAX_PER_SALE`, each 1 to 48 characters."""
    codes = list(codes or [])
    if len(codes) > MAX_PER_SALE:
        raise ValidationError(field="rewards", reason=Reason(f"at most {MAX_PER_SALE}", f"最多 {MAX_PER_SALE} 个"))
    for code in codes:
        if not isinstance(code, str) or not 1 <= len(code.strip()) <= 48:
            raise ValidationError(
                field="rewards", reason=Reason("reward codes of 1 to 48 characters", "兑换品编码须为 1 到 48 个字符")
            )
    return [code.strip() for code in codes]


def check_redeemable(program: ProgramConfig, row: dict[str, Any], store_id: uuid.UUID | None, today: dt.date) -> None:
    """Refuse a reward that is retired, of a kind no plugin provides, outside its window or
    not redeemable at ``store_id``."""
    name = row["name"]
    if not row["active"]:
        raise RewardRetired(name=name)
    if row["kind"] not in reward_kinds():
        raise RewardKindMissing(name=name, kind=row["kind"])
    first, last = date_of(row["available_from"]), date_of(row["available_until"])
    if first is not None and today < first:
        raise RewardNotYetAvailable(name=name, available_from=first.isoformat())
    if last is not None and today > last:
        raise RewardExpired(name=name, available_until=last.isoformat())
    stores = uuids_of(row["store_ids"])
    if stores and store_id not in stores:
        raise RewardWrongStore(name=name)


async def check_limit(
    program: ProgramConfig, row: dict[str, Any], member_id: uuid.UUID, quantity: int, now: dt.datetime
) -> None:
    """Refuse ``quantity`` more redemptions that would pass the reward's per-member limit in its
    period (the member's row is locked by the caller: counted one request at a time)."""
    limit = row["member_limit"]
    if limit is None:
        return
    since = period_start(program, row["limit_period"], now)
    where, args = "", []
    if since is not None:
        where, args = " AND created_at >= {}", [since]
    found = await fetch_one(
        "SELECT COUNT(*) AS n FROM reward_redemption WHERE reward_id = {} AND member_id = {} AND state = 'redeemed'"
        + where,
        row["id"],
        member_id,
        *args,
    )
    used = int(found["n"])
    if used + quantity > limit:
        en, zh = PERIOD_WORDS[row["limit_period"]]
        raise RewardLimitReached(name=row["name"], limit=limit, used=used, period_en=en, period_zh=zh)


async def take_stock(row: dict[str, Any], quantity: int) -> None:
    """Take ``quantity`` units of a stocked reward, never below zero; ``RewardOutOfStock``."""
    if row["stock"] is None:
        return
    taken = await fetch(
        "UPDATE reward SET stock = stock - {} WHERE program_id = {} AND id = {} AND stock >= {} RETURNING stock",
        quantity,
        row["program_id"],
        row["id"],
        quantity,
    )
    if not taken:
        left = await fetch_one("SELECT stock FROM reward WHERE id = {}", row["id"])
        raise RewardOutOfStock(name=row["name"], stock=int(left["stock"]), requested=quantity)


async def _give_stock(program_id: uuid.UUID, reward_id: uuid.UUID, quantity: int) -> None:
    await fetch(
        "UPDATE reward SET stock = stock + {} WHERE program_id = {} AND id = {} AND stock IS NOT NULL",
        quantity,
        program_id,
        reward_id,
    )


async def _template(row: dict[str, Any]) -> dict[str, Any]:
    return await fetch_one("SELECT * FROM coupon_template WHERE id = {}", row["template_id"])


def _held(
    template: dict[str, Any], coupon_id: uuid.UUID, code: str, member_id: uuid.UUID, first: dt.date, last: dt.date
) -> HeldCoupon:
    """A reward's coupon as the coupon engine reads it (issued now, or about to be)."""
    coupon = {"id": coupon_id, "code": code, "member_id": member_id, "state": "issued", "sale_id": None}
    dates = {"valid_from": first, "valid_until": last, "template": template["code"]}
    return coupon_redemption.held_coupon({**template, **coupon, **dates})


async def _debit(
    program: ProgramConfig,
    member_id: uuid.UUID,
    points: int,
    store_id: uuid.UUID | None,
    sale_id: uuid.UUID | None,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> tuple[uuid.UUID, MemberAccounts]:
    """Spend ``points`` on rewards through the ledger (one posting); its id and the accounts."""
    accounts = await MemberAccounts.load(program, member_id, now)
    await check_redemption(accounts, points, store_id, "reward")
    writer = await PostingWriter(
        program, "reward", member_id, now, store_id, sale_id, operator=actor, reason=reason
    ).open()
    await debit_points(writer, accounts, points, Kind.POINTS_REDEEMED, "reward", reason)
    await writer.close()
    return writer.id, accounts


async def _issue(
    program: ProgramConfig,
    row: dict[str, Any],
    template: dict[str, Any],
    member_id: uuid.UUID,
    store_id: uuid.UUID | None,
    sale_id: uuid.UUID | None,
    posting_id: uuid.UUID,
    actor: str,
    now: dt.datetime,
) -> tuple[uuid.UUID, dict[str, Any]]:
    """One redemption of ``row``: its coupon issued and its record written; (its id, the coupon)."""
    redemption_id = new_id()
    coupons, _ = await issue_rows(program, template, [member_id], f"reward:{redemption_id}", actor, now)
    coupon = coupons[0]
    await fetch(
        "INSERT INTO reward_redemption (id, program_id, reward_id, member_id, store_id, sale_id, posting_id,"
        " coupon_id, points, state, actor, created_at, changed_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, 'redeemed', {}, {}, {})",
        redemption_id,
        program.id,
        row["id"],
        member_id,
        store_id,
        sale_id,
        posting_id,
        coupon["id"],
        int(row["points"]),
        actor,
        now,
        now,
    )
    return redemption_id, coupon


def _reason(names: list[str]) -> str:
    joined = "、".join(names)[:90]
    return f"积分兑换：{joined} / reward: {joined}"


# --- on its own --------------------------------------------------------------------------------------


@use_case
async def redeem_reward(
    program_id: uuid.UUID,
    code: str,
    member_id: uuid.UUID,
    store_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    actor: str = "system",
    now: dt.datetime | None = None,
) -> Redemption:
    """Redeem one reward for a member on its own (积分兑换): check it (retired, window, store,
    per-member limit, stock), spend its points through the ledger, issue its coupon (valid the
    reward's ``coupon_days``). One transaction; idempotent with a key. ``InsufficientPoints`` when
    the member has too few points (409)."""
    program = await get_program(program_id)
    if store_id is not None:
        await check_store(program, store_id)
    member = await active_member(member_id, lock=True)
    if member["program_id"] != program.id:
        raise MemberNotFound(member_id=member_id)
    now = now or _now()

    async def run() -> Redemption:
        row = await reward_row(program.id, code)
        check_redeemable(program, row, store_id, local_today(program, now))
        await check_limit(program, row, member_id, 1, now)
        await take_stock(row, 1)
        posting_id, accounts = await _debit(
            program, member_id, int(row["points"]), store_id, None, _reason([row["name"]]), actor, now
        )
        redemption_id, coupon = await _issue(
            program, row, await _template(row), member_id, store_id, None, posting_id, actor, now
        )
        emit(Event("points.redeemed", program.id, member_id, {"points": int(row["points"]), "store_id": store_id}))
        return Redemption(
            id=redemption_id,
            reward=row["code"],
            name=row["name"],
            member_id=member_id,
            points=int(row["points"]),
            coupon=coupon["code"],
            valid_from=coupon["valid_from"],
            valid_until=coupon["valid_until"],
            balances=accounts.balances(),
        )

    payload = {"reward": code, "member_id": member_id, "store_id": store_id}
    return await idempotency.once(program.id, idempotency_key, "redeem_reward", payload, Redemption, run)


_REDEMPTION_SELECT = (
    "SELECT rr.id, rr.program_id, rr.reward_id, rr.member_id, rr.store_id, rr.sale_id, rr.posting_id, rr.points,"
    " rr.state, rr.actor, rr.created_at, rr.changed_at, r.code AS reward, r.name, c.code AS coupon,"
    " c.state AS coupon_state, c.valid_from, c.valid_until"
    " FROM reward_redemption rr JOIN reward r ON r.program_id = rr.program_id AND r.id = rr.reward_id JOIN coupon c"
    " ON c.program_id = rr.program_id AND c.id = rr.coupon_id"
)


def redemption_out(row: dict[str, Any]) -> dict[str, Any]:
    """A redemption as the API and the console show it."""
    return {
        "id": uuid.UUID(str(row["id"])),
        "reward": row["reward"],
        "name": row["name"],
        "member_id": uuid.UUID(str(row["member_id"])),
        "store_id": row["store_id"],
        "sale_id": row["sale_id"],
        "points": int(row["points"]),
        "state": row["state"],
        "coupon": row["coupon"],
        "coupon_state": row["coupon_state"],
        "valid_from": date_of(row["valid_from"]),
        "valid_until": date_of(row["valid_until"]),
        "created_at": row["created_at"],
        "changed_at": row["changed_at"],
    }


async def redemption_row(redemption_id: uuid.UUID) -> dict[str, Any]:
    """A redemption with its reward's code and name and its coupon; ``RedemptionNotFound``."""
    row = await fetch_one(_REDEMPTION_SELECT + " WHERE rr.id = {}", redemption_id)
    if row is None:
        raise RedemptionNotFound(redemption_id=redemption_id)
    return row


async def member_redemptions(
    member_id: uuid.UUID, page: int = 1, page_size: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """A page of the member's redemptions, newest first, and how many there are."""
    total = await fetch_one("SELECT COUNT(*) AS n FROM reward_redemption WHERE member_id = {}", member_id)
    rows = await fetch(
        _REDEMPTION_SELECT + " WHERE rr.member_id = {} ORDER BY rr.created_at DESC, rr.id LIMIT {} OFFSET {}",
        member_id,
        page_size,
        (page - 1) * page_size,
    )
    return [redemption_out(row) for row in rows], int(total["n"])


async def _give_back(
    program: ProgramConfig,
    accounts: MemberAccounts,
    rows: list[dict[str, Any]],
    kind: str,
    store_id: uuid.UUID | None,
    sale_id: uuid.UUID | None,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> int:
    """Give back the points of ``rows`` (redemptions) as new lots keeping their expiry, and their
    stock; the points given back."""
    writer = await PostingWriter(
        program, kind, accounts.member_id, now, store_id, sale_id, operator=actor, reason=reason
    ).open()
    by_posting: Counter[uuid.UUID] = Counter()
    for row in rows:
        by_posting[row["posting_id"]] += int(row["points"])
    for posting_id, points in by_posting.items():
        await give_back_points(writer, accounts, posting_id, 0, points, reason)
    await writer.close()
    for reward_id, quantity in Counter(row["reward_id"] for row in rows).items():
        await _give_stock(program.id, reward_id, quantity)
    return sum(by_posting.values())


@use_case
async def cancel_redemption(redemption_id: uuid.UUID, reason: str, actor: str = "system") -> dict[str, Any]:
    """Cancel a redemption made on its own whose coupon is still unused (撤销兑换): the coupon is
    voided, the points come back (keeping their expiry) and the stock too. A redemption made in a
    sale comes back by refunding that sale. Audited."""
    row = await redemption_row(redemption_id)
    program = await get_program(row["program_id"])
    await member_row(row["member_id"], lock=True, program_id=program.id)
    row = await redemption_row(redemption_id)  # as it is now that the member is locked
    if row["state"] != "redeemed":
        raise RedemptionNotCancellable(reason=Reason(f"it is already {row['state']}", "它已撤销或已退回"))
    if row["sale_id"] is not None:
        raise RedemptionNotCancellable(
            reason=Reason(
                f"it was redeemed in sale {row['sale_id']}: refund that sale",
                f"它在交易 {row['sale_id']} 中兑换：请退该交易",
            )
        )
    now = _now()
    voided = await fetch(
        "UPDATE coupon SET state = 'void', changed_at = {} WHERE program_id = {} AND code = {} AND state = 'issued'"
        " RETURNING id",
        now,
        program.id,
        row["coupon"],
    )
    if not voided:
        raise RedemptionNotCancellable(
            reason=Reason(
                f"its coupon {row['coupon']} was used or has ended", f"其优惠券 {row['coupon']} 已使用或已失效"
            )
        )
    accounts = await MemberAccounts.load(program, row["member_id"], now)
    back = f"撤销兑换：{reason[:90]} / redemption cancelled: {reason[:90]}"
    await _give_back(program, accounts, [row], "reward_cancel", row["store_id"], None, back, actor, now)
    await fetch(
        "UPDATE reward_redemption SET state = 'cancelled', changed_at = {} WHERE program_id = {} AND id = {}",
        now,
        program.id,
        redemption_id,
    )
    details = {"reason": reason, "reward": row["reward"], "points": int(row["points"]), "coupon": row["coupon"]}
    await audit.record(actor, "reward.cancel", "reward_redemption", redemption_id, program.id, details)
    return redemption_out(await redemption_row(redemption_id))


# --- inside a sale -------------------------------------------------------------------------------------


async def _rows(program: ProgramConfig, codes: list[str]) -> dict[str, dict[str, Any]]:
    wanted = list(dict.fromkeys(codes))
    rows = await fetch(
        f"SELECT * FROM reward WHERE program_id = {{}} AND code IN ({placeholders(wanted)})", program.id, *wanted
    )
    by_code = {row["code"]: row for row in rows}
    for code in wanted:
        if code not in by_code:
            raise RewardNotFound(code=code)
    return by_code


async def preview(
    program: ProgramConfig,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    codes: list[str],
    when: dt.datetime,
    now: dt.datetime,
) -> Taken:
    """The rewards of a simulated sale, checked as a purchase checks them (window, store, limit,
    stock, points) without writing anything; their coupons as they would be."""
    if not codes:
        return NOTHING
    by_code = await _rows(program, codes)
    today = when.astimezone(program.zone).date()
    uses, held = [], []
    for code, quantity in Counter(codes).items():
        row = by_code[code]
        check_redeemable(program, row, store_id, today)
        await check_limit(program, row, member_id, quantity, now)
        if row["stock"] is not None and int(row["stock"]) < quantity:
            raise RewardOutOfStock(name=row["name"], stock=int(row["stock"]), requested=quantity)
        template = await _template(row)
        for _ in range(quantity):
            uses.append(RewardUse(code, row["name"], int(row["points"])))
            held.append(_held(template, new_id(), template_code(code), member_id, today, today))
    taken = Taken(tuple(uses), tuple(held))
    available = (await MemberAccounts.load(program, member_id, now)).spendable_points()
    if taken.points > available:
        raise InsufficientPoints(requested=taken.points, available=available)
    return taken


async def take(
    program: ProgramConfig,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    codes: list[str],
    sale_id: uuid.UUID,
    when: dt.datetime,
    now: dt.datetime,
    actor: str,
) -> Taken:
    """Inside a purchase's transaction (the member locked): redeem the sale's rewards — check
    them, take their stock, spend their points (one posting of the sale), issue their coupons for
    the sale to use and record each redemption with the sale."""
    if not codes:
        return NOTHING
    by_code = await _rows(program, codes)
    today = when.astimezone(program.zone).date()
    counts = Counter(codes)
    for code in sorted(counts):  # stock rows taken in one order: two sales never wait on each other
        row = by_code[code]
        check_redeemable(program, row, store_id, today)
        await check_limit(program, row, member_id, counts[code], now)
        await take_stock(row, counts[code])
    points = sum(int(by_code[code]["points"]) for code in codes)
    names = list(dict.fromkeys(by_code[code]["name"] for code in codes))
    posting_id, _ = await _debit(program, member_id, points, store_id, sale_id, _reason(names), actor, now)
    uses, held = [], []
    for code, quantity in counts.items():
        row = by_code[code]
        template = await _template(row)
        for _ in range(quantity):
            _, coupon = await _issue(program, row, template, member_id, store_id, sale_id, posting_id, actor, now)
            uses.append(RewardUse(code, row["name"], int(row["points"]), coupon["code"]))
            first = min(coupon["valid_from"], today)  # a back-dated sale uses it on its own day
            held.append(_held(template, coupon["id"], coupon["code"], member_id, first, coupon["valid_until"]))
    return Taken(tuple(uses), tuple(held))


async def quote(
    program: ProgramConfig,
    member_id: uuid.UUID,
    store_id: uuid.UUID,
    codes: list[str],
    lines: list[LineInput],
    when: dt.datetime,
    taken: Taken,
) -> tuple[coupon_redemption.Quote, tuple[RewardUse, ...]]:
    """The sale's coupons and its rewards' coupons quoted together by the coupon engine, and each
    reward with the discount its coupon gives. A reward's coupon that cannot be used on the sale
    (the gift's product is not in it, a minimum spend not reached…) is ``RewardNotUsable``."""
    try:
        quoted = await coupon_redemption.quote(program, member_id, store_id, codes, lines, when, extra=taken.held)
    except CouponNotUsable as exc:
        names = {coupon.code: use.name for coupon, use in zip(taken.held, taken.uses, strict=True)}
        name = names.get(exc.params.get("code"))
        if name is None:
            raise
        raise RewardNotUsable(name=name, reason=Reason(exc.detail("en"), exc.detail("zh"))) from None
    discounts = [applied.discount for applied in quoted.applied[len(quoted.applied) - len(taken.held) :]]
    uses = tuple(dataclasses.replace(use, discount=off) for use, off in zip(taken.uses, discounts, strict=True))
    return quoted, uses


async def give_back_sale(
    program: ProgramConfig, accounts: MemberAccounts, sale: dict[str, Any], reason: str, actor: str, now: dt.datetime
) -> tuple[int, tuple[str, ...]]:
    """Inside the refund of a whole sale: its rewards come back — their coupons voided, their
    points given back (keeping their expiry), their stock returned. (The points, the codes.)"""
    rows = await fetch(
        _REDEMPTION_SELECT + " WHERE rr.program_id = {} AND r.program_id = {} AND c.program_id = {}"
        " AND rr.sale_id = {} AND rr.state = 'redeemed' ORDER BY rr.created_at, rr.id",
        *(program.id, program.id, program.id),
        sale["id"],
    )
    if not rows:
        return 0, ()
    ids, codes = [row["id"] for row in rows], [row["coupon"] for row in rows]
    await fetch(
        "UPDATE coupon SET state = 'void', changed_at = {} WHERE program_id = {}"
        f" AND code IN ({placeholders(codes)}) AND state = 'redeemed'",
        now,
        program.id,
        *codes,
    )
    back = f"退货退回兑换积分：{reason[:80]} / reward points returned: {reason[:80]}"
    points = await _give_back(program, accounts, rows, "reward_refund", sale["store_id"], sale["id"], back, actor, now)
    await fetch(
        f"UPDATE reward_redemption SET state = 'refunded', changed_at = {{}} WHERE program_id = {{}}"
        f" AND id IN ({placeholders(ids)})",
        now,
        program.id,
        *ids,
    )
    for row in rows:
        details = {"sale_id": str(sale["id"]), "reward": row["reward"], "points": int(row["points"])}
        await audit.record(actor, "reward.refund", "reward_redemption", row["id"], program.id, details)
    return points, tuple(row["reward"] for row in rows)
