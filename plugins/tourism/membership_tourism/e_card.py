"""The pass's e-card (电子年卡): a QR code that changes every few seconds (30 by default), so a
screenshot stops opening the gates soon after it was taken.

Each pass has a random key, sealed under its holder's data key (``seal_member_secret``): erasing
the holder makes every code of the pass unreadable. The code for one person on the pass (holder
or family member) at period ``step`` (whole ``qr_step_seconds`` since the epoch) is an HMAC of the
person and the period under that key, shown as the QR text ``TP1.<person>.<step>.<code>``. A gate
accepts the current period and ``qr_tolerance_steps`` before it; a code of an older period is a
screenshot (``code_expired``); one that does not verify is not the pass's (``code_invalid``); and
one that opened a gate already opens no other (``code_used``).

Tills take the same text as the credential kind ``pass_qr`` (``membership_identify``), so the
e-card identifies its holder at the hotel, the restaurant and the shops too.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import re
import uuid

from membership.plugin import CredentialKindSpec, ProgramConfig, open_member_secret, seal_member_secret
from membership_tourism.settings import settings_of

KIND_NAME = "pass_qr"
FIELD = "tourism:pass"
PREFIX = "TP1"
_TOKEN = re.compile(r"^TP1\.([0-9a-f]{32})\.(\d{1,12})\.(\d{8})$")

KIND = CredentialKindSpec(
    KIND_NAME, "年卡电子码", "pass e-card code", normalize=lambda value: value.strip(), issuable=False
)


@dataclasses.dataclass(frozen=True)
class Code:
    """An e-card code as the member's phone shows it: the QR text, its period and when it stops."""

    token: str
    step: int
    valid_until: dt.datetime
    step_seconds: int


@dataclasses.dataclass(frozen=True)
class Scanned:
    """A QR text read at a gate, taken apart (nothing checked yet)."""

    person_id: uuid.UUID
    step: int
    code: str


def new_key() -> str:
    """A fresh random key for a pass (before it is sealed)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def seal_key(holder_id: uuid.UUID, key: str) -> str:
    """The pass key sealed under the holder's data key, for the pass's row."""
    return await seal_member_secret(holder_id, FIELD, key)


def step_of(program: ProgramConfig, moment: dt.datetime) -> int:
    """The period ``moment`` falls in."""
    return int(moment.timestamp()) // settings_of(program).qr_step_seconds


def _digits(key: str, person_id: uuid.UUID, step: int) -> str:
    mac = hmac.new(base64.urlsafe_b64decode(key), f"{person_id.hex}:{step}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10**8:08d}"


async def code_for(
    program: ProgramConfig, holder_id: uuid.UUID, sealed: str, person_id: uuid.UUID, at: dt.datetime
) -> Code:
    """The code ``person_id`` shows at ``at``."""
    key = await open_member_secret(holder_id, FIELD, sealed)
    seconds = settings_of(program).qr_step_seconds
    step = step_of(program, at)
    until = dt.datetime.fromtimestamp((step + 1) * seconds, dt.UTC)
    return Code(f"{PREFIX}.{person_id.hex}.{step}.{_digits(key, person_id, step)}", step, until, seconds)


def parse(text: str) -> Scanned | None:
    """The parts of a QR text, or None when it is no e-card code of the pack."""
    found = _TOKEN.match((text or "").strip())
    if found is None:
        return None
    return Scanned(uuid.UUID(found[1]), int(found[2]), found[3])


async def verdict(program: ProgramConfig, holder_id: uuid.UUID, sealed: str, scanned: Scanned, at: dt.datetime) -> str:
    """``""`` when the code is good at ``at``; else ``code_invalid`` or ``code_expired``."""
    key = await open_member_secret(holder_id, FIELD, sealed)
    if not hmac.compare_digest(_digits(key, scanned.person_id, scanned.step), scanned.code):
        return "code_invalid"
    current = step_of(program, at)
    if scanned.step > current + 1:  # a phone a little ahead of the gate is fine; far ahead is not
        return "code_invalid"
    if scanned.step < current - settings_of(program).qr_tolerance_steps:
        return "code_expired"
    return ""
