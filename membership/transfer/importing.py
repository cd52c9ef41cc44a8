"""Bringing members in from a file (会员导入): a business's first task.

A CSV or Excel file is read a row at a time (memory stays flat) and taken in chunks. Each row is
read and checked in Python (phone, dates solar or lunar, amounts in yuan read as decimals and
turned into fen, tier, store) and its personal data sealed as enrolment seals it: a data key per
member, phone / e-mail / ID number / address / card values sealed under it, keyed hashes beside
them. Reading and sealing run in reading processes (forked, so they share the program, the keys
and the plugins; a thread where processes cannot fork) while this process writes the chunks before.
Then one transaction per chunk, each table's rows by the driver's bulk path (``executemany`` on
SQLite, ``COPY`` on PostgreSQL: :func:`membership.db.sql.insert_rows`):

* duplicates are found by their keyed hashes, inside the chunk and against the database (which
  holds the earlier chunks too): the same phone, card, e-mail or ID number is imported once;
  a row already in the database is reported as "already imported", so running the same file
  again adds nothing;
* members, their six ledger accounts and their cards are inserted;
* opening balances (points, stored value, growth) are one ``import`` posting per chunk with the
  reason "导入期初余额 / imported opening balance": an entry per member account and one per
  contra account, so every balance equals the sum of its entries; points become a lot that
  expires as the program's policy says from now, stored value a lot of the store;
* a tier given in the file is set (history reason ``import``) for one period; without one, the
  tier the imported growth qualifies for.

Rows that cannot be imported (a bad phone, date or amount, a duplicate) go to an error file that
names the row and why, in Chinese and English, beside the row's cells: fix it and import the
error file itself. The good rows still land. Imported members receive no welcome points and no
``member.enrolled`` event (they are not new to the business); each chunk emits one
``members.imported`` event with their ids.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import gc
import json
import multiprocessing
import os
import secrets
import struct
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from membership.audit import service as audit
from membership.db import (
    any_of,
    emit,
    execute,
    fetch,
    is_sqlite,
    job_chunk,
    use_case,
)
from membership.db.engine import SQLITE_CACHE_KIB
from membership.db.ids import new_id_text
from membership.db.references import may_skip_reference_checks, proven_references
from membership.db.sql import insert_rows
from membership.errors import MembershipError, Reason, StoreNotFound, ValidationError
from membership.events import Event
from membership.jobs.interface import Pace, frozen_heap
from membership.ledger.accounts import MEMBER_KINDS, Kind
from membership.ledger.service import system_account
from membership.members import personal_data as pd
from membership.members.birthdays import check_birthday
from membership.members.credentials import credential_kind
from membership.org.service import ProgramConfig, get_program, list_stores
from membership.plugins import hooks
from membership.tiers.policy import TierMetrics, tier_config
from membership.transfer import columns as cols
from membership.transfer import values
from membership.transfer.errors import (
    AlreadyImported,
    ColumnMappingInvalid,
    DuplicateInFile,
    ImportFileUnreadable,
    RowUnidentified,
    UnknownTier,
)
from membership.transfer.sheets import SheetReader, SheetWriter, file_format

CHUNK_ROWS = 5000
READERS = 2  # reading processes at most (one per core)
IMPORT_CACHE_KIB = 131_072  # SQLite: the writer's page cache while an import runs (128 MiB)
REASON = "导入期初余额 / imported opening balance"
ENTRY_REASON = "导入期初余额 / imported"
SOURCE = "import"
ERROR_HEADERS = ["行号 row", "原因", "reason"]
Progress = Callable[[int, int | None], None]

_WHAT = {
    "phone": Reason("phone", "手机号"),
    "card": Reason("card number", "卡号"),
    "email": Reason("e-mail", "邮箱"),
    "id_number": Reason("ID number", "证件号"),
}


@dataclasses.dataclass
class ImportSummary:
    """What an import did: rows read, members imported, rows left out (and why, in the error
    file), the opening balances booked (minor units and points), how long it took."""

    file: str
    mapping: str = ""
    rows: int = 0
    imported: int = 0
    duplicates_in_file: int = 0
    already_imported: int = 0
    errors: int = 0
    cards: int = 0
    points: int = 0
    stored_value: int = 0
    growth: int = 0
    error_file: Path | None = None
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        """Rows left out as duplicates (inside the file or of members already there)."""
        return self.duplicates_in_file + self.already_imported

    @property
    def left_out(self) -> int:
        """Rows not imported: duplicates and bad rows."""
        return self.duplicates + self.errors

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for the audit log and the console's status file)."""
        found = dataclasses.asdict(self)
        found["error_file"] = str(self.error_file) if self.error_file else None
        return found


DUPLICATE, ALREADY, ERROR = "duplicate", "already", "error"  # a Problem's kinds


