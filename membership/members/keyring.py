"""The master keys a database knows, by fingerprint: checked at every start.

The first start on a database records the configured key's fingerprint (after making sure it
opens the personal data already there). From then on a server, a worker or a command starts only
with that key: a missing key or another one stops it with one clear line, instead of answering
real members as unknown and enrolling them twice under the wrong key. While
``membership keys rotate`` moves personal data to a new key (:mod:`membership.members.rotation`),
both keys must be configured: the new one as ``secret_key``, the old one in ``old_secret_keys``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from membership.db import fetch, fetch_one, use_case
from membership.errors import NotConfigured, WrongSecretKey
from membership.members import personal_data as pd


async def known_keys() -> list[dict[str, Any]]:
    """The fingerprints the database knows (current, retiring, retired), oldest first."""
    return await fetch("SELECT fingerprint, state, created_at, retired_at FROM encryption_key ORDER BY created_at")


async def check_keys() -> None:
    """Refuse to go on unless the configured keys are the database's: the current key seals new
    data, and every key a rotation is still moving data off must be configured too."""
    configured = pd.vaults()  # NotConfigured without a secret key
    rows = [row for row in await known_keys() if row["state"] != "retired"]
    if not rows:
        await _adopt(configured[0])
        return
    current = next(row["fingerprint"] for row in rows if row["state"] == "current")
    given = configured[0].fingerprint
    have = {vault.fingerprint for vault in configured}
    if given != current:
        rotating = " A key rotation to it has not been started: run `membership keys rotate`."
        hint = (rotating, "尚未开始换用该密钥：请运行 `membership keys rotate`。") if current in have else ("", "")
        raise WrongSecretKey(expected=current, given=given, hint_en=hint[0], hint_zh=hint[1])
    missing = [row["fingerprint"] for row in rows if row["state"] == "retiring" and row["fingerprint"] not in have]
    if missing:
        raise WrongSecretKey(
            expected=", ".join([current, *missing]),
            given=", ".join(sorted(have)),
            hint_en=" A key rotation is under way: also set MEMBERSHIP_OLD_SECRET_KEYS to the old key until it ends.",
            hint_zh="密钥轮换尚未完成：在完成前还需把旧密钥设在 MEMBERSHIP_OLD_SECRET_KEYS 中。",
        )


@use_case
async def _adopt(vault: pd.Vault) -> None:
    """Record ``vault``'s key as the database's, once it opens the personal data already there
    (a database from before fingerprints, or a new one)."""
    sample = await fetch_one(
        "SELECT id, data_key, key_fp, phone_enc, email_enc, id_number_enc, address_enc FROM member"
        " WHERE phone_enc IS NOT NULL OR email_enc IS NOT NULL OR id_number_enc IS NOT NULL"
        " OR address_enc IS NOT NULL LIMIT 1"
    )
    if sample is not None:
        field = next(f for f in ("phone", "email", "id_number", "address") if sample[f"{f}_enc"])
        try:
            cipher = pd.MemberCipher(sample["id"], vault, None)
            if sample["data_key"]:
                cipher = pd.MemberCipher(sample["id"], vault, vault.unwrap(sample["id"], sample["data_key"]))
            cipher.open(field, sample[f"{field}_enc"])
        except NotConfigured:
            raise WrongSecretKey(expected="(unrecorded)", given=vault.fingerprint, hint_en="", hint_zh="") from None
    await fetch(
        "INSERT INTO encryption_key (fingerprint, state, created_at) VALUES ({}, 'current', {})"
        " ON CONFLICT (fingerprint) DO NOTHING",
        vault.fingerprint,
        dt.datetime.now(dt.UTC),
    )
