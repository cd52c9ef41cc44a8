"""Gift cards (礼品卡): bearer cards of a program, sold as a product at the till and spent as a
payment at any of its stores.

* A sale line whose SKU is one of the program's gift-card products issues one card per unit, at
  the product's face value, in the sale's transaction (:func:`issue_for_sale`).
* A card pays part of a sale (method ``gift_card`` with its code): its balance moves by one
  conditional ``UPDATE … WHERE balance >= amount``, so two sales spending one card at once never
  overdraw it (:func:`spend_for_sale`). A card sold at one store and spent at another is owed
  between them in the settlement report, as kind ``gift_card``.
* Refunding a sale paid by gift card gives the refunded share back to the cards
  (:func:`give_back`); refunding the lines that sold cards voids that many *unused* cards and
  refuses when fewer are unused (:func:`void_refunded`).

Every card's balance is a ledger account of its own (kind ``gift_card``, no member) moved against
``system.gift_card_sold`` (issue, void) and ``system.gift_card_redeemed`` (spend, give back):
gift-card liability never mixes with members' stored value. The code (16 characters of Crockford's
base 32: 80 random bits) is kept as a keyed hash and sealed under the master key; staff see its
last four characters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import secrets
import uuid
from typing import Any

import segno
from cachetools import TTLCache

from membership.audit import service as audit
from membership.db import any_of, fetch, fetch_one, fetch_page, is_sqlite, new_id, use_case
from membership.db.engine import database_cache
from membership.errors import Reason, ValidationError
from membership.giftcards.errors import (
    GiftCardNotFound,
    GiftCardProductExists,
    GiftCardProductNotFound,
    GiftCardUsed,
    GiftCardVoid,
    InsufficientGiftCardBalance,
)
from membership.ledger.accounts import Kind
from membership.ledger.rules import LineInput
from membership.ledger.service import PostingWriter, owe, require_amount
from membership.members.personal_data import lookup_hashes, vault, vault_of
from membership.org.service import ProgramConfig

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
CODE_LENGTH = 16  # 80 random bits: guessing one of a million cards takes ~10^18 tries
MAX_CARDS_PER_SALE = 100
HASH_FIELD = "gift_card"
SKU = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PRODUCTS_CACHE_SECONDS = 5.0
STATES = ("unused", "in_use", "spent", "void")
"""A card's state as staff read it: untouched, partly spent, nothing left, or voided."""

_products = database_cache(TTLCache(maxsize=1024, ttl=PRODUCTS_CACHE_SECONDS))


# -- codes -------------------------------------------------------------------------------------


def new_code() -> str:
    """A fresh card code: :data:`CODE_LENGTH` random characters of :data:`ALPHABET`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """A code as typed or scanned (spaces and dashes ignored, any case; O read as 0, I and L as 1)
    → its canonical form; ``ValidationError`` when it cannot be one."""
    cleaned = re.sub(r"[\s-]", "", text or "").upper().translate(str.maketrans("OIL", "011"))
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        raise ValidationError(
            field="code",
            reason=Reason(
                f"a gift card code has {CODE_LENGTH} letters and digits", f"礼品卡卡号为 {CODE_LENGTH} 位字母和数字"
            ),
        )
    return cleaned


def code_hash(code: str) -> str:
    """The keyed hash a canonical code is found by (under the current master key)."""
    return vault().lookup_hash(HASH_FIELD, code)


def grouped(code: str) -> str:
    """A code as printed: groups of four (``K7M2-QH4W-PA3X-9Z8Y``)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def masked(hint: str) -> str:
    """What staff see of a code: its last four characters (``****-****-****-9Z8Y``)."""
    return "****-****-****-" + hint


def qr_svg(code: str) -> str:
    """The printed code as a QR code (error correction M), an SVG document."""
    buffer = io.BytesIO()
    segno.make_qr(grouped(code), error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, unit="px")
    return buffer.getvalue().decode()


# -- products ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Product:
    """A gift card the program sells: a line with ``sku`` issues a card of ``face_value`` per unit."""

    id: uuid.UUID
    sku: str
    name: str
    face_value: int
    active: bool


def _product(row: dict[str, Any]) -> Product:
    return Product(row["id"], row["sku"], row["name"], int(row["face_value"]), bool(row["active"]))


