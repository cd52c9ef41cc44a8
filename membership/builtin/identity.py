"""Built-in identity: the built-in credential kinds, normalisation, lookup by keyed hash,
profile tidying, duplicates."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from membership.db import fetch_one, placeholders
from membership.errors import CredentialBlocked, CredentialReplaced
from membership.hookspecs import hookimpl
from membership.members import personal_data as pd
from membership.members.credentials import CredentialKindSpec, credential_kinds
from membership.members.service import survivor_of

_SEPARATORS = re.compile(r"[\s:\-]")
_STATE_ZH = {"lost": "挂失", "blocked": "冻结"}


def card_uid(value: str) -> str:
    """A card UID as readers print it in any style: hex, upper case, no separators."""
    return _SEPARATORS.sub("", value).upper()


def qr_token() -> str:
    """A fresh member QR code: 24 random URL-safe characters."""
    return secrets.token_urlsafe(18)


KINDS = (
    CredentialKindSpec("card_uid", "会员卡", "member card", normalize=card_uid),
    CredentialKindSpec("magstripe", "磁条卡", "magstripe card"),
    CredentialKindSpec("qr_token", "会员码", "member QR code", generate=qr_token),
    CredentialKindSpec("barcode", "条码", "barcode"),
    CredentialKindSpec("wechat_openid", "微信", "WeChat openid", at_counter=False),
    CredentialKindSpec("phone", "手机号", "phone number", normalize=pd.normalize_phone, issuable=False),
)


@hookimpl(trylast=True)
def membership_register_credential_kinds() -> list[CredentialKindSpec]:
    """Member cards (UID), magstripe cards, member QR codes, barcodes, WeChat openids, and the
    phone number in the member's profile."""
    return list(KINDS)


@hookimpl(trylast=True)
def membership_normalize_credential(kind: str, value: str) -> str | None:
    """The registered kind's normaliser (card UIDs: hex, upper case, no separators; phones:
    E.164; others: trimmed)."""
    spec = credential_kinds().get(kind)
    return spec.normalize(value) if spec is not None else value.strip()


@hookimpl(trylast=True)
async def membership_identify(program_id: uuid.UUID, kind: str, value: str) -> uuid.UUID | None:
    """Phone: the member whose profile has it (a merged member's: the member it was merged into).
    Other kinds: the issued credential, whose state must be active."""
    if kind == "phone":
        digests = pd.lookup_hashes("phone", value)  # one per configured key (two during a rotation)
        row = await fetch_one(
            f"SELECT id, status FROM member WHERE program_id = {{}} AND phone_hash IN ({placeholders(digests)})"
            " AND status IN ('active', 'merged')",
            program_id,
            *digests,
        )
        if row is None:
            return None
        return row["id"] if row["status"] == "active" else await survivor_of(row["id"])
    digests = pd.lookup_hashes(f"credential:{kind}", value)
    row = await fetch_one(
        f"SELECT member_id, state FROM credential WHERE program_id = {{}} AND kind = {{}}"
        f" AND value_hash IN ({placeholders(digests)})"
        " ORDER BY CASE WHEN state = 'active' THEN 0 ELSE 1 END, changed_at DESC LIMIT 1",
        program_id,
        kind,
        *digests,
    )
    if row is None:
        return None
    if row["state"] == "replaced":
        raise CredentialReplaced()
    if row["state"] != "active":
        raise CredentialBlocked(state=row["state"], state_zh=_STATE_ZH.get(row["state"], row["state"]))
    return row["member_id"]


@hookimpl(trylast=True)
def membership_normalize_profile(profile: dict[str, Any]) -> None:
    """Trim texts; upper-case ID numbers (a trailing x in 身份证号 is X); drop empty optionals."""
    for field in ("name", "phone", "email", "id_number", "address", "source_channel"):
        if isinstance(profile.get(field), str):
            profile[field] = profile[field].strip() or (None if field not in ("name", "source_channel") else "")
    if profile.get("id_number"):
        profile["id_number"] = profile["id_number"].upper()
    if isinstance(profile.get("tags"), list):
        profile["tags"] = list(dict.fromkeys(t.strip() for t in profile["tags"] if isinstance(t, str)))


@hookimpl(trylast=True)
async def membership_find_duplicate(program_id: uuid.UUID, profile: dict[str, Any]) -> tuple[str, uuid.UUID] | None:
    """The same phone number, else the same e-mail, else the same ID number, in the program (under
    any configured key: ``{field}_hashes``, else ``{field}_hash``)."""
    for field in ("phone", "email", "id_number"):
        digests = profile.get(f"{field}_hashes") or ([profile[f"{field}_hash"]] if profile.get(f"{field}_hash") else [])
        if digests:
            row = await fetch_one(
                f"SELECT id FROM member WHERE program_id = {{}} AND {field}_hash IN ({placeholders(digests)})",
                program_id,
                *digests,
            )
            if row:
                return field, row["id"]
    return None
