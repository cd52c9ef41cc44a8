"""Use cases for members and credentials: enrol, update, identify, export, erase."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from membership.audit import service as audit
from membership.db import emit, fetch, fetch_one, is_sqlite, new_id, placeholders, use_case
from membership.db.citus import is_citus
from membership.db.sql import escape_like, json_column
from membership.errors import (
    CredentialExists,
    CredentialNotFound,
    DuplicateMember,
    EnrolmentRefused,
    MemberErased,
    MemberMerged,
    MemberNotFound,
    MembershipError,
    Reason,
    ValidationError,
)
from membership.events import Event
from membership.ledger.accounts import MEMBER_KINDS
from membership.members import personal_data as pd
from membership.members.birthdays import check_birthday
from membership.members.consents import record_consents
from membership.members.credentials import CredentialState, credential_kind, credential_kinds, issuable_kind
from membership.members.numbers import new_member_no
from membership.members.rotation import member_cipher
from membership.org.service import check_store, get_program
from membership.plugins import hooks

GENDERS = ("male", "female", "unknown")
ENCRYPTED = ("phone", "email", "id_number", "address")
HASHED = ("phone", "email", "id_number")
PROFILE_FIELDS = (
    "name",
    "gender",
    "birthday",
    "birthday_calendar",
    "phone",
    "email",
    "id_number",
    "address",
    "preferences",
    "tags",
    "source_channel",
    "consents",
)
MASKS = {
    "phone": pd.mask_phone,
    "email": pd.mask_email,
    "id_number": pd.mask_id_number,
    "address": pd.mask_address,
}


@dataclasses.dataclass(frozen=True)
class MemberView:
    """A member as staff and terminals see it; personal data masked unless revealed."""

    id: uuid.UUID
    program_id: uuid.UUID
    member_no: str
    name: str
    gender: str
    birthday: dt.date | None
    birthday_calendar: str
    phone: str | None
    email: str | None
    id_number: str | None
    address: str | None
    preferences: dict[str, Any]
    tags: list[str]
    source_channel: str
    consents: dict[str, bool]
    created_store_id: uuid.UUID | None
    tier: str | None
    status: str
    created_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _view(row: dict[str, Any], reveal: bool) -> MemberView:
    personal: dict[str, str | None] = dict.fromkeys(ENCRYPTED)
    if any(row[f"{field}_enc"] for field in ENCRYPTED):
        cipher = pd.member_cipher(row)
        for field in ENCRYPTED:
            token = row[f"{field}_enc"]
            if token is not None:
                plain = cipher.open(field, token)
                personal[field] = plain if reveal else MASKS[field](plain)
    return MemberView(
        id=row["id"],
        program_id=row["program_id"],
        member_no=row["member_no"],
        name=row["name"],
        gender=row["gender"],
        birthday=row["birthday"],
        birthday_calendar=row["birthday_calendar"],
        preferences=json_column(row["preferences"]) or {},
        tags=json_column(row["tags"]) or [],
        source_channel=row["source_channel"],
        consents=json_column(row["consents"]) or {},
        created_store_id=row["created_store_id"],
        tier=row["tier"],
        status=row["status"],
        created_at=row["created_at"],
        **personal,
    )


def _validate(profile: dict[str, Any], today: dt.date) -> None:
    """Check the normalised profile's fields; raise a typed error for the first bad one."""
    if "name" in profile:
        name = profile["name"]
        if not isinstance(name, str) or not name or len(name) > 100:
            raise ValidationError(field="name", reason=Reason("1 to 100 characters", "1 到 100 个字符"))
    if "gender" in profile and profile["gender"] not in GENDERS:
        raise ValidationError(field="gender", reason=Reason(f"one of {GENDERS}", f"只能是 {GENDERS} 之一"))
    if profile.get("birthday") is not None:
        check_birthday(profile["birthday"], profile.get("birthday_calendar", "solar"), today)
    if "tags" in profile and not all(isinstance(t, str) and t for t in profile["tags"]):
        raise ValidationError(field="tags", reason=Reason("a list of non-empty texts", "应为非空文本的列表"))
    if "consents" in profile and not all(isinstance(v, bool) for v in profile["consents"].values()):
        raise ValidationError(
            field="consents", reason=Reason("each consent is true or false", "每项授权应为 true 或 false")
        )
    for field in ("id_number", "address"):
        if profile.get(field) is not None and not (0 < len(profile[field]) <= 200):
            raise ValidationError(field=field, reason=Reason("1 to 200 characters", "1 到 200 个字符"))