async def products(program_id: uuid.UUID) -> list[Product]:
    """The program's gift-card products, by SKU (retired ones too)."""
    rows = await fetch(
        "SELECT id, sku, name, face_value, active FROM gift_card_product WHERE program_id = {} ORDER BY sku",
        program_id,
    )
    return [_product(row) for row in rows]


async def on_sale(program_id: uuid.UUID) -> dict[str, Product]:
    """The program's active gift-card products by SKU (kept :data:`PRODUCTS_CACHE_SECONDS`): what
    the sale path checks each line against."""
    found = _products.get(program_id)
    if found is None:
        found = _products[program_id] = {p.sku: p for p in await products(program_id) if p.active}
    return found


def _check_product(sku: str, name: str, face_value: int) -> None:
    if not isinstance(sku, str) or not SKU.match(sku):
        raise ValidationError(
            field="sku", reason=Reason("1 to 64 letters, digits, . _ or -", "1 到 64 个字母、数字、. _ 或 -")
        )
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ValidationError(field="name", reason=Reason("1 to 100 characters", "1 到 100 个字符"))
    require_amount("face_value", face_value)


@use_case
async def save_product(
    program_id: uuid.UUID,
    sku: str,
    name: str,
    face_value: int,
    active: bool = True,
    actor: str = "system",
    create: bool = False,
) -> Product:
    """Create (``create``) or change the program's gift-card product ``sku``. A new face value
    applies to cards sold from now on; a retired product (``active`` False) sells no more cards,
    and its SKU is then an ordinary line. ``GiftCardProductExists`` / ``GiftCardProductNotFound``."""
    _check_product(sku, name, face_value)
    now = dt.datetime.now(dt.UTC)
    existing = await fetch_one("SELECT id FROM gift_card_product WHERE program_id = {} AND sku = {}", program_id, sku)
    if create and existing:
        raise GiftCardProductExists(sku=sku)
    if not create and not existing:
        raise GiftCardProductNotFound(sku=sku)
    if existing:
        product_id = existing["id"]
        await fetch(
            "UPDATE gift_card_product SET name = {}, face_value = {}, active = {}, updated_at = {}"
            " WHERE program_id = {} AND id = {}",
            name.strip(),
            face_value,
            active,
            now,
            program_id,
            product_id,
        )
    else:
        product_id = new_id()
        await fetch(
            "INSERT INTO gift_card_product (id, program_id, sku, name, face_value, active, created_at, updated_at)"
            " VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            product_id,
            program_id,
            sku,
            name.strip(),
            face_value,
            active,
            now,
            now,
        )
    details = {"sku": sku, "face_value": face_value, "active": active}
    await audit.record(actor, "gift_card_product.save", "gift_card_product", product_id, program_id, details)
    _products.pop(program_id, None)
    return Product(product_id, sku, name.strip(), face_value, active)


async def product(program_id: uuid.UUID, sku: str) -> Product:
    """The program's product ``sku``; ``GiftCardProductNotFound``."""
    for found in await products(program_id):
        if found.sku == sku:
            return found
    raise GiftCardProductNotFound(sku=sku)


# -- selling -------------------------------------------------------------------------------------


def card_lines(lines: list[LineInput], sold: dict[str, Product]) -> list[tuple[int, LineInput, Product]]:
    """(line number from 1, line, product) of each line that sells gift cards, checked: sold at
    the face value (no member price or discount on a line), at most :data:`MAX_CARDS_PER_SALE`."""
    found = [(no, line, sold[line.sku]) for no, line in enumerate(lines, 1) if line.sku in sold]
    for no, line, item in found:
        if line.amount != line.quantity * item.face_value:
            raise ValidationError(
                field=f"lines[{no}].unit_price",
                reason=Reason(
                    f"gift card {item.sku} sells at its face value {item.face_value}",
                    f"礼品卡 {item.sku} 须按面值 {item.face_value} 出售",
                ),
            )
    if sum(line.quantity for _, line, _ in found) > MAX_CARDS_PER_SALE:
        raise ValidationError(
            field="lines",
            reason=Reason(
                f"at most {MAX_CARDS_PER_SALE} gift cards a sale", f"每笔最多售出 {MAX_CARDS_PER_SALE} 张礼品卡"
            ),
        )
    return found


