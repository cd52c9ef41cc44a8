"""Stamp cards (集点卡): buy N qualifying items, get a reward coupon (买 10 杯送 1 杯).

A **scheme** says which items earn stamps (SKUs, categories or labels of a sale's lines), how many
stamps an item gives, how many fill a card, the coupon template the reward is issued from, how
many days a card lasts from its first stamp, and from when sales count. Each member has one
current **card** per scheme; every change to it is an **entry** (earn, refund, expire, reward).

How stamps follow the purchases. The pack reacts to the kernel's ``purchase.recorded`` and
``sale.refunded`` events, after the till's transaction committed: a stamp card never slows or
fails a till. Both events lead to one reconciliation of the sale (:func:`settle_sale`), which
brings the sale's entries to what its lines say now:

* a qualifying line not yet stamped earns ``(quantity - refunded) × stamps_per_item`` stamps, once:
  a unique index on (scheme, sale, line) makes a second earn impossible;
* refunded units not yet taken back give their stamps back — from the current card, also when
  the stamps were already turned into a reward (the card then goes below 0, a debt the next
  stamps repay), but not when the card they were on ran out (the member lost them already);
* a card with enough stamps is turned into a coupon through the kernel's coupon templates, once
  per card (the coupon's occasion names the scheme and the card number), and the stamps over the
  mark start the next card. When the coupon cannot be issued (template retired or missing, the
  member at its limit) the card stays full and the reward waits: the next stamp or the daily job
  ``catering-stamp-cards`` tries again. A full card never expires.

Delivery is at least once and two purchases of one member may be delivered at the same time: the
listener skips an event id it handled (``catering_event``), the reconciliation is idempotent, and
the member's card row is locked (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; SQLite runs one write
transaction at a time) while a sale changes it, so concurrent purchases never give a stamp twice
or skip a reward. The order of the two events does not matter either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from membership.plugin import (
    MembershipError,
    ProgramConfig,
    Reason,
    ValidationError,
    conflict_target,
    coupon_templates,
    execute,
    fetch,
    fetch_one,
    get_program,
    is_sqlite,
    issue_coupon,
    new_id,
    use_case,
)
from membership_catering.errors import StampSchemeNotFound
from membership_catering.values import as_list, check_code, now, to_json

Item = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
OCCASION = "catering-stamps"
ACTOR = "catering"


class SchemeTerms(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a stamp card says. ``starts_on`` (local date): sales before it earn nothing (None: from
    when the card is added; unchanged on a change). ``valid_days``: a card runs out this many days
    after its first stamp (None: never)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    skus: Annotated[list[Item], msgspec.Meta(max_length=200)] = []
    categories: Annotated[list[Item], msgspec.Meta(max_length=50)] = []
    labels: Annotated[list[Item], msgspec.Meta(max_length=50)] = []
    stamps_per_item: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    stamps_needed: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    reward_template: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] | None = None
    starts_on: dt.date | None = None
    active: bool = True


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _scheme_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _uuid(row["id"]),
        "code": row["code"],
        "name": row["name"],
        "skus": as_list(row["skus"]),
        "categories": as_list(row["categories"]),
        "labels": as_list(row["labels"]),
        "stamps_per_item": int(row["stamps_per_item"]),
        "stamps_needed": int(row["stamps_needed"]),
        "reward_template": row["reward_template"],
        "valid_days": row["valid_days"],
        "starts_at": row["starts_at"],
        "active": bool(row["active"]),
        "updated_by": row["updated_by"],
        "updated_at": row["updated_at"],
    }


async def check_terms(program: ProgramConfig, data: dict[str, Any]) -> SchemeTerms:
    """``data`` as checked terms: it names what earns, and its reward is an active template."""
    try:
        terms = msgspec.convert(data, SchemeTerms)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        raise ValidationError(field=path.rstrip("`").lstrip(".") or "stamp card", reason=reason) from None
    if not (terms.skus or terms.categories or terms.labels):
        raise ValidationError(
            field="skus",
            reason=Reason("name the SKUs, categories or labels that earn stamps", "请填写集点的商品编码、品类或标签"),
        )
    templates, _ = await coupon_templates(program.id, False, 1, 1000)
    if terms.reward_template not in {t["code"] for t in templates}:
        raise ValidationError(
            field="reward_template",
            reason=Reason(
                "not an active coupon template of the program", "不是本方案可用的优惠券模板（请先在“优惠券”中创建）"
            ),
        )
    return terms


async def list_schemes(program_id: uuid.UUID) -> list[dict[str, Any]]:
    """The program's stamp cards by code, retired ones included."""
    rows = await fetch("SELECT * FROM catering_stamp_scheme WHERE program_id = {} ORDER BY code", program_id)
    return [_scheme_out(row) for row in rows]


