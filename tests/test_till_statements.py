"""The till's purchase stays within its budget of round trips to the database (issue 23): every
statement the driver sends is counted — Piccolo's, our own SQL, BEGIN and COMMIT, savepoints,
what a pooled connection sends when it goes back — so a change that adds one fails here instead
of slowing every shop's till. Throughput and latency are measured by bench/earn.py, not here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from membership.db import engine as db_engine
from membership.db import fetch_one
from tests.helpers import ledger_violations

# BEGIN, the member locked, the key looked up, the accounts read, the sale with its lines and
# payments (one statement on PostgreSQL, three on SQLite), the posting, the balances (one UPDATE),
# the lot, the entries, the sale's earnings, the tier check, the key stored, COMMIT. SQLite adds
# the group commit's SAVEPOINT and RELEASE.
BUDGET = {"sqlite": 17, "postgres": 13}
REPLAY_BUDGET = {"sqlite": 6, "postgres": 4}  # BEGIN, member, key found, COMMIT (+ savepoint pair)


@contextlib.contextmanager
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs, as the driver sends it."""
    sent: list[str] = []

    def counted(method):
        async def run(self, query, *args, **kwargs):
            sent.append(" ".join(str(query).split())[:100])
            return await method(self, query, *args, **kwargs)

        return run

    with monkeypatch.context() as patch:
        patch.setattr(db_engine.InlineConnection, "execute", counted(db_engine.InlineConnection.execute))
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            patch.setattr(asyncpg.Connection, name, counted(getattr(asyncpg.Connection, name)))
        yield sent


async def test_a_purchase_stays_within_its_round_trips(any_api, monkeypatch):
    api = any_api
    engine = "sqlite" if db_engine.is_sqlite() else "postgres"
    for _ in range(2):  # the program, its rules and the key are cached after the first sales
        assert (await api.buy(api.sale(), key="store")).status_code == 201
    key = uuid.uuid4().hex
    with round_trips(monkeypatch) as sent:
        answer = await api.buy(api.sale(8_800), key="store", idem=key)
    assert answer.status_code == 201, answer.text
    assert len(sent) <= BUDGET[engine], "\n".join(sent)
    assert any(s.startswith("INSERT INTO ledger_entry") for s in sent)  # counted where the work happens
    body = answer.json()
    assert body["points_earned"] == 88 and body["balances"]["points"] == 2 * 99 + 88
    sale = await fetch_one("SELECT points_earned, growth_earned FROM sale WHERE id = {}", body["id"])
    assert (sale["points_earned"], sale["growth_earned"]) == (88, body["growth_earned"])
    assert await ledger_violations() == []

    with round_trips(monkeypatch) as sent:
        replay = await api.buy(api.sale(8_800), key="store", idem=key)
    assert replay.status_code == 201 and replay.json() == body
    assert len(sent) <= REPLAY_BUDGET[engine], "\n".join(sent)