async def issue_for_sale(
    program: ProgramConfig,
    sale_id: uuid.UUID,
    store_id: uuid.UUID,
    lines: list[LineInput],
    now: dt.datetime,
    actor: str,
) -> int:
    """Issue the cards the sale's lines sell (one per unit, in the sale's transaction): each with
    its account credited the face value against ``system.gift_card_sold``; how many."""
    found = card_lines(lines, await on_sale(program.id))
    if not found:
        return 0
    reason = "售出礼品卡 / gift card sold"
    writer = await PostingWriter(program, "gift_card_issue", None, now, store_id, sale_id, actor, reason).open()
    sealing = vault()
    accounts: list[Any] = []
    cards: list[Any] = []
    for no, line, item in found:
        for _ in range(line.quantity):
            card_id, account_id, code = new_id(), new_id(), new_code()
            accounts += [account_id, program.id, item.face_value, now]
            cards += [
                card_id,
                program.id,
                item.id,
                account_id,
                sealing.lookup_hash(HASH_FIELD, code),
                sealing.encrypt(f"{HASH_FIELD}/{card_id}", code),
                sealing.fingerprint,
                code[-4:],
                item.face_value,
                sale_id,
                no,
                store_id,
                now,
            ]
            writer.add(account_id, item.face_value, "gift_card_sold", reason)
            await writer.contra(Kind.GIFT_CARD_SOLD, -item.face_value, "gift_card_sold", reason)
    count = len(accounts) // 4
    await fetch(
        "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at) VALUES "
        + ", ".join("({}, {}, NULL, 'gift_card', {}, {})" for _ in range(count)),
        *accounts,
    )
    await fetch(
        "INSERT INTO gift_card (id, program_id, product_id, account_id, code_hash, code_sealed, key_fp, code_hint,"
        " face_value, status, sale_id, line_no, store_id, issued_at) VALUES "
        + ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, 'active', {}, {}, {}, {})" for _ in range(count)),
        *cards,
    )
    await writer.close()
    return count


@dataclasses.dataclass(frozen=True)
class IssuedCard:
    """A card as the answer that sold it shows it: the whole code (grouped) and its QR code."""

    id: uuid.UUID
    code: str
    masked: str
    sku: str
    face_value: int
    balance: int
    qr_svg: str


async def sold_by(program_id: uuid.UUID, sale_id: uuid.UUID) -> list[IssuedCard]:
    """The cards a sale of the program sold, codes unsealed: only for the answer that sold them
    (or its idempotent replay), which the till prints; nothing else shows a whole code."""
    rows = await fetch(
        "SELECT g.id, g.code_sealed, g.key_fp, g.code_hint, g.face_value, p.sku, a.balance FROM gift_card g"
        " JOIN gift_card_product p ON p.program_id = g.program_id AND p.id = g.product_id"
        " JOIN ledger_account a ON a.program_id = g.program_id AND a.id = g.account_id"
        " WHERE g.program_id = {} AND g.sale_id = {} ORDER BY g.line_no, g.id",
        program_id,
        sale_id,
    )
    issued = []
    for row in rows:
        code = vault_of(row["key_fp"]).decrypt(f"{HASH_FIELD}/{row['id']}", row["code_sealed"])
        issued.append(
            IssuedCard(
                row["id"],
                grouped(code),
                masked(row["code_hint"]),
                row["sku"],
                int(row["face_value"]),
                int(row["balance"]),
                qr_svg(code),
            )
        )
    return issued


# -- spending ------------------------------------------------------------------------------------

_CARD = (
    "SELECT g.id, g.program_id, g.account_id, g.code_hint, g.face_value, g.status, g.store_id, g.sale_id,"
    " g.issued_at, g.voided_at, p.sku, p.name, a.balance FROM gift_card g"
    " JOIN gift_card_product p ON p.program_id = g.program_id AND p.id = g.product_id"
    " JOIN ledger_account a ON a.program_id = g.program_id AND a.id = g.account_id"
)