async def get_scheme(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """One stamp card; ``StampSchemeNotFound`` when the program has none of that code."""
    row = await fetch_one("SELECT * FROM catering_stamp_scheme WHERE program_id = {} AND code = {}", program_id, code)
    if row is None:
        raise StampSchemeNotFound(code=code)
    return _scheme_out(row)


@use_case
async def save_scheme(program_id: uuid.UUID, code: str, data: dict[str, Any], actor: str) -> dict[str, Any]:
    """Add the stamp card ``code`` or change its terms (``active: false`` retires it: sales stop
    earning its stamps, refunds still take theirs back); returns it."""
    check_code(code)
    program = await get_program(program_id)
    terms = await check_terms(program, data)
    at = now()
    starts_at = None
    if terms.starts_on is not None:
        starts_at = dt.datetime.combine(terms.starts_on, dt.time(), program.zone).astimezone(dt.UTC)
    values = [
        terms.name,
        to_json(terms.skus),
        to_json(terms.categories),
        to_json(terms.labels),
        terms.stamps_per_item,
        terms.stamps_needed,
        terms.reward_template,
        terms.valid_days,
        terms.active,
        actor[:100],
        at,
    ]
    changed = await fetch(
        "UPDATE catering_stamp_scheme SET name = {}, skus = {}, categories = {}, labels = {}, stamps_per_item = {},"
        " stamps_needed = {}, reward_template = {}, valid_days = {}, active = {}, updated_by = {}, updated_at = {},"
        " starts_at = COALESCE({}, starts_at) WHERE program_id = {} AND code = {} RETURNING id",
        *values,
        starts_at,
        program_id,
        code,
    )
    if not changed:
        await execute(
            "INSERT INTO catering_stamp_scheme (name, skus, categories, labels, stamps_per_item, stamps_needed,"
            " reward_template, valid_days, active, updated_by, updated_at, id, program_id, code, starts_at,"
            " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            *values,
            new_id(),
            program_id,
            code,
            starts_at or at,
            at,
        )
    return await get_scheme(program_id, code)


def qualifies(scheme: dict[str, Any], line: dict[str, Any]) -> bool:
    """Whether a sale line earns the scheme's stamps (its SKU, category or one of its labels)."""
    return (
        line["sku"] in scheme["skus"]
        or (bool(line["category"]) and line["category"] in scheme["categories"])
        or bool(set(line["labels"]) & set(scheme["labels"]))
    )


# -- a member's card ---------------------------------------------------------------------------


@dataclasses.dataclass
class Card:
    """A member's current card of a scheme, locked for the transaction changing it."""

    id: uuid.UUID
    program_id: uuid.UUID
    scheme: dict[str, Any]
    member_id: uuid.UUID
    card_no: int
    stamps: int
    started_at: dt.datetime | None
    expires_at: dt.datetime | None
    entries: list[list[Any]] = dataclasses.field(default_factory=list)

    def note(
        self,
        kind: str,
        stamps: int,
        at: dt.datetime,
        *,
        card_no: int | None = None,
        quantity: int = 0,
        per_item: int = 0,
        sale_id: uuid.UUID | None = None,
        line_no: int | None = None,
        coupon_code: str | None = None,
    ) -> None:
        """Remember an entry, written with the card."""
        self.entries.append(
            [
                new_id(),
                self.program_id,
                self.scheme["id"],
                self.member_id,
                card_no or self.card_no,
                kind,
                stamps,
                quantity,
                per_item,
                sale_id,
                line_no,
                coupon_code,
                at,
            ]
        )

    def start(self, at: dt.datetime) -> None:
        """The card's first stamp: it runs out ``valid_days`` later."""
        days = self.scheme["valid_days"]
        self.started_at = at
        self.expires_at = at + dt.timedelta(days=days) if days else None

    def full(self) -> bool:
        """Enough stamps for a reward (a full card waits for its reward and never runs out)."""
        return self.stamps >= self.scheme["stamps_needed"]

    def expire_if_due(self, at: dt.datetime) -> None:
        """End the card when ``at`` is past its last moment: its stamps are lost (a debt is
        not: it moves to the next card)."""
        if self.expires_at is None or at <= self.expires_at or self.full():
            return
        lost = max(self.stamps, 0)
        self.note("expire", -lost, self.expires_at)
        self.stamps -= lost
        self.card_no += 1
        self.started_at = self.expires_at = None

    async def reward(self, at: dt.datetime) -> None:
        """Turn every full card into its coupon; stop (the reward waits) when none is issued."""
        needed = self.scheme["stamps_needed"]
        while self.full():
            occasion = f"{OCCASION}:{self.scheme['id']}:{self.card_no}"
            try:
                coupon = await issue_coupon(
                    self.program_id, self.scheme["reward_template"], self.member_id, occasion, ACTOR, at
                )
            except MembershipError:  # refused before any statement failed: the transaction goes on
                coupon = None
            if coupon is None:
                return
            self.note("reward", -needed, at, coupon_code=coupon["code"])
            self.stamps -= needed
            self.card_no += 1
            self.started_at = self.expires_at = None
            if self.stamps > 0:
                self.start(at)

    async def save(self) -> None:
        """Write the card and its entries."""
        at = now()
        await execute(
            "UPDATE catering_stamp_card SET card_no = {}, stamps = {}, started_at = {}, expires_at = {},"
            " updated_at = {} WHERE program_id = {} AND id = {}",
            self.card_no,
            self.stamps,
            self.started_at,
            self.expires_at,
            at,
            self.program_id,
            self.id,
        )
        if self.entries:
            marks = ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in self.entries)
            await execute(
                "INSERT INTO catering_stamp_entry (id, program_id, scheme_id, member_id, card_no, kind, stamps,"
                f" quantity, per_item, sale_id, line_no, coupon_code, occurred_at, created_at) VALUES {marks}",
                *(value for entry in self.entries for value in [*entry, at]),
            )
            self.entries = []


