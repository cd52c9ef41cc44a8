"""What a sound database (and so a sound backup) satisfies: the ledger's invariants, a readable
schema, and personal data that opens with the deployment's secret key.

The checks are plain SQL that reads the same on SQLite and PostgreSQL, run through a ``query``
function (one statement in, its rows as dicts out), so one copy serves the current database
(tests, :func:`ledger_violations` with no argument), a SQLite backup file and a PostgreSQL dump
restored into a scratch database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from membership.backup.errors import BackupInvalid
from membership.errors import NotConfigured, Reason

Query = Callable[[str], Awaitable[list[dict[str, Any]]]]

PERSONAL_FIELDS = ("phone", "email", "id_number", "address")  # member.<field>_enc, AES-GCM
SHOWN_PROBLEMS = 3  # an error line names the first few problems and counts the rest

_LEDGER_CHECKS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    (
        "SELECT a.id, a.kind, a.balance, COALESCE(e.total, 0) AS total FROM ledger_account a"
        " LEFT JOIN (SELECT account_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entry GROUP BY account_id) e"
        " ON e.account_id = a.id WHERE (a.member_id IS NOT NULL OR a.kind = 'gift_card')"
        " AND a.balance <> COALESCE(e.total, 0)",
        lambda row: f"account {row['kind']} balance {row['balance']} != entries {row['total']}",
    ),
    (
        "SELECT posting_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entry GROUP BY posting_id"
        " HAVING SUM(amount) <> 0",
        lambda row: f"posting {row['posting_id']} sums to {row['total']}",
    ),
    (
        "SELECT kind, balance FROM ledger_account WHERE (member_id IS NOT NULL OR kind = 'gift_card') AND"
        " ((kind <> 'points_debt' AND balance < 0) OR (kind = 'points_debt' AND balance > 0))",
        lambda row: f"{row['kind']} balance {row['balance']} out of range",
    ),
    (
        "SELECT a.balance, COALESCE(l.remaining, 0) AS remaining FROM ledger_account a"
        " LEFT JOIN (SELECT account_id, CAST(SUM(remaining) AS BIGINT) AS remaining FROM points_lot"
        " GROUP BY account_id) l"
        " ON l.account_id = a.id"
        " WHERE a.kind IN ('points', 'points_pending') AND a.balance <> COALESCE(l.remaining, 0)",
        lambda row: f"points balance {row['balance']} != lots remaining {row['remaining']}",
    ),
    (
        "SELECT a.kind, a.balance, COALESCE(l.remaining, 0) AS remaining FROM ledger_account a"
        " LEFT JOIN (SELECT account_id, CAST(SUM(remaining) AS BIGINT) AS remaining FROM stored_value_lot"
        " GROUP BY account_id) l ON l.account_id = a.id"
        " WHERE a.kind IN ('stored_value', 'stored_value_bonus') AND a.balance <> COALESCE(l.remaining, 0)",
        lambda row: f"{row['kind']} balance {row['balance']} != lots remaining {row['remaining']}",
    ),
)


@dataclasses.dataclass(frozen=True)
class Verified:
    """A database that passed verification, and what it holds."""

    file: str
    members: int
    accounts: int
    entries: int
    sales: int
    key_checked: bool  # a sample of personal data opened with the secret key

    def summary(self) -> str:
        """One line for a person: what was checked and found sound."""
        key = ", secret key opens personal data" if self.key_checked else ""
        return (
            f"verified 校验通过: {self.members:,} members, {self.sales:,} sales, {self.entries:,} ledger entries"
            f" in {self.accounts:,} accounts; ledger balanced{key}"
        )


async def ledger_violations(query: Query | None = None) -> list[str]:
    """Every broken ledger invariant, as text (empty when the ledger is sound).

    Each member account's (and gift card's) balance equals the sum of its entries; every posting
    sums to zero; no balance is out of range (below zero, or a points debt above zero); points
    and stored-value balances equal what their lots hold. ``query`` runs one statement and returns its rows
    (default: :func:`membership.db.fetch` on the current database)."""
    if query is None:
        from membership.db import fetch as query
    problems = []
    for sql, describe in _LEDGER_CHECKS:
        problems.extend(describe(row) for row in await query(sql))
    return problems


async def personal_samples(query: Query) -> list[tuple[str, dict]]:
    """(field, member row): one member holding each personal field the database holds, with the
    member's wrapped data key."""
    samples = []
    for field in PERSONAL_FIELDS:
        rows = await query(
            f"SELECT id, data_key, {field}_enc AS token FROM member WHERE {field}_enc IS NOT NULL LIMIT 1"
        )
        samples.extend((field, row) for row in rows)
    return samples


def key_problems(samples: list[tuple[str, dict]], master_keys: list[bytes]) -> list[str]:
    """The personal fields whose sample opens with none of ``master_keys`` (empty: the keys fit)."""
    import uuid

    from membership.members.personal_data import MemberCipher, Vault

    def opens(field: str, row: dict, vault: Vault) -> bool:
        try:
            member_id = row["id"] if isinstance(row["id"], uuid.UUID) else uuid.UUID(str(row["id"]))
            data_key = vault.unwrap(member_id, row["data_key"]) if row["data_key"] else None
            MemberCipher(member_id, vault, data_key).open(field, row["token"])
        except (NotConfigured, ValueError):
            return False
        return True

    vaults = [Vault(key) for key in master_keys]
    return [
        f"member {field} does not open with this deployment's secret key"
        for field, row in samples
        if not any(opens(field, row, vault) for vault in vaults)
    ]


def invalid(file: object, en: str, zh: str) -> BackupInvalid:
    """The error for a backup that failed a check (``en``/``zh``: what was found)."""
    return BackupInvalid(file=str(file), problem=Reason(en, zh))


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return f"{shown} (+{more} more)" if more > 0 else shown


async def verify_database(query: Query, file: object, master_keys: list[bytes] | None) -> Verified:
    """Check the database ``query`` reads (``file`` names it in messages): it has the kernel's
    schema, the ledger invariants hold, and (given ``master_keys``) personal data opens with the
    key. Raises :class:`BackupInvalid` naming the first problems."""
    counted = await query(
        "SELECT (SELECT COUNT(*) FROM member) AS members, (SELECT COUNT(*) FROM ledger_account) AS accounts,"
        " (SELECT COUNT(*) FROM ledger_entry) AS entries, (SELECT COUNT(*) FROM sale) AS sales,"
        " (SELECT COUNT(*) FROM migration) AS migrations"
    )
    problems = await ledger_violations(query)
    if problems:
        raise invalid(file, f"ledger: {_listed(problems)}", f"账本不平：{_listed(problems)}")
    samples = await personal_samples(query) if master_keys is not None else []
    if master_keys is not None and (wrong := key_problems(samples, master_keys)):
        raise invalid(
            file,
            f"{wrong[0]}: use the secret_key the backup was made with",
            "个人信息无法用本部署的密钥（secret_key）解密：请使用做备份时的密钥",
        )
    row = counted[0]
    return Verified(
        str(file), int(row["members"]), int(row["accounts"]), int(row["entries"]), int(row["sales"]), bool(samples)
    )
