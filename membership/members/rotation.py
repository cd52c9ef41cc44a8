"""Moving personal data to a new master key (``membership keys rotate``).

A rotation records the new key as current and the old one as retiring, then takes the members
whose data is not yet under the new key, a chunk at a time, each chunk one transaction: it
re-wraps each member's data key (the sealed data stays as it is), re-seals what predates data
keys, and recomputes the keyed hashes of phones, e-mails, ID numbers and card values with the new
key. Meanwhile both keys are configured, so identify and enrolment find a member under either
hash. It can stop at any point and be run again: it continues with the members left. When none
are left the old key is retired and may be forgotten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from membership.db import fetch, fetch_one, is_sqlite, placeholders, use_case
from membership.errors import Reason, ValidationError
from membership.members import personal_data as pd
from membership.members.keyring import known_keys

ENCRYPTED = ("phone", "email", "id_number", "address")
HASHED = ("phone", "email", "id_number")
CHUNK = 500


@dataclasses.dataclass(frozen=True)
class Resealed:
    """A member's columns under the current key, and their credentials' (id, value_enc, value_hash)."""

    member: dict[str, Any]
    credentials: list[tuple[uuid.UUID, str, str]]
    cipher: pd.MemberCipher


def reseal(row: dict[str, Any], credentials: list[dict[str, Any]]) -> Resealed:
    """The member ``row`` (with its ``credentials``) under the current master key: data key
    re-wrapped, ``v1.`` ciphertexts sealed again under the data key, every hash recomputed."""
    old = pd.member_cipher(row)
    cipher, wrapped = old.rewrapped(pd.vault())
    member: dict[str, Any] = {"data_key": wrapped, "key_fp": cipher.vault.fingerprint}
    if row["status"] == "erased":  # nothing left to seal: the data key is gone for good
        member["data_key"] = None
    for field in ENCRYPTED:
        token = row[f"{field}_enc"]
        if not token:
            continue
        plain = old.open(field, token)
        member[f"{field}_enc"] = cipher.seal(field, plain) if token.startswith(f"{pd.VERSION}.") else token
        if field in HASHED:
            member[f"{field}_hash"] = cipher.lookup_hash(field, plain)
    moved = []
    for credential in credentials:
        token, field = credential["value_enc"], f"credential:{credential['kind']}"
        if not token:  # erased
            continue
        plain = old.open(field, token)
        sealed = cipher.seal(field, plain) if token.startswith(f"{pd.VERSION}.") else token
        moved.append((credential["id"], sealed, cipher.lookup_hash(field, plain)))
    return Resealed(member, moved, cipher)


async def write_resealed(row: dict[str, Any], resealed: Resealed) -> None:
    """Store what :func:`reseal` made for the member ``row`` (its ``id`` and ``program_id``)."""
    assignments = ", ".join(f"{name} = {{}}" for name in resealed.member)
    await fetch(
        f"UPDATE member SET {assignments} WHERE program_id = {{}} AND id = {{}}",
        *resealed.member.values(),
        *(row["program_id"], row["id"]),
    )
    for credential_id, sealed, digest in resealed.credentials:
        await fetch(
            "UPDATE credential SET value_enc = {}, value_hash = {} WHERE program_id = {} AND id = {}",
            *(sealed, digest, row["program_id"], credential_id),
        )


async def member_cipher(row: dict[str, Any]) -> pd.MemberCipher:
    """The cipher of the member ``row``; a member from before data keys is sealed under one first
    (its personal data and cards sealed again, and stored)."""
    if row["data_key"] is not None:
        return pd.member_cipher(row)
    cards = await fetch(
        "SELECT id, kind, value_enc FROM credential WHERE program_id = {} AND member_id = {}",
        *(row["program_id"], row["id"]),
    )
    resealed = reseal(row, cards)
    await write_resealed(row, resealed)
    return resealed.cipher


@dataclasses.dataclass(frozen=True)
class RotationState:
    """Where a rotation stands: the current key, the one being retired, members left to move."""

    current: str | None
    retiring: list[str]
    remaining: int


async def rotation_state() -> RotationState:
    """The database's keys and how many members are not yet under the current one."""
    keys = await known_keys()
    current = next((k["fingerprint"] for k in keys if k["state"] == "current"), None)
    retiring = [k["fingerprint"] for k in keys if k["state"] == "retiring"]
    left = await fetch_one("SELECT COUNT(*) AS n FROM member WHERE key_fp IS NULL OR key_fp <> {}", current or "")
    return RotationState(current, retiring, int(left["n"]) if retiring else 0)