async def locked_card(program_id: uuid.UUID, scheme: dict[str, Any], member_id: uuid.UUID) -> Card:
    """The member's card of the scheme (a new, empty one the first time), locked until the
    transaction ends."""
    await execute(
        "INSERT INTO catering_stamp_card (id, program_id, scheme_id, member_id, card_no, stamps, updated_at)"
        " VALUES ({}, {}, {}, {}, 1, 0, {}) ON CONFLICT "
        + await conflict_target("scheme_id", "member_id")
        + " DO NOTHING",
        new_id(),
        program_id,
        scheme["id"],
        member_id,
        now(),
    )
    lock = "" if is_sqlite() else " FOR NO KEY UPDATE"
    row = await fetch_one(
        "SELECT id, card_no, stamps, started_at, expires_at FROM catering_stamp_card"
        f" WHERE program_id = {{}} AND scheme_id = {{}} AND member_id = {{}}{lock}",
        program_id,
        scheme["id"],
        member_id,
    )
    assert row is not None
    return Card(
        _uuid(row["id"]),
        program_id,
        scheme,
        member_id,
        int(row["card_no"]),
        int(row["stamps"]),
        row["started_at"],
        row["expires_at"],
    )


# -- settling a sale ---------------------------------------------------------------------------


async def _schemes_of(sale: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """The schemes the sale may concern, each with whether it earns on the sale: active ones
    started by the time of the sale (they earn), and any that stamped it before (refunds)."""
    rows = await fetch(
        "SELECT * FROM catering_stamp_scheme WHERE program_id = {} AND ((active = {} AND starts_at <= {})"
        " OR id IN (SELECT scheme_id FROM catering_stamp_entry WHERE sale_id = {})) ORDER BY code",
        sale["program_id"],
        True,
        sale["occurred_at"],
        sale["id"],
    )
    return [(_scheme_out(row), bool(row["active"]) and row["starts_at"] <= sale["occurred_at"]) for row in rows]


async def settle_sale(sale: dict[str, Any], rewarded_at: dt.datetime | None = None) -> int:
    """Bring the sale's stamps to what its lines say now (see the module's text); inside the
    caller's use case. ``sale`` is the kernel's ``get_sale`` answer. Returns the stamps it moved
    (earned minus taken back)."""
    moved = 0
    for scheme, earns in await _schemes_of(sale):
        lines = [line for line in sale["lines"] if earns and qualifies(scheme, line)]
        stamped = await fetch_one(
            "SELECT id FROM catering_stamp_entry WHERE sale_id = {} AND scheme_id = {} LIMIT 1",
            sale["id"],
            scheme["id"],
        )
        if not lines and stamped is None:
            continue
        card = await locked_card(sale["program_id"], scheme, sale["member_id"])
        entries = await fetch(  # read under the card's lock: what a concurrent settle wrote is seen
            "SELECT line_no, kind, quantity, per_item, card_no FROM catering_stamp_entry"
            " WHERE sale_id = {} AND scheme_id = {} AND kind IN ('earn', 'refund')",
            sale["id"],
            scheme["id"],
        )
        moved += await _settle_card(card, sale, lines, entries, rewarded_at or sale["occurred_at"])
    return moved


async def _settle_card(
    card: Card, sale: dict[str, Any], lines: list[dict[str, Any]], entries: list[dict[str, Any]], at: dt.datetime
) -> int:
    scheme, when, moved = card.scheme, sale["occurred_at"], 0
    earned = {row["line_no"]: row for row in entries if row["kind"] == "earn"}
    taken: dict[int, int] = {}
    for row in entries:
        if row["kind"] == "refund":
            taken[row["line_no"]] = taken.get(row["line_no"], 0) + int(row["quantity"])
    for line in lines:
        units = line["quantity"] - line["refunded_quantity"]
        if line["line_no"] in earned or units <= 0:
            continue
        card.expire_if_due(when)
        if card.started_at is None:
            card.start(when)
        stamps = units * scheme["stamps_per_item"]
        card.stamps += stamps
        moved += stamps
        per_item = scheme["stamps_per_item"]
        card.note("earn", stamps, when, quantity=units, per_item=per_item, sale_id=sale["id"], line_no=line["line_no"])
    by_no = {line["line_no"]: line for line in sale["lines"]}
    for line_no, earn in sorted(earned.items()):
        line = by_no.get(line_no)
        if line is None:
            continue
        due = line["refunded_quantity"] - (line["quantity"] - int(earn["quantity"])) - taken.get(line_no, 0)
        if due <= 0:
            continue
        back = due * int(earn["per_item"])
        if int(earn["card_no"]) != card.card_no and not await _rewarded(card, int(earn["card_no"])):
            back = 0  # the card those stamps were on ran out: the member lost them already
        card.stamps -= back
        moved -= back
        per_item = int(earn["per_item"])
        card.note("refund", -back, now(), quantity=due, per_item=per_item, sale_id=sale["id"], line_no=line_no)
    await card.reward(at)
    await card.save()
    return moved


async def _rewarded(card: Card, card_no: int) -> bool:
    """Whether the member's card ``card_no`` of the scheme ended in a reward (not by running out)."""
    row = await fetch_one(
        "SELECT id FROM catering_stamp_entry WHERE scheme_id = {} AND member_id = {} AND card_no = {}"
        " AND kind = 'reward' LIMIT 1",
        card.scheme["id"],
        card.member_id,
        card_no,
    )
    return row is not None


# -- reading -----------------------------------------------------------------------------------


async def member_cards(
    program_id: uuid.UUID, member_id: uuid.UUID, at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The member's cards, one per active scheme (and per retired one they hold stamps of):
    ``stamps`` now (0 on a card that ran out), ``stamps_needed``, ``card_no``, ``expires_at``,
    ``rewards`` (coupons earned so far) and ``reward_waiting`` (a full card whose coupon could not
    be issued yet)."""
    at = at or now()
    rows = await fetch(
        "SELECT s.id, s.code, s.name, s.stamps_needed, s.reward_template, s.active, c.card_no, c.stamps,"
        " c.expires_at, (SELECT COUNT(*) FROM catering_stamp_entry e"
        " WHERE e.program_id = s.program_id AND e.scheme_id = s.id"
        " AND e.member_id = {} AND e.kind = 'reward') AS rewards"
        " FROM catering_stamp_scheme s LEFT JOIN catering_stamp_card c ON c.program_id = s.program_id AND"
        " c.scheme_id = s.id AND c.member_id = {}"
        " WHERE s.program_id = {} AND (s.active = {} OR c.stamps <> 0) ORDER BY s.code",
        member_id,
        member_id,
        program_id,
        True,
    )
    cards = []
    for row in rows:
        stamps = int(row["stamps"] or 0)
        needed = int(row["stamps_needed"])
        ran_out = row["expires_at"] is not None and row["expires_at"] < at and 0 < stamps < needed
        cards.append(
            {
                "scheme": row["code"],
                "name": row["name"],
                "card_no": int(row["card_no"] or 1),
                "stamps": 0 if ran_out else stamps,
                "stamps_needed": needed,
                "expires_at": None if ran_out else row["expires_at"],
                "rewards": int(row["rewards"]),
                "reward_waiting": stamps >= needed,
                "reward_template": row["reward_template"],
                "active": bool(row["active"]),
            }
        )
    return cards


async def member_history(member_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """The member's latest stamp entries, newest first, with the scheme's name."""
    return await fetch(
        "SELECT e.kind, e.stamps, e.quantity, e.card_no, e.coupon_code, e.occurred_at, e.sale_id, s.name"
        " FROM catering_stamp_entry e JOIN catering_stamp_scheme s ON s.program_id = e.program_id AND s.id ="
        " e.scheme_id"
        " WHERE e.member_id = {} ORDER BY e.created_at DESC, e.occurred_at DESC LIMIT {}",
        member_id,
        limit,
    )


# -- the daily job -----------------------------------------------------------------------------


async def due_cards(at: dt.datetime, after: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
    """Cards (by id, after ``after``) that ran out by ``at`` with stamps on them, and full cards
    waiting for a reward."""
    since = "" if after is None else " AND c.id > {}"
    return await fetch(
        "SELECT c.id, c.program_id, c.scheme_id, c.member_id FROM catering_stamp_card c"
        " JOIN catering_stamp_scheme s ON s.program_id = c.program_id AND s.id = c.scheme_id"
        " WHERE ((c.expires_at < {} AND c.stamps > 0 AND c.stamps < s.stamps_needed) OR c.stamps >= s.stamps_needed)"
        f"{since} ORDER BY c.id LIMIT {{}}",
        at,
        *([] if after is None else [after]),
        limit,
    )


@use_case
async def tend_cards(cards: list[dict[str, Any]], at: dt.datetime) -> tuple[int, int]:
    """End the given cards that ran out and issue the rewards full ones wait for; returns
    (cards ended, rewards issued)."""
    ended = rewarded = 0
    for due in cards:
        row = await fetch_one("SELECT * FROM catering_stamp_scheme WHERE id = {}", due["scheme_id"])
        if row is None:
            continue
        scheme = _scheme_out(row)
        card = await locked_card(_uuid(due["program_id"]), scheme, _uuid(due["member_id"]))
        before = card.card_no
        card.expire_if_due(at)
        ended += card.card_no - before
        before = card.card_no
        await card.reward(at)
        rewarded += card.card_no - before
        await card.save()
    return ended, rewarded