def _normalized(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile normalised through the hooks and validated; unknown fields refused."""
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(
            field=", ".join(sorted(unknown)), reason=Reason("unknown profile field", "未知的会员资料项")
        )
    profile = hooks().normalize_profile(dict(profile))
    if profile.get("phone") is not None:
        profile["phone"] = pd.normalize_phone(profile["phone"])
    if profile.get("email") is not None:
        profile["email"] = pd.normalize_email(profile["email"])
    _validate(profile, _now().date())
    return profile


def _columns(profile: dict[str, Any], cipher: pd.MemberCipher) -> dict[str, Any]:
    """A normalised profile as columns: personal data sealed under the member's data key, with
    its keyed hash beside it."""
    columns: dict[str, Any] = {}
    for field, value in profile.items():
        if field in ENCRYPTED:
            columns[f"{field}_enc"] = None if value is None else cipher.seal(field, value)
            if field in HASHED:
                columns[f"{field}_hash"] = None if value is None else cipher.lookup_hash(field, value)
        elif field in ("preferences", "tags", "consents"):
            columns[field] = json.dumps(value, ensure_ascii=False)
        else:
            columns[field] = value
    return columns


def _lookups(profile: dict[str, Any]) -> dict[str, list[str]]:
    """``{field}_hashes``: the keyed hashes of the profile's phone, e-mail and ID number under
    every configured key (a member a key rotation has not reached yet carries the old one)."""
    return {f"{field}_hashes": pd.lookup_hashes(field, profile[field]) for field in HASHED if profile.get(field)}


async def member_row(member_id: uuid.UUID, lock: bool = False, program_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The member's row (erased members included); ``MemberNotFound`` when there is none (in
    ``program_id`` when given: the till's statements name the program they work in).

    ``lock`` holds the row until the transaction ends: a use case that decides from the member's
    history (a daily cap, a first-purchase bonus, a coupon limit) takes it before reading that
    history, so two at once for one member decide one after the other. PostgreSQL locks the row
    (``FOR NO KEY UPDATE``: rows that merely reference the member are not held up); SQLite's
    write transaction already runs alone. On Citus a lock names the program (the distribution
    column), looked up first when not given."""
    suffix = " FOR NO KEY UPDATE" if lock and not is_sqlite() else ""
    if program_id is None and lock and await is_citus():
        program_id = await _program_of(member_id)
    if program_id is None:
        row = await fetch_one(f"SELECT * FROM member WHERE id = {{}}{suffix}", member_id)
    else:
        in_program = f"SELECT * FROM member WHERE program_id = {{}} AND id = {{}}{suffix}"
        row = await fetch_one(in_program, program_id, member_id)
    if row is None:
        raise MemberNotFound(member_id=member_id)
    return row


async def _program_of(member_id: uuid.UUID) -> uuid.UUID:
    """The program of a member; ``MemberNotFound``."""
    row = await fetch_one("SELECT program_id FROM member WHERE id = {}", member_id)
    if row is None:
        raise MemberNotFound(member_id=member_id)
    return row["program_id"]


async def active_member(
    member_id: uuid.UUID, lock: bool = False, program_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The member's row (locked as :func:`member_row` says when ``lock``; in ``program_id`` when
    given); ``MemberNotFound``/``MemberErased`` when it cannot be used, ``MemberMerged`` (naming
    the member it was merged into) for a merged one."""
    row = await member_row(member_id, lock, program_id)
    if row["status"] == "erased":
        raise MemberErased(member_id=member_id)
    if row["status"] == "merged":
        raise MemberMerged(member_id=member_id, survivor_id=await survivor_of(member_id))
    return row


MAX_FORWARDS = 20  # merges of merges a lookup follows


async def survivor_of(member_id: uuid.UUID) -> uuid.UUID:
    """The member a merged member forwards to now: the survivor of its merge, or of that
    survivor's own later merge, and so on (``member_id`` itself when it was not merged)."""
    for _ in range(MAX_FORWARDS):
        row = await fetch_one(
            "SELECT g.survivor_id FROM member_merge_move m JOIN member_merge g ON g.id = m.merge_id"
            " WHERE m.row_id = {} AND m.kind = 'member' AND g.undone_at IS NULL",
            member_id,
        )
        if row is None:
            return member_id
        member_id = row["survivor_id"]
    return member_id


async def _refuse_duplicate(program_id: uuid.UUID, columns: dict[str, Any], exclude: uuid.UUID | None) -> None:
    """``DuplicateMember`` when the identity hooks find another member with the same phone,
    e-mail or ID number (``columns`` carries their hashes and ``{field}_hashes``)."""
    found = await hooks().find_duplicate(program_id, columns)
    if found is not None and found[1] != exclude:
        field, member_id = found
        row = await member_row(member_id)
        raise DuplicateMember(field=field, member_no=row["member_no"])


@use_case
async def enrol(
    program_id: uuid.UUID,
    profile: dict[str, Any],
    store_id: uuid.UUID | None = None,
    actor: str = "system",
    referrer: str | None = None,
) -> MemberView:
    """Enrol a member (入会): validate, de-duplicate, encrypt, open their ledger accounts, and give
    the welcome points the program's rules promise (to the member who referred them too, when
    ``referrer`` names one by member number); a tier that asks nothing (threshold 0) is theirs
    at once."""
    from membership.ledger.bonuses import welcome  # the ledger and tiers build on members: imported late
    from membership.tiers.service import reevaluate

    program = await get_program(program_id)
    if store_id is not None:
        await check_store(program, store_id)
    if "name" not in profile:
        raise ValidationError(field="name", reason=Reason("required", "必填"))
    referrer_id = await _referrer(program_id, referrer) if referrer else None
    profile = _normalized(profile)
    refusal = await hooks().check_enrolment(program, profile)
    if refusal is not None:
        raise EnrolmentRefused(field="profile", reason=refusal)
    member_id, now = new_id(), _now()
    cipher, wrapped = pd.MemberCipher.new(member_id, pd.vault())
    columns = {**_columns(profile, cipher), "data_key": wrapped, "key_fp": cipher.vault.fingerprint}
    await _refuse_duplicate(program_id, {**columns, **_lookups(profile)}, exclude=None)
    member_no = new_member_no()
    while await fetch_one("SELECT 1 AS x FROM member WHERE program_id = {} AND member_no = {}", program_id, member_no):
        member_no = new_member_no()  # pragma: no cover - one chance in 10^11 per member
    values = {
        "id": member_id,
        "program_id": program_id,
        "member_no": member_no,
        "gender": "unknown",
        "birthday_calendar": "solar",
        "preferences": "{}",
        "tags": "[]",
        "consents": "{}",
        "source_channel": "store",
        "created_store_id": store_id,
        "referred_by": referrer_id,
        "status": "active",
        "created_at": now,
        "updated_at": now,
        **columns,
    }
    names = ", ".join(values)
    await fetch(f"INSERT INTO member ({names}) VALUES ({placeholders(values)})", *values.values())
    for kind in MEMBER_KINDS:
        await fetch(
            "INSERT INTO ledger_account (id, program_id, member_id, kind, balance, updated_at)"
            " VALUES ({}, {}, {}, {}, 0, {})",
            new_id(),
            program_id,
            member_id,
            kind,
            now,
        )
    if profile.get("consents"):
        await record_consents(program_id, member_id, {}, profile["consents"], actor, "enrol", now)
    await welcome(program, member_id, referrer_id, store_id, now, actor)
    await reevaluate(program, member_id, None, now)
    emit(
        Event("member.enrolled", program_id, member_id, {"store_id": store_id, "actor": actor, "referrer": referrer_id})
    )
    return _view(await member_row(member_id), reveal=False)


async def _referrer(program_id: uuid.UUID, member_no: str) -> uuid.UUID:
    """The active member of the program with this member number (推荐人)."""
    row = await fetch_one(
        "SELECT id FROM member WHERE program_id = {} AND member_no = {} AND status = 'active'",
        program_id,
        member_no.strip(),
    )
    if row is None:
        raise ValidationError(
            field="referrer",
            reason=Reason(f"no member has the number {member_no!r}", f"没有会员号为 {member_no!r} 的会员"),
        )
    return row["id"]


@use_case
async def update_profile(member_id: uuid.UUID, changes: dict[str, Any], actor: str = "system") -> MemberView:
    """Change profile fields (``None`` clears an optional one); audited with the field names."""
    row = await active_member(member_id)
    if not changes:
        return _view(row, reveal=False)
    profile = _normalized(changes)
    cipher = await member_cipher(row)
    columns = _columns(profile, cipher)
    await _refuse_duplicate(row["program_id"], {**columns, **_lookups(profile)}, exclude=member_id)
    if "consents" in profile:
        before = json_column(row["consents"]) or {}
        await record_consents(row["program_id"], member_id, before, profile["consents"] or {}, actor, "profile")
    columns["updated_at"] = _now()
    assignments = ", ".join(f"{name} = {{}}" for name in columns)
    await fetch(
        f"UPDATE member SET {assignments} WHERE program_id = {{}} AND id = {{}}",
        *columns.values(),
        row["program_id"],
        member_id,
    )
    await audit.record(actor, "member.update", "member", member_id, row["program_id"], {"fields": sorted(changes)})
    return _view(await member_row(member_id), reveal=False)


async def get_member(member_id: uuid.UUID, reveal: bool = False, actor: str = "system") -> MemberView:
    """A member's profile, masked; ``reveal=True`` shows personal data and writes an audit entry."""
    if not reveal:
        return _view(await member_row(member_id), reveal=False)
    return await _reveal(member_id, actor)


@use_case
async def _reveal(member_id: uuid.UUID, actor: str) -> MemberView:
    row = await member_row(member_id)
    await audit.record(actor, "member.view_personal_data", "member", member_id, row["program_id"])
    return _view(row, reveal=True)


@use_case
async def issue_credential(
    member_id: uuid.UUID,
    kind: str,
    value: str | None = None,
    store_id: uuid.UUID | None = None,
    actor: str = "system",
    replaces_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Bind a card, QR token, barcode, openid or a kind a plugin registered to a member (发卡).
    ``value`` None for a kind that generates values (``qr_token``) makes a fresh one. The
    answer's ``hint`` is the kind's mask of the value and ``value`` the canonical value; a secret
    kind's answer has neither (its value is sealed, hashed and never shown)."""
    row = await active_member(member_id)
    spec = issuable_kind(kind, await get_program(row["program_id"]))
    if value is None and spec.generate is not None:
        value = spec.generate()
    if not value or not value.strip():
        raise ValidationError(field="value", reason=Reason("required", "必填"))
    canonical = hooks().normalize_credential(kind, value)
    cipher = await member_cipher(row)
    field = f"credential:{kind}"
    digests = pd.lookup_hashes(field, canonical)  # a card a key rotation has not reached has the old hash
    if await fetch_one(
        "SELECT id FROM credential WHERE program_id = {} AND kind = {} AND state = 'active'"
        f" AND value_hash IN ({placeholders(digests)})",
        row["program_id"],
        kind,
        *digests,
    ):
        raise CredentialExists(kind=spec.labels)
    credential_id, now, shown = new_id(), _now(), spec.hint_of(canonical)
    await fetch(
        "INSERT INTO credential (id, program_id, member_id, kind, value_hash, value_enc, value_hint, state,"
        " replaces_id, store_id, issued_at, changed_at) VALUES ({}, {}, {}, {}, {}, {}, {}, 'active', {}, {}, {}, {})",
        credential_id,
        row["program_id"],
        member_id,
        kind,
        cipher.lookup_hash(field, canonical),
        cipher.seal(field, canonical),  # a secret kind's too: the key rotation rehashes it (see the hook)
        shown,
        replaces_id,
        store_id,
        now,
        now,
    )
    await audit.record(actor, "credential.issue", "credential", credential_id, row["program_id"], {"kind": kind})
    emit(Event("credential.issued", row["program_id"], member_id, {"credential_id": credential_id, "kind": kind}))
    value_out = None if spec.secret else canonical
    return {"id": credential_id, "kind": kind, "hint": shown, "state": "active", "value": value_out}


async def credential_row(credential_id: uuid.UUID) -> dict[str, Any]:
    """A credential's row; ``CredentialNotFound`` when there is none."""
    row = await fetch_one("SELECT * FROM credential WHERE id = {}", credential_id)
    if row is None:
        raise CredentialNotFound(kind=credential_id)
    return row


async def _set_state(row: dict[str, Any], state: CredentialState, actor: str, reason: str) -> None:
    await fetch(
        "UPDATE credential SET state = {}, changed_at = {} WHERE program_id = {} AND id = {}",
        state.value,
        _now(),
        row["program_id"],
        row["id"],
    )
    await audit.record(
        actor, f"credential.{state.value}", "credential", row["id"], row["program_id"], {"reason": reason}
    )


@use_case
async def block_credential(
    credential_id: uuid.UUID, actor: str = "system", reason: str = "", lost: bool = False
) -> None:
    """Block a credential (挂失 when ``lost``): identifying with it fails from now on."""
    row = await credential_row(credential_id)
    state = CredentialState.LOST if lost else CredentialState.BLOCKED
    await _set_state(row, state, actor, reason)
    emit(
        Event(
            "credential.blocked",
            row["program_id"],
            row["member_id"],
            {"credential_id": credential_id, "state": state.value},
        )
    )


@use_case
async def replace_credential(
    credential_id: uuid.UUID, new_value: str | None = None, actor: str = "system", reason: str = ""
) -> dict[str, Any]:
    """Replace a lost or worn card with a new one (补卡/换卡); balances stay with the member."""
    row = await credential_row(credential_id)
    if row["state"] == CredentialState.REPLACED:
        raise ValidationError(field="credential", reason=Reason("already replaced", "该凭证已被替换"))
    await _set_state(row, CredentialState.REPLACED, actor, reason)
    new = await issue_credential(
        row["member_id"], row["kind"], new_value, row["store_id"], actor, replaces_id=row["id"]
    )
    emit(Event("credential.replaced", row["program_id"], row["member_id"], {"old": credential_id, "new": new["id"]}))
    return new


async def list_credentials(member_id: uuid.UUID) -> list[dict[str, Any]]:
    """A member's credentials, newest first, values shown only by their hint (the kind's mask:
    the last four characters unless the kind says otherwise; nothing for a secret kind)."""
    return await fetch(
        "SELECT id, kind, value_hint AS hint, state, replaces_id, issued_at, changed_at FROM credential"
        " WHERE member_id = {} ORDER BY issued_at DESC",
        member_id,
    )


async def identify(program_id: uuid.UUID, kind: str, value: str) -> uuid.UUID:
    """The member a card, QR token, barcode, phone, openid or a plugin's kind belongs to
    (刷卡识别); ``UnknownCredentialKind`` (listing the kinds) for a kind nobody registered."""
    spec = credential_kind(kind, await get_program(program_id))
    if not value or not value.strip():
        raise ValidationError(field="value", reason=Reason("required", "必填"))
    canonical = hooks().normalize_credential(kind, value)
    member_id = await hooks().identify(program_id, kind, canonical)
    if member_id is None:
        raise CredentialNotFound(kind=spec.labels)
    return member_id


async def search_members(
    program_id: uuid.UUID,
    q: str = "",
    page: int = 1,
    page_size: int = 20,
    tier: str | None = None,
    store_id: uuid.UUID | None = None,
) -> tuple[list[MemberView], int]:
    """Members matching a name fragment, member number, or the value of a kind staff present at
    the counter (phone, card, QR code, barcode, a plugin's kind) (and, when given, a tier and the
    store they enrolled at); one page, newest first, and the total count."""
    if page < 1 or not 1 <= page_size <= 200:
        raise ValidationError(
            field="page", reason=Reason("page ≥ 1 and 1 ≤ page_size ≤ 200", "须 page ≥ 1 且 1 ≤ page_size ≤ 200")
        )
    where, args = "program_id = {} AND status = 'active'", [program_id]
    if tier is not None:
        where += " AND tier = {}"
        args.append(tier)
    if store_id is not None:
        where += " AND created_store_id = {}"
        args.append(store_id)
    q = q.strip()
    if q:
        ids = set()
        program = await get_program(program_id)
        for kind in [name for name, spec in credential_kinds(program).items() if spec.at_counter]:
            try:
                ids.add(await identify(program_id, kind, q))
            except MembershipError:  # not a phone, unknown or blocked card: not a match
                continue
        conditions = ["name LIKE {} ESCAPE '\\'", "member_no = {}"]
        args += [f"%{escape_like(q)}%", q]
        if ids:
            conditions.append("id IN (" + placeholders(ids) + ")")
            args += sorted(ids)
        where += " AND (" + " OR ".join(conditions) + ")"
    total = (await fetch_one(f"SELECT COUNT(*) AS n FROM member WHERE {where}", *args))["n"]
    rows = await fetch(
        f"SELECT * FROM member WHERE {where} ORDER BY created_at DESC, id LIMIT {{}} OFFSET {{}}",
        *args,
        page_size,
        (page - 1) * page_size,
    )
    return [_view(row, reveal=False) for row in rows], total
