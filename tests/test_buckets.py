"""The stable 0–99 bucket of a text is the same in Python, in SQLite and in PostgreSQL (campaigns
split their control groups with it in SQL and check members with it in Python)."""

from __future__ import annotations

import uuid

from membership.db import fetch_one, is_sqlite
from membership.db.buckets import percent_bucket, percent_bucket_sql


async def test_python_and_the_database_put_every_text_in_the_same_bucket(any_db):
    texts = [f"{uuid.uuid4()}:{uuid.uuid4()}" for _ in range(300)] + ["", "会员:1", "x" * 500]
    for text in texts:
        found = await fetch_one(f"SELECT {percent_bucket_sql('CAST({} AS TEXT)', is_sqlite())} AS b", text)
        assert int(found["b"]) == percent_bucket(text), text
    assert len({percent_bucket(text) for text in texts}) > 80  # spread over the hundred buckets