@use_case
async def begin_rotation() -> RotationState:
    """Make the configured key current and the database's current key retiring. The configured
    old keys must hold the database's current key (so its data can still be read)."""
    configured = pd.vaults()
    new = configured[0].fingerprint
    state = await rotation_state()
    if state.current is None and len(configured) > 1:  # a database from before fingerprints: the old key's
        now = dt.datetime.now(dt.UTC)
        old = configured[1].fingerprint
        await fetch("INSERT INTO encryption_key (fingerprint, state, created_at) VALUES ({}, 'current', {})", old, now)
        state = await rotation_state()
    if state.current == new:
        return state  # begun already (or nothing to do): carry on
    if state.retiring:
        raise ValidationError(
            field="secret_key",
            reason=Reason(
                f"a rotation to {state.current} is under way: finish it first",
                f"正在换用密钥 {state.current}，请先完成该轮换",
            ),
        )
    if state.current not in {vault.fingerprint for vault in configured[1:]}:
        raise ValidationError(
            field="old_secret_keys",
            reason=Reason(
                f"must hold the database's current key {state.current}",
                f"须包含数据库当前的密钥 {state.current}",
            ),
        )
    now = dt.datetime.now(dt.UTC)
    await fetch("UPDATE encryption_key SET state = 'retiring' WHERE fingerprint = {}", state.current)
    await fetch("INSERT INTO encryption_key (fingerprint, state, created_at) VALUES ({}, 'current', {})", new, now)
    return await rotation_state()


@use_case
async def _move_chunk(current: str, size: int, program_id: uuid.UUID) -> int:
    """Move the program's next ``size`` members (and their cards) to the current key; how many
    moved. (One program at a time: on Citus a locking read names the distribution column.)"""
    lock = "" if is_sqlite() else " FOR NO KEY UPDATE"
    rows = await fetch(
        "SELECT id, program_id, status, data_key, key_fp, phone_enc, email_enc, id_number_enc, address_enc FROM member"
        f" WHERE program_id = {{}} AND (key_fp IS NULL OR key_fp <> {{}}) ORDER BY id LIMIT {{}}{lock}",
        program_id,
        current,
        size,
    )
    if not rows:
        return 0
    ids = [row["id"] for row in rows]
    cards: dict[Any, list[dict[str, Any]]] = {}
    for card in await fetch(
        f"SELECT id, member_id, kind, value_enc FROM credential WHERE member_id IN ({placeholders(ids)})", *ids
    ):
        cards.setdefault(card["member_id"], []).append(card)
    for row in rows:
        await write_resealed(row, reseal(row, cards.get(row["id"], [])))
    return len(rows)


@use_case
async def _finish(retiring: list[str]) -> None:
    await fetch(
        "UPDATE encryption_key SET state = 'retired', retired_at = {}"
        f" WHERE fingerprint IN ({placeholders(retiring)})",
        dt.datetime.now(dt.UTC),
        *retiring,
    )


async def rotate(progress: Callable[[int, int], None], chunk: int = CHUNK) -> RotationState:
    """Begin (or resume) the rotation to the configured key and move every member to it,
    reporting ``progress(done, total)``, then the gift cards' codes; the old key is retired at the
    end."""
    from membership.giftcards import service as giftcards  # it seals with members' vaults: imported late

    state = await begin_rotation()
    total, done = state.remaining, 0
    progress(0, total)
    programs = [row["id"] for row in await fetch("SELECT id FROM program ORDER BY id")]
    for program_id in programs:
        while moved := await _move_chunk(state.current, chunk, program_id):
            done += moved
            progress(done, max(total, done))
    for program_id in programs:  # bearer gift cards' codes, sealed alike
        while await giftcards.reseal_chunk(state.current, chunk, program_id):
            pass
    if state.retiring:
        await _finish(state.retiring)
    return await rotation_state()