async def find(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """The program's card with ``code`` (as typed or scanned), with its balance;
    ``GiftCardNotFound`` (also for another program's card)."""
    condition, hashes = any_of("g.code_hash", lookup_hashes(HASH_FIELD, normalize_code(code)))
    row = await fetch_one(f"{_CARD} WHERE {condition} AND g.program_id = {{}}", hashes, program_id)
    if row is None:
        raise GiftCardNotFound()
    return row


def state(row: dict[str, Any]) -> str:
    """A card's state (:data:`STATES`) from its row."""
    if row["status"] == "void":
        return "void"
    if row["balance"] == 0:
        return "spent"
    return "unused" if row["balance"] == row["face_value"] else "in_use"


def usable(row: dict[str, Any], amount: int) -> None:
    """Refuse a card that cannot pay ``amount``: ``GiftCardVoid``, ``InsufficientGiftCardBalance``."""
    if row["status"] == "void":
        raise GiftCardVoid(hint=row["code_hint"])
    if row["balance"] < amount:
        raise InsufficientGiftCardBalance(hint=row["code_hint"], requested=amount, available=int(row["balance"]))


async def check_payments(program_id: uuid.UUID, payments: list[tuple[str, int]]) -> None:
    """Check (code, amount) gift-card payments without spending (a simulation): each card
    exists, is not void and holds what all the payments with it ask."""
    wanted: dict[uuid.UUID, int] = {}
    for code, amount in payments:
        row = await find(program_id, code)
        wanted[row["id"]] = wanted.get(row["id"], 0) + amount
        usable(row, wanted[row["id"]])


async def spend_for_sale(
    program: ProgramConfig,
    payments: list[tuple[str, int]],
    store_id: uuid.UUID,
    sale_id: uuid.UUID,
    now: dt.datetime,
    actor: str,
) -> None:
    """Take the sale's gift-card payments ((code, amount) pairs) from the cards, in one posting
    against ``system.gift_card_redeemed``; each by a conditional update that refuses to overdraw,
    so concurrent sales on one card are safe. A card sold at another store: that store owes this
    one the amount (settlement kind ``gift_card``)."""
    reason = "礼品卡支付 / paid with gift card"
    writer = await PostingWriter(program, "gift_card_pay", None, now, store_id, sale_id, actor, reason).open()
    for code, amount in payments:
        card = await find(program.id, code)
        usable(card, amount)
        row = await fetch_one(
            "UPDATE ledger_account SET balance = balance - {}, updated_at = {} WHERE program_id = {} AND id = {}"
            " AND balance >= {} RETURNING balance",
            amount,
            now,
            program.id,
            card["account_id"],
            amount,
        )
        if row is None:  # another sale spent it meanwhile, or it was voided: read it again
            usable(await find(program.id, code), amount)
            raise InsufficientGiftCardBalance(hint=card["code_hint"], requested=amount, available=0)
        writer.add(card["account_id"], -amount, "pay", reason)
        await writer.contra(Kind.GIFT_CARD_REDEEMED, amount, "pay", reason)
        await owe(writer, Kind.GIFT_CARD, card["store_id"], amount)
    await writer.close()


async def give_back(
    program: ProgramConfig,
    sale_id: uuid.UUID,
    store_id: uuid.UUID,
    amount: int,
    now: dt.datetime,
    actor: str,
    reason: str,
) -> None:
    """Give ``amount`` of a refunded sale's gift-card payments back to the cards it was taken from
    (what earlier refunds gave back is not given twice), against ``system.gift_card_redeemed``;
    what the cards' stores owed this one for it is taken back from the settlement."""
    rows = await fetch(
        "SELECT g.account_id, g.store_id, CAST(SUM(-e.amount) AS BIGINT) AS left_to_return FROM ledger_entry e"
        " JOIN ledger_posting p ON p.program_id = e.program_id AND p.id = e.posting_id"
        " JOIN gift_card g ON g.program_id = e.program_id AND g.account_id = e.account_id"
        " WHERE e.program_id = {} AND p.sale_id = {} AND p.kind IN ('gift_card_pay', 'gift_card_back')"
        " GROUP BY g.account_id, g.store_id ORDER BY g.account_id",
        program.id,
        sale_id,
    )
    writer = await PostingWriter(program, "gift_card_back", None, now, store_id, sale_id, actor, reason).open()
    for row in rows:
        part = min(amount, int(row["left_to_return"]))
        if part <= 0:
            continue
        amount -= part
        await fetch(
            "UPDATE ledger_account SET balance = balance + {}, updated_at = {} WHERE program_id = {} AND id = {}",
            part,
            now,
            program.id,
            row["account_id"],
        )
        writer.add(row["account_id"], part, "refund", reason)
        await writer.contra(Kind.GIFT_CARD_REDEEMED, -part, "refund", reason)
        await owe(writer, Kind.GIFT_CARD, row["store_id"], -part)
    await writer.close()


async def void_refunded(
    program: ProgramConfig,
    sale_id: uuid.UUID,
    store_id: uuid.UUID,
    refunded: list[tuple[int, int]],
    now: dt.datetime,
    actor: str,
    reason: str,
) -> tuple[str, ...]:
    """Void the cards refunded lines sold: for each (line number, quantity) that sold gift cards,
    that many of its unused cards (latest first), their face value back against
    ``system.gift_card_sold``. A card spent from is never voided: ``GiftCardUsed`` when fewer
    cards of the line are unused than refunded (nothing is refunded then). The masked codes."""
    cards = await fetch(
        "SELECT g.id, g.account_id, g.line_no, g.face_value, g.code_hint, a.balance FROM gift_card g"
        " JOIN ledger_account a ON a.program_id = g.program_id AND a.id = g.account_id WHERE g.program_id = {} AND"
        " a.program_id = {}"
        " AND g.sale_id = {} AND g.status = 'active' ORDER BY g.issued_at DESC, g.id DESC",
        program.id,
        program.id,
        sale_id,
    )
    chosen = []
    for line_no, quantity in refunded:
        of_line = [c for c in cards if c["line_no"] == line_no]
        if not of_line:
            continue  # not a gift-card line (its cards still active are the units not refunded yet)
        unused = [c for c in of_line if c["balance"] == c["face_value"]]
        if quantity > len(unused):
            raise GiftCardUsed(line_no=line_no, unused=len(unused), requested=quantity)
        chosen += [(line_no, quantity, card) for card in unused[:quantity]]
    if not chosen:
        return ()
    writer = await PostingWriter(program, "gift_card_void", None, now, store_id, sale_id, actor, reason).open()
    for line_no, quantity, card in chosen:
        row = await fetch_one(
            "UPDATE ledger_account SET balance = 0, updated_at = {} WHERE program_id = {} AND id = {} AND balance = {}"
            " RETURNING id",
            now,
            program.id,
            card["account_id"],
            card["face_value"],
        )
        if row is None:  # spent by a sale that committed meanwhile
            raise GiftCardUsed(line_no=line_no, unused=quantity - 1, requested=quantity)
        await fetch(
            "UPDATE gift_card SET status = 'void', voided_at = {} WHERE program_id = {} AND id = {}",
            now,
            program.id,
            card["id"],
        )
        writer.add(card["account_id"], -int(card["face_value"]), "gift_card_void", reason)
        await writer.contra(Kind.GIFT_CARD_SOLD, int(card["face_value"]), "gift_card_void", reason)
        await audit.record(actor, "gift_card.void", "gift_card", card["id"], program.id, {"sale_id": str(sale_id)})
    await writer.close()
    return tuple(masked(card["code_hint"]) for _, _, card in chosen)


async def lines_sold(program_id: uuid.UUID, sale_id: uuid.UUID) -> set[int]:
    """The numbers of the lines of a sale of the program that sold gift cards."""
    rows = await fetch(
        "SELECT DISTINCT line_no FROM gift_card WHERE program_id = {} AND sale_id = {}", program_id, sale_id
    )
    return {int(row["line_no"]) for row in rows}


# -- key rotation --------------------------------------------------------------------------------


@use_case
async def reseal_chunk(current: str, size: int, program_id: uuid.UUID) -> int:
    """Move the program's next ``size`` cards sealed under another master key to the current one
    (``current`` its fingerprint): the code sealed again and its keyed hash recomputed, so a card
    still pays once the old key is retired (``membership keys rotate``); how many moved."""
    lock = "" if is_sqlite() else " FOR NO KEY UPDATE"
    rows = await fetch(
        "SELECT id, code_sealed, key_fp FROM gift_card WHERE program_id = {} AND key_fp <> {}"
        f" ORDER BY id LIMIT {{}}{lock}",
        program_id,
        current,
        size,
    )
    sealing = vault()
    for row in rows:
        field = f"{HASH_FIELD}/{row['id']}"
        code = vault_of(row["key_fp"]).decrypt(field, row["code_sealed"])
        await fetch(
            "UPDATE gift_card SET code_sealed = {}, code_hash = {}, key_fp = {} WHERE program_id = {} AND id = {}",
            sealing.encrypt(field, code),
            sealing.lookup_hash(HASH_FIELD, code),
            sealing.fingerprint,
            program_id,
            row["id"],
        )
    return len(rows)


# -- reading -------------------------------------------------------------------------------------


def card_view(row: dict[str, Any]) -> dict[str, Any]:
    """A card as staff and clients may see it: masked code, product, status (:data:`STATES`), face
    value, balance."""
    return {
        "id": row["id"],
        "code": masked(row["code_hint"]),
        "sku": row["sku"],
        "name": row["name"],
        "status": state(row),
        "face_value": int(row["face_value"]),
        "balance": int(row["balance"]),
        "issued_at": row["issued_at"],
        "voided_at": row["voided_at"],
        "store_id": row["store_id"],
    }


async def balance(program_id: uuid.UUID, code: str) -> dict[str, Any]:
    """A card's balance and state by its code (:func:`card_view`); ``GiftCardNotFound``."""
    return card_view(await find(program_id, code))


async def cards_page(
    program_id: uuid.UUID, page: int = 1, page_size: int = 50, state_filter: str = ""
) -> tuple[list[dict[str, Any]], int]:
    """The program's cards, latest sold first (:func:`card_view` each), optionally in one state,
    and how many there are."""
    if page < 1 or not 1 <= page_size <= 500:
        raise ValidationError(
            field="page", reason=Reason("page ≥ 1 and 1 ≤ page_size ≤ 500", "须 page ≥ 1 且 1 ≤ page_size ≤ 500")
        )
    conditions = {
        "": "",
        "void": " AND g.status = 'void'",
        "spent": " AND g.status = 'active' AND a.balance = 0",
        "unused": " AND g.status = 'active' AND a.balance = g.face_value",
        "in_use": " AND g.status = 'active' AND a.balance > 0 AND a.balance < g.face_value",
    }
    if state_filter not in conditions:
        raise ValidationError(field="status", reason=Reason(f"one of {STATES}", f"只能是 {STATES} 之一"))
    rows, total = await fetch_page(
        f"{_CARD.replace('SELECT ', 'SELECT COUNT(*) OVER () AS listed, ', 1)} WHERE g.program_id = {{}}"
        f"{conditions[state_filter]} ORDER BY g.issued_at DESC, g.id DESC",
        program_id,
        page=page,
        page_size=page_size,
    )
    return [card_view(row) for row in rows], total


@dataclasses.dataclass(frozen=True)
class Liability:
    """The program's gift cards in money (minor units): sold (net of voids), spent (net of what
    refunds gave back) and still held on the cards (``outstanding = sold - spent``)."""

    cards: int
    sold: int
    spent: int
    outstanding: int


async def liability(program_id: uuid.UUID) -> Liability:
    """What the program's gift cards were sold for, spent and still hold: from the contra
    accounts' entries and the cards' balances (which must agree: ``outstanding``)."""
    row = await fetch_one(
        "SELECT (SELECT COUNT(*) FROM gift_card WHERE program_id = {}) AS cards,"
        " (SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_account"
        " WHERE program_id = {} AND kind = 'gift_card') AS outstanding,"
        " (SELECT CAST(COALESCE(SUM(-e.amount), 0) AS BIGINT) FROM ledger_entry e"
        " JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id WHERE a.program_id = {} AND"
        " a.member_id IS NULL"
        " AND a.kind = 'system.gift_card_sold') AS sold,"
        " (SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entry e"
        " JOIN ledger_account a ON a.program_id = e.program_id AND a.id = e.account_id WHERE a.program_id = {} AND"
        " a.member_id IS NULL"
        " AND a.kind = 'system.gift_card_redeemed') AS spent",
        program_id,
        program_id,
        program_id,
        program_id,
    )
    return Liability(int(row["cards"]), int(row["sold"]), int(row["spent"]), int(row["outstanding"]))