@dataclasses.dataclass(slots=True)
class Problem:
    """A row left out: its number, its cells, why (Chinese, English) and of which kind: a
    duplicate in the file, a member imported before, or an error. Plain values, so a reading
    process hands it over as it is."""

    row: int
    cells: list[str]
    why: tuple[str, str]
    kind: str = ERROR

    @classmethod
    def of(cls, row: int, cells: list[str], error: MembershipError) -> Problem:
        """The problem ``error`` makes of a row."""
        kind = (
            DUPLICATE
            if isinstance(error, DuplicateInFile)
            else ALREADY
            if isinstance(error, AlreadyImported)
            else ERROR
        )
        return cls(row, cells, (error.detail("zh"), error.detail("en")), kind)

    def detail(self, language: str) -> str:
        """Why, in ``language`` (``zh`` or ``en``)."""
        return self.why[0] if language == "zh" else self.why[1]

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as its fields (a slotted dataclass's state is slow)
        return Problem, (self.row, self.cells, self.why, self.kind)


Row = tuple[Any, ...]


@dataclasses.dataclass(slots=True)
class Candidate:
    """A row that reads well, with its member already sealed and its rows already made (ids as
    text; dates and times as text on SQLite, as dates and datetimes on PostgreSQL): what the chunk
    inserts once it finds the row is no duplicate."""

    row: int
    cells: list[str]
    member_id: str
    member: list[Any]  # the member row (MEMBER_COLUMNS but the last)
    keys: dict[str, list[str]]  # "phone", "email", "id_number", "card": lookup hashes (current key first)
    cards: list[Row]  # credential rows (CREDENTIAL_COLUMNS)
    accounts: list[Row]  # the six ledger_account rows (ACCOUNT_COLUMNS)
    entries: list[Row]  # an entry per opening balance (ENTRY_COLUMNS)
    lots: tuple[Row | None, Row | None]  # the points lot (POINTS_LOT_COLUMNS), the stored-value lot (VALUE_LOT_COLUMNS)
    points: int
    stored_value: int
    growth: int
    store_id: str | None
    tier_given: bool

    def __reduce__(self) -> tuple[Any, ...]:  # to and from a reading process: as Problem's
        return Candidate, (
            self.row,
            self.cells,
            self.member_id,
            self.member,
            self.keys,
            self.cards,
            self.accounts,
            self.entries,
            self.lots,
            self.points,
            self.stored_value,
            self.growth,
            self.store_id,
            self.tier_given,
        )


MEMBER_COLUMNS = (
    "id",
    "member_no",
    "name",
    "gender",
    "birthday",
    "birthday_calendar",
    "phone_enc",
    "phone_hash",
    "email_enc",
    "email_hash",
    "id_number_enc",
    "id_number_hash",
    "address_enc",
    "tags",
    "created_store_id",
    "tier",
    "tier_review_at",
    "data_key",
    "created_at",
    "tier_since",  # added when the row is written (a tier may come from the policy)
)
MEMBER_NO = 1
TIER, TIER_REVIEW = 15, 16
ACCOUNT_COLUMNS = ("id", "member_id", "kind", "balance")
CREDENTIAL_COLUMNS = ("id", "member_id", "value_hash", "value_enc", "value_hint", "store_id")
ENTRY_COLUMNS = ("id", "account_id", "amount", "store_id")
POINTS_LOT_COLUMNS = ("id", "account_id", "store_id", "points", "remaining")
VALUE_LOT_COLUMNS = ("id", "account_id", "store_id", "amount", "remaining")
TIER_CHANGE_COLUMNS = ("id", "member_id", "to_tier", "metric")


_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit doubled, its two digits added (Luhn)


def new_member_no(draw: int | None = None) -> str:
    """A member number as :func:`membership.members.numbers.new_member_no` makes them (a non-zero
    first digit, 10 random digits, a Luhn check digit), from one random draw (``draw``, 64 random
    bits, or one made now) instead of eleven, and the check digit summed by C loops (the
    enrolment's way cost a twentieth of an import)."""
    body = str(10**10 + (secrets.randbits(64) if draw is None else draw) % (9 * 10**10))
    total = sum(map(int, body[::-2].translate(_DOUBLED))) + sum(map(int, body[-2::-2]))
    return f"{body}{(10 - total % 10) % 10}"


class _Draws:
    """Random 64-bit numbers drawn from the operating system a thousand at a time (one system
    call each, not one per member)."""

    def __init__(self) -> None:
        self._left: list[int] = []

    def next(self) -> int:
        if not self._left:
            self._left = list(struct.unpack("<1024Q", secrets.token_bytes(8 * 1024)))
        return self._left.pop()


# -- reading rows ----------------------------------------------------------------------------------


class RowReader:
    """Reads one file's rows into members of one program: which column holds what, the program's
    tiers and stores, the key that seals personal data."""

    def __init__(
        self,
        program: ProgramConfig,
        headers: list[str],
        mapping: dict[int, str],
        stores: list[dict[str, Any]],
        store_id: uuid.UUID | None = None,
        card_kind: str = "card_uid",
        now: dt.datetime | None = None,
        sqlite: bool = True,
    ) -> None:
        self.program = program
        self.headers = headers
        self.mapping = mapping
        self.column = {key: index for index, key in mapping.items()}
        self.label = {key: headers[index] or key for index, key in mapping.items()}
        self.now = now or dt.datetime.now(dt.UTC)
        self.today = self.now.astimezone(program.zone).date()
        self.store_id = None if store_id is None else str(store_id)
        self.stores = {store["code"].lower(): str(store["id"]) for store in stores}
        self.stores.update({str(store["id"]): str(store["id"]) for store in stores})
        self.stores.update({store["name"].lower(): str(store["id"]) for store in stores})
        config = tier_config(program.settings)
        self.tiers: dict[str, str] = {}
        for tier in config.tiers:
            self.tiers[tier.code.lower()] = tier.code
            self.tiers[tier.name.lower()] = tier.code
        self.tier_names = ", ".join(f"{tier.name} ({tier.code})" for tier in config.tiers) or "-"
        self.has_tiers = bool(config.tiers)
        self.review_at = self.now + dt.timedelta(days=config.policy.period_days + config.policy.grace_days)
        self.sqlite = sqlite  # dates and times as SQLite stores them (text), else as PostgreSQL's COPY takes them
        self.now_value, self.review_value = self.moment(self.now), self.moment(self.review_at)
        spec = credential_kind(str(card_kind))  # UnknownCredentialKind lists the registered ones
        if not spec.issuable or spec.generate is not None:
            raise ColumnMappingInvalid(
                reason=Reason(
                    f"cards of kind {spec.name!r} are not issued with a number",
                    f"“{spec.label_zh}”不是凭卡号发放的凭证",
                )
            )
        self.card_kind = spec.name
        self.card_hint = spec.hint_of
        self.card_field = f"credential:{self.card_kind}"
        self.vaults = pd.vaults()
        self.vault = self.vaults[0]
        self._one_key = len(self.vaults) == 1
        self._draws = _Draws()
        self._columns = sorted(((key, index) for index, key in mapping.items()), key=lambda pair: pair[1])
        self.minor_per_unit = program.minor_per_unit

    def moment(self, value: dt.datetime) -> Any:
        """A time as the database takes it (as Piccolo stores it in SQLite: UTC, as text)."""
        return str(value.astimezone(dt.UTC)) if self.sqlite else value

    def cells_by_field(self, cells: list[str]) -> dict[str, str]:
        """The row's mapped cells by field (a short row's missing cells empty)."""
        width = len(cells)
        return {key: cells[index] if index < width else "" for key, index in self._columns}

    def _hashes(self, field: str, value: str) -> list[str]:
        if self._one_key:
            return [self.vault.lookup_hash(field, value)]
        return [vault.lookup_hash(field, value) for vault in self.vaults]

    def read(self, row: int, cells: list[str]) -> Candidate | Problem:
        """The row as a sealed member, or the problem that leaves it out."""
        try:
            return self._candidate(row, cells)
        except MembershipError as exc:
            return Problem.of(row, cells, exc)

    def profile(self, cell: dict[str, str]) -> dict[str, Any]:
        """The row's profile as enrolment checks it: normalised by the identity hooks, phone and
        e-mail in their canonical forms, lengths checked."""
        label = self.label
        profile: dict[str, Any] = {"name": cell.get("name", "")}
        for field in ("phone", "email", "id_number", "address"):
            text = cell.get(field)
            if text:
                profile[field] = text
        if "tags" in cell:
            profile["tags"] = values.tags(cell["tags"])
        hooks().normalize_profile(profile)
        name = profile.get("name")
        if not isinstance(name, str) or not name:
            raise ValidationError(field=label.get("name", "name"), reason=Reason("required", "必填"))
        if len(name) > 100:
            raise ValidationError(field=label["name"], reason=Reason("1 to 100 characters", "1 到 100 个字符"))
        if profile.get("phone"):
            profile["phone"] = values.phone(profile["phone"])
        if profile.get("email"):
            profile["email"] = pd.normalize_email(profile["email"])
        for field in ("id_number", "address"):
            if profile.get(field) and len(profile[field]) > 200:
                raise ValidationError(field=label[field], reason=Reason("1 to 200 characters", "1 到 200 个字符"))
        return profile

    def _candidate(self, row: int, cells: list[str]) -> Candidate:
        label = self.label
        cell = self.cells_by_field(cells)
        get = cell.get
        profile = self.profile(cell)
        gender = values.gender(label["gender"], cell["gender"]) if "gender" in cell else "unknown"
        birthday, calendar = None, "solar"
        if get("birthday"):
            lunar = False
            if get("birthday_calendar"):
                lunar = values.calendar_of(label["birthday_calendar"], cell["birthday_calendar"]) == "lunar"
            birthday, calendar = values.birthday(label["birthday"], cell["birthday"], lunar)
            check_birthday(birthday, calendar, self.today)
        cards: list[str] = []
        if get("card"):
            normalize = hooks().normalize_credential
            for value in values.cards(cell["card"]):
                value = normalize(self.card_kind, value)
                if value and value not in cards:
                    cards.append(value)
        phone = profile.get("phone")
        if not phone and not cards:
            raise RowUnidentified()
        points = values.whole_number(label["points"], cell["points"]) if get("points") else 0
        stored_value = (
            values.minor_units(label["stored_value"], cell["stored_value"], self.minor_per_unit, self.program.currency)
            if get("stored_value")
            else 0
        )
        growth = values.whole_number(label["growth"], cell["growth"]) if get("growth") else 0
        tier = None
        if get("tier"):
            tier = self.tiers.get(cell["tier"].lower())
            if tier is None:
                raise UnknownTier(column=label["tier"], value=cell["tier"], known=self.tier_names)
        store_id = self.store_id
        if get("store"):
            store_id = self.stores.get(cell["store"].lower())
            if store_id is None:
                raise StoreNotFound(store_id=cell["store"])
        joined = values.joined_at(label["joined"], cell["joined"], self.program.zone) if get("joined") else None
        if joined is not None and joined > self.now:
            raise ValidationError(field=label["joined"], reason=Reason("joined in the future", "入会时间不能是将来"))
        return self._sealed(
            row, cells, profile, gender, birthday, calendar, cards, points, stored_value, growth, tier, store_id, joined
        )

    def _sealed(
        self,
        row: int,
        cells: list[str],
        profile: dict[str, Any],
        gender: str,
        birthday: dt.date | None,
        calendar: str,
        cards: list[str],
        points: int,
        stored_value: int,
        growth: int,
        tier: str | None,
        store_id: str | None,
        joined: dt.datetime | None,
    ) -> Candidate:
        """Seal the row's personal data under a data key of its own (as enrolment does)."""
        member_id = new_id_text()
        cipher, wrapped = pd.MemberCipher.new(member_id, self.vault)  # type: ignore[arg-type]  # the id as text
        keys: dict[str, list[str]] = {}
        sealed: dict[str, str | None] = {}
        for field in ("phone", "email", "id_number", "address"):
            value = profile.get(field)
            if value is None:
                sealed[f"{field}_enc"] = sealed[f"{field}_hash"] = None
                continue
            sealed[f"{field}_enc"] = cipher.seal(field, value)
            if field != "address":
                keys[field] = self._hashes(field, value)
                sealed[f"{field}_hash"] = keys[field][0]
        card_rows = []
        for value in cards:
            digests = self._hashes(self.card_field, value)
            keys.setdefault("card", []).extend(digests)
            seal = cipher.seal(self.card_field, value)
            card_rows.append((new_id_text(), member_id, digests[0], seal, self.card_hint(value), store_id))
        tags = profile.get("tags")
        if birthday is not None and self.sqlite:
            birthday = birthday.isoformat()  # type: ignore[assignment]  # as SQLite stores it
        member = [
            member_id,
            new_member_no(self._draws.next()),
            profile["name"],
            gender,
            birthday,
            calendar,
            sealed["phone_enc"],
            sealed["phone_hash"],
            sealed["email_enc"],
            sealed["email_hash"],
            sealed["id_number_enc"],
            sealed["id_number_hash"],
            sealed["address_enc"],
            _json(tags) if tags else "[]",
            store_id,
            tier,
            self.review_value if tier else None,
            wrapped,
            self.now_value if joined is None else self.moment(joined),
        ]
        ids = [new_id_text() for _ in MEMBER_KINDS]
        points_id, value_id, growth_id = ids[_POINTS], ids[_STORED_VALUE], ids[_GROWTH]
        balance = [0] * len(MEMBER_KINDS)
        balance[_POINTS], balance[_STORED_VALUE], balance[_GROWTH] = points, stored_value, growth
        accounts = list(zip(ids, [member_id] * len(ids), _KIND_VALUES, balance, strict=True))
        entries = []
        if points:
            entries.append((new_id_text(), points_id, points, store_id))
        if stored_value:
            entries.append((new_id_text(), value_id, stored_value, store_id))
        if growth:
            entries.append((new_id_text(), growth_id, growth, store_id))
        lots = (
            (new_id_text(), points_id, store_id, points, points) if points else None,
            (new_id_text(), value_id, store_id, stored_value, stored_value) if stored_value else None,
        )
        return Candidate(
            row,
            cells,
            member_id,
            member,
            keys,
            card_rows,
            accounts,
            entries,
            lots,
            points,
            stored_value,
            growth,
            store_id,
            tier is not None,
        )


_POINTS, _STORED_VALUE, _GROWTH = (MEMBER_KINDS.index(kind) for kind in (Kind.POINTS, Kind.STORED_VALUE, Kind.GROWTH))
_KIND_VALUES = [kind.value for kind in MEMBER_KINDS]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- writing a chunk -------------------------------------------------------------------------------


@dataclasses.dataclass
class Chunk:
    """Rows read together: those to import, and those already left out."""

    candidates: list[Candidate]
    problems: list[Problem]


@dataclasses.dataclass(frozen=True)
class Batch:
    """What every chunk of one import shares."""

    program: ProgramConfig
    now: dt.datetime
    store_id: str | None
    card_kind: str
    actor: str
    expires_at: dt.datetime | None
    contra: dict[Kind, str]
    unchecked: bool = False  # PostgreSQL: the chunk's inserts may skip the foreign-key checks they prove


async def _insert(table: str, columns: tuple[str, ...], rows: list[Row], constants: dict[str, Any]) -> None:
    """Insert ``rows`` (values in ``columns``' order) with ``constants`` in every row, by the
    driver's bulk path (:func:`membership.db.sql.insert_rows`)."""
    if not rows:
        return
    sqlite = is_sqlite()
    extra = tuple(_stored(value, sqlite) for value in constants.values())
    await insert_rows(table, (*columns, *constants), [row + extra for row in rows])


def _stored(value: Any, sqlite: bool) -> Any:
    """A constant as the database takes it: on SQLite, UUIDs and times as Piccolo stores them."""
    if sqlite and isinstance(value, uuid.UUID):
        return str(value)
    if sqlite and isinstance(value, dt.datetime):
        return str(value.astimezone(dt.UTC))
    return value


async def _holders(program_id: uuid.UUID, card_kind: str, field: str, digests: list[str]) -> dict[str, dict[str, Any]]:
    """Lookup hash → the member (number, and how and when they came) holding it."""
    if not digests:
        return {}
    if field == "card":
        condition, arg = any_of("c.value_hash", digests)
        rows = await fetch(
            "SELECT c.value_hash AS digest, m.member_no, m.source_channel, m.updated_at FROM credential c"
            f" JOIN member m ON m.program_id = c.program_id AND m.id = c.member_id WHERE c.program_id = {{}} AND"
            f" c.kind = {{}} AND {condition}",
            program_id,
            card_kind,
            arg,
        )
    else:
        condition, arg = any_of(f"{field}_hash", digests)
        rows = await fetch(
            f"SELECT {field}_hash AS digest, member_no, source_channel, updated_at FROM member"
            f" WHERE program_id = {{}} AND {condition}",
            program_id,
            arg,
        )
    return {row["digest"]: row for row in rows}


async def in_database(
    program_id: uuid.UUID, card_kind: str, candidates: list[Candidate], since: dt.datetime | None = None
) -> tuple[list[Candidate], list[Problem]]:
    """The candidates no member of the program holds the phone, card, e-mail or ID number of,
    and the others as problems: "already imported", or (a member this import brought at
    ``since``, from an earlier chunk) a duplicate in the file."""
    holders = {}
    for field in _WHAT:
        digests = [digest for c in candidates for digest in c.keys.get(field, ())]
        holders[field] = await _holders(program_id, card_kind, field, digests)
    kept: list[Candidate] = []
    problems: list[Problem] = []
    for candidate in candidates:
        found = next(
            (
                (field, holders[field][digest])
                for field in _WHAT
                for digest in candidate.keys.get(field, ())
                if digest in holders[field]
            ),
            None,
        )
        if found is None:
            kept.append(candidate)
            continue
        field, holder = found
        if holder["source_channel"] == SOURCE and holder["updated_at"] == since:  # same import, same moment
            number = holder["member_no"]
            earlier = Reason(f"member {number} of an earlier row", f"前面某行（会员 {number}）")
            error: MembershipError = DuplicateInFile(what=_WHAT[field], earlier=earlier)
        else:
            error = AlreadyImported(member_no=holder["member_no"], what=_WHAT[field])
        problems.append(Problem.of(candidate.row, candidate.cells, error))
    return kept, problems


async def _free_member_numbers(batch: Batch, members: list[list[Any]]) -> None:
    """Give a fresh number to each member whose number another member of the program has."""
    taken: set[str] = set()
    todo = members
    while todo:
        numbers = [member[MEMBER_NO] for member in todo]
        condition, arg = any_of("member_no", numbers)
        used = {
            row["member_no"]
            for row in await fetch(
                f"SELECT member_no FROM member WHERE program_id = {{}} AND {condition}", batch.program.id, arg
            )
        }
        again = []
        for member in todo:
            if member[MEMBER_NO] in used or member[MEMBER_NO] in taken:
                member[MEMBER_NO] = new_member_no()
                again.append(member)
            else:
                taken.add(member[MEMBER_NO])
        todo = again


@job_chunk
async def _write_chunk(batch: Batch, chunk: Chunk) -> tuple[list[Candidate], list[Problem]]:
    """One chunk in one transaction: leave out what the database already holds, then insert the
    rest. Returns (imported, left out)."""
    kept, problems = await in_database(batch.program.id, batch.card_kind, chunk.candidates, batch.now)
    if kept:
        await _free_member_numbers(batch, [c.member for c in kept])
        if batch.unchecked:
            await _hold_references(batch, kept)
        async with proven_references(batch.unchecked):
            await _write_members(batch, kept)
        emit(
            Event(
                "members.imported",
                batch.program.id,
                None,
                {"members": [uuid.UUID(c.member_id) for c in kept], "actor": batch.actor},
            )
        )
    return kept, problems


async def _hold_references(batch: Batch, kept: list[Candidate]) -> None:
    """Hold (``FOR KEY SHARE``, as a foreign-key check would) the rows the chunk refers to that it
    does not insert itself: the program, the stores, the contra accounts. Every reference of its
    inserts is then proven (:mod:`membership.db.references`): to a row it holds or inserted."""
    await fetch("SELECT id FROM program WHERE id = {} FOR KEY SHARE", batch.program.id)
    stores = sorted({c.store_id for c in kept if c.store_id} | ({batch.store_id} if batch.store_id else set()))
    if stores:
        condition, arg = any_of("id", [uuid.UUID(store) for store in stores])
        await fetch(f"SELECT id FROM store WHERE {condition} FOR KEY SHARE", arg)
    condition, arg = any_of("id", [uuid.UUID(account) for account in batch.contra.values()])
    await fetch(
        f"SELECT id FROM ledger_account WHERE program_id = {{}} AND {condition} FOR KEY SHARE", batch.program.id, arg
    )


async def _write_members(batch: Batch, kept: list[Candidate]) -> None:
    """Members, accounts, cards, opening balances and tiers of the chunk's new members."""
    program, now = batch.program, batch.now
    since = _stored(now, is_sqlite())
    await _insert(
        "member",
        MEMBER_COLUMNS,
        [(*c.member, since if c.member[TIER] else None) for c in kept],
        {
            "program_id": program.id,
            "preferences": "{}",
            "consents": "{}",
            "source_channel": SOURCE,
            "status": "active",
            "key_fp": pd.vault().fingerprint,
            "updated_at": now,
        },
    )
    shared = {"program_id": program.id, "updated_at": now}
    await _insert("ledger_account", ACCOUNT_COLUMNS, [account for c in kept for account in c.accounts], shared)
    await _insert(
        "credential",
        CREDENTIAL_COLUMNS,
        [card for c in kept for card in c.cards],
        {"program_id": program.id, "kind": batch.card_kind, "state": "active", "issued_at": now, "changed_at": now},
    )
    await _write_balances(batch, kept)
    tiered = [(new_id_text(), c.member_id, c.member[TIER], c.growth) for c in kept if c.member[TIER]]
    await _insert(
        "tier_change",
        TIER_CHANGE_COLUMNS,
        tiered,
        {"program_id": program.id, "from_tier": None, "reason": SOURCE, "created_at": now},
    )


async def _write_balances(batch: Batch, kept: list[Candidate]) -> None:
    """The chunk's opening balances: one posting, an entry per member account and per contra
    account, a points lot and a stored-value lot per member holding them."""
    program, now = batch.program, batch.now
    entries = [entry for c in kept for entry in c.entries]
    if not entries:
        return
    totals = {
        Kind.POINTS: sum(c.points for c in kept),
        Kind.STORED_VALUE: sum(c.stored_value for c in kept),
        Kind.GROWTH: sum(c.growth for c in kept),
    }
    posting_id = new_id_text()
    await execute(
        "INSERT INTO ledger_posting (id, program_id, member_id, kind, store_id, sale_id, operator, reason,"
        " created_at) VALUES ({}, {}, NULL, {}, {}, NULL, {}, {}, {})",
        posting_id,
        program.id,
        SOURCE,
        batch.store_id,
        batch.actor[:100],
        REASON,
        now,
    )
    entries += [(new_id_text(), batch.contra[kind], -total, batch.store_id) for kind, total in totals.items() if total]
    shared = {"posting_id": posting_id, "rule": SOURCE, "reason": ENTRY_REASON, "created_at": now}
    shared = {"program_id": program.id, **shared}
    await _insert("ledger_entry", ENTRY_COLUMNS, entries, shared)
    await _insert(
        "points_lot",
        POINTS_LOT_COLUMNS,
        [c.lots[0] for c in kept if c.lots[0]],
        {
            "program_id": program.id,
            "posting_id": posting_id,
            "expired": 0,
            "earned_at": now,
            "expires_at": batch.expires_at,
        },
    )
    await _insert(
        "stored_value_lot",
        VALUE_LOT_COLUMNS,
        [c.lots[1] for c in kept if c.lots[1]],
        {"program_id": program.id, "posting_id": posting_id, "created_at": now},
    )


# -- the whole file ----------------------------------------------------------------------------------


class ErrorFile:
    """The rows left out, written as they are found: row number, why (Chinese, English), then the
    row's own cells under the file's own headers, so the fixed file imports as it is. Made on the
    first row left out (or at once when its path was asked for)."""

    def __init__(self, path: Path, headers: list[str], made: bool) -> None:
        self.path = path
        self.headers = headers
        self._writer: SheetWriter | None = None
        if made:
            self._open()

    def _open(self) -> SheetWriter:
        if self._writer is None:
            fmt = "xlsx" if self.path.suffix.lower() == ".xlsx" else "csv"
            self._writer = SheetWriter(self.path, fmt, title="errors")
            self._writer.write(ERROR_HEADERS + self.headers)
        return self._writer

    @property
    def made(self) -> bool:
        """Whether the file exists (something was written to it)."""
        return self._writer is not None

    def write(self, problems: list[Problem]) -> None:
        """Append the rows left out."""
        if not problems:
            return
        writer = self._open()
        for problem in sorted(problems, key=lambda p: p.row):
            writer.write([problem.row, *problem.why, *problem.cells])

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.close()


def default_error_file(path: Path) -> Path:
    """Where the rows left out go unless told: beside the file, ``members.errors.csv``."""
    return path.with_name(f"{path.stem}.errors.csv")


def _header(rows: Any, file: str) -> tuple[int, list[str]]:
    for number, cells in rows:
        if any(cells):
            return number, cells
    raise ColumnMappingInvalid(reason=Reason(f"{file} has no header row", f"{file} 没有表头行"))


def read_headers(path: Path) -> list[str]:
    """The header row of a member file (its first row that holds something)."""
    _exists(path)
    with SheetReader(path) as sheet:
        return _header(sheet.rows(), path.name)[1]


def _exists(path: Path) -> None:
    if not path.is_file():
        raise ImportFileUnreadable(file=str(path), reason=Reason("no such file", "文件不存在"))


def _header_again(cells: list[str], mapping: dict[int, str]) -> bool:
    """Whether a row repeats the header in another language (a file exported with two header rows)."""
    named = [cols.field_named(cells[i]) == key for i, key in mapping.items() if i < len(cells) and cells[i]]
    return len(named) >= 2 and all(named)


def in_chunk_duplicates(candidates: list[Candidate]) -> tuple[list[Candidate], list[Problem]]:
    """The first row of each phone, card, e-mail and ID number within ``candidates``; the later
    ones as problems naming the row they repeat."""
    seen: dict[str, dict[str, int]] = {field: {} for field in _WHAT}
    kept, problems = [], []
    for candidate in candidates:
        repeated = next(
            (
                (field, seen[field][digest])
                for field in _WHAT
                for digest in candidate.keys.get(field, ())
                if digest in seen[field]
            ),
            None,
        )
        if repeated is not None:
            field, row = repeated
            error = DuplicateInFile(what=_WHAT[field], earlier=Reason(f"row {row}", f"第 {row} 行"))
            problems.append(Problem.of(candidate.row, candidate.cells, error))
            continue
        for field, digests in candidate.keys.items():
            for digest in digests:
                seen[field].setdefault(digest, candidate.row)
        kept.append(candidate)
    return kept, problems


async def _qualify(reader: RowReader, candidates: list[Candidate]) -> None:
    """The tier imported growth qualifies for, for members whose row names none (as enrolment
    gives a tier that asks nothing at once)."""
    if not reader.has_tiers:
        return
    metrics = {c.member_id: TierMetrics(growth=c.growth) for c in candidates if not c.tier_given}
    if not metrics:
        return
    tiers = await hooks().tiers_for(reader.program, metrics)
    for c in candidates:
        if not c.tier_given and tiers.get(c.member_id):
            c.member[TIER], c.member[TIER_REVIEW] = tiers[c.member_id], reader.review_value


def _read_chunk(reader: RowReader, rows: list[tuple[int, list[str]]]) -> Chunk:
    """Read and seal a chunk's rows (CPU only: runs beside the previous chunk's writing)."""
    candidates, problems = [], []
    for number, cells in rows:
        found = reader.read(number, cells)
        (candidates if isinstance(found, Candidate) else problems).append(found)
    kept, repeated = in_chunk_duplicates(candidates)
    return Chunk(kept, problems + repeated)


_process_reader: list[RowReader] = []  # in a reading process: the reader it was forked with


def _start_reading(reader: RowReader) -> None:
    _process_reader[:] = [reader]


def _read_in_process(rows: list[tuple[int, list[str]]]) -> Chunk:
    return _read_chunk(_process_reader[0], rows)


class _Readers:
    """Where chunks are read and sealed while this process writes: ``count`` reading processes
    forked from this one (they share the program, the keys and the plugins, and read and seal
    in parallel with each other and with the writing: one interpreter per core), or, where
    processes cannot be forked, one thread."""

    def __init__(self, reader: RowReader, count: int) -> None:
        self.reader = reader
        self.forked = count > 0 and sys.platform == "linux"
        if self.forked:
            self.pool: concurrent.futures.Executor = concurrent.futures.ProcessPoolExecutor(
                count, mp_context=multiprocessing.get_context("fork"), initializer=_start_reading, initargs=(reader,)
            )
        else:
            self.pool = concurrent.futures.ThreadPoolExecutor(1, "import-reader")
        self.ahead = max(count, 1) + 1  # chunks under way: one queued behind each reader

    def read(self, rows: list[tuple[int, list[str]]]) -> asyncio.Future[Chunk]:
        """Start reading a chunk's rows."""
        if self.forked:
            return asyncio.wrap_future(self.pool.submit(_read_in_process, rows))
        return asyncio.wrap_future(self.pool.submit(_read_chunk, self.reader, rows))

    def close(self, failed: bool) -> None:
        """Stop the readers (dropping the chunks not started when the import failed)."""
        self.pool.shutdown(wait=True, cancel_futures=failed)


async def import_members(
    path: Path,
    program_id: uuid.UUID,
    *,
    mapping: dict[str, str] | None = None,
    columns: dict[int, str] | None = None,
    errors_to: Path | None = None,
    store_id: uuid.UUID | None = None,
    card_kind: str = "card_uid",
    actor: str = "system",
    progress: Progress | None = None,
    chunk_size: int | None = CHUNK_ROWS,
    readers_count: int | None = None,
) -> ImportSummary:
    """Import the members of a CSV or Excel file into a program (see the module's docstring).

    ``mapping`` (header → field, or ``ignore``) changes what the headers say; ``columns`` (column
    index → field) replaces it whole (the console's edited preview). ``errors_to`` is where the
    rows left out go (default: ``<file>.errors.csv`` beside the file, made only when a row is
    left out). ``store_id`` is the store members joined at unless their row names one.
    ``progress(rows read, rows in the file or None)`` is called after each chunk. ``chunk_size``
    rows are a transaction; None paces them as the kernel's jobs are paced (small while tills
    write, growing while they are quiet: :class:`membership.jobs.interface.Pace`). Rows already
    imported are skipped, so after an interruption the same command carries on. ``readers_count``
    processes read and seal the rows (default: one per core, at most ``READERS``; 0: a thread).
    """
    started = time.perf_counter()
    program = await get_program(program_id)
    stores = await list_stores(program.merchant_id)
    if store_id is not None and all(store["id"] != store_id for store in stores):
        raise StoreNotFound(store_id=store_id)
    now = dt.datetime.now(dt.UTC)
    summary = ImportSummary(file=path.name)
    file_format(path)
    _exists(path)
    with (
        SheetReader(path) as sheet,
        frozen_heap(),
        _fewer_collections(),
    ):
        total = sheet.estimated_rows()
        rows = sheet.rows()
        header_row, headers = _header(rows, path.name)
        if columns is not None:
            resolved = {int(index): key for index, key in columns.items() if key != cols.IGNORE}
            cols.check(headers, resolved)
        else:
            resolved = cols.resolve(headers, mapping)
        summary.mapping = cols.describe(resolved, headers)
        reader = RowReader(program, headers, resolved, stores, store_id, card_kind, now, is_sqlite())
        contra = {
            kind: str(await system_account(program.id, kind))
            for kind in (Kind.POINTS_ISSUED, Kind.STORED_VALUE_FUNDS, Kind.GROWTH_ISSUED)
        }
        batch = Batch(
            program,
            now,
            reader.store_id,
            reader.card_kind,
            actor,
            hooks().points_expiry(program, now).expires_at,
            {
                Kind.POINTS: contra[Kind.POINTS_ISSUED],
                Kind.STORED_VALUE: contra[Kind.STORED_VALUE_FUNDS],
                Kind.GROWTH: contra[Kind.GROWTH_ISSUED],
            },
            await may_skip_reference_checks(),
        )
        errors = ErrorFile(errors_to or default_error_file(path), headers, made=errors_to is not None)
        writing: tuple[asyncio.Task[tuple[list[Candidate], list[Problem]]], Chunk, int] | None = None

        pace = Pace(chunk_size)
        statistics = _Statistics(pace.size)

        async def finish(task: asyncio.Task[tuple[list[Candidate], list[Problem]]], chunk: Chunk, through: int) -> None:
            kept, problems = await task
            problems = sorted(chunk.problems + problems, key=lambda problem: problem.row)
            _count(summary, kept, problems)
            await statistics.refresh(summary.imported)
            errors.write(problems)
            if progress is not None:
                progress(through, total)
            await pace.rest()  # SQLite: a full WAL checkpointed; the tills' turn (paced: the next chunk's size)

        readers = _Readers(reader, min(READERS, os.cpu_count() or 1) if readers_count is None else readers_count)
        reading: collections.deque[tuple[asyncio.Future[Chunk], int]] = collections.deque()  # in the file's order
        sqlite = is_sqlite()
        if sqlite:
            await _writer_cache(IMPORT_CACHE_KIB)
        try:
            while True:
                while len(reading) < readers.ahead:
                    taken = _take(rows, header_row, resolved, pace.size)
                    if not taken:
                        break
                    summary.rows += len(taken)
                    reading.append((readers.read(taken), taken[-1][0]))
                if not reading:
                    break
                future, through = reading.popleft()
                chunk = await future
                await _qualify(reader, chunk.candidates)
                if writing is not None:
                    await finish(*writing)
                writing = (asyncio.create_task(_write_chunk(batch, chunk)), chunk, through)
            if writing is not None:
                await finish(*writing)
        except BaseException:
            if writing is not None and not writing[0].done():
                writing[0].cancel()
            for future, _ in reading:
                future.cancel()
            readers.close(failed=True)
            raise
        else:
            readers.close(failed=False)
        finally:
            errors.close()
            if sqlite:
                await _writer_cache(SQLITE_CACHE_KIB)
    summary.error_file = errors.path if errors.made else None
    summary.seconds = time.perf_counter() - started
    await _record(program.id, actor, summary)
    return summary


@job_chunk
async def _writer_cache(kib: int) -> None:
    """SQLite: the page cache of the connection every write runs on. An import grows it for its
    run: past a few hundred thousand members the indexes of random keys (member numbers, phone
    and card hashes) outgrow the usual 64 MiB, and the inserts read their pages back again."""
    await execute(f"PRAGMA cache_size = -{kib}")


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while rows are read: a chunk's thousands of
    short-lived lists and dicts made it run every few hundred rows, a quarter of the reading time
    (they hold no cycles: reference counting frees them)."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class _Statistics:
    """PostgreSQL plans a chunk's duplicate lookups (2,000 hashes at once) from what it knows of
    the tables. Of a table the import fills from empty it knows nothing yet (autovacuum comes
    later): it planned to scan every member of the program for each chunk, which grows with every
    chunk. The tables are analysed again each time the members imported double."""

    def __init__(self, first: int) -> None:
        self.next = first

    async def refresh(self, imported: int) -> None:
        if is_sqlite() or imported < self.next:
            return
        self.next = 2 * imported
        await execute("ANALYZE member, credential")


def _take(rows: Any, header_row: int, mapping: dict[int, str], size: int) -> list[tuple[int, list[str]]]:
    """The next ``size`` rows that hold something (blank rows and a repeated header skipped)."""
    taken: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if not any(cells) or (number == header_row + 1 and _header_again(cells, mapping)):
            continue
        taken.append((number, cells))
        if len(taken) >= size:
            break
    return taken


def _count(summary: ImportSummary, kept: list[Candidate], problems: list[Problem]) -> None:
    summary.imported += len(kept)
    summary.cards += sum(len(c.cards) for c in kept)
    summary.points += sum(c.points for c in kept)
    summary.stored_value += sum(c.stored_value for c in kept)
    summary.growth += sum(c.growth for c in kept)
    for problem in problems:
        if problem.kind == DUPLICATE:
            summary.duplicates_in_file += 1
        elif problem.kind == ALREADY:
            summary.already_imported += 1
        else:
            summary.errors += 1


@use_case
async def _record(program_id: uuid.UUID, actor: str, summary: ImportSummary) -> None:
    """The import in the audit log (its commit also makes the chunks' commits durable)."""
    details = summary.as_dict()
    details.pop("error_file", None)
    await audit.record(actor, "members.import", "program", program_id, program_id, details)


# -- the console's preview ---------------------------------------------------------------------------


@dataclasses.dataclass
class Preview:
    """The start of a member file as the import would read it: its headers, which field each
    column holds, the first rows with what would happen to each (empty: imported, unless the
    database already has them), about how many rows there are, and what is wrong with the mapping."""

    headers: list[str]
    mapping: dict[int, str]
    rows: list[tuple[int, list[str], str]]
    estimated_rows: int | None
    problem: str = ""


async def preview(
    path: Path,
    program_id: uuid.UUID,
    columns: dict[int, str] | None = None,
    limit: int = 10,
    language: str = "zh",
) -> Preview:
    """The first ``limit`` rows of ``path`` read with ``columns`` (default: detected), each with
    the reason it would be left out (in ``language``); nothing is written."""
    program = await get_program(program_id)
    stores = await list_stores(program.merchant_id)
    with SheetReader(path) as sheet:
        total = sheet.estimated_rows()
        rows = sheet.rows()
        header_row, headers = _header(rows, path.name)
        mapping = cols.detect(headers) if columns is None else {i: k for i, k in columns.items() if k != cols.IGNORE}
        problem = ""
        try:
            cols.check(headers, mapping)
        except MembershipError as exc:
            problem = exc.detail(language)
        taken = _take(rows, header_row, mapping, limit)
    checked: list[tuple[int, list[str], str]] = []
    if problem:
        checked = [(number, cells, "") for number, cells in taken]
    else:
        reader = RowReader(program, headers, mapping, stores, sqlite=is_sqlite())
        chunk = _read_chunk(reader, taken)
        _, there = await in_database(program.id, reader.card_kind, chunk.candidates)
        why = {p.row: p.detail(language) for p in chunk.problems + there}
        checked = [(number, cells, why.get(number, "")) for number, cells in taken]
    data_rows = None if total is None else max(0, total - header_row)
    return Preview(headers, mapping, checked, data_rows, problem)
