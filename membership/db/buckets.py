"""A stable bucket from 0 to 99 for a text, the same in Python, SQLite and PostgreSQL: the first four
bytes of its SHA-256 as a big-endian number, modulo 100. Campaigns split their control groups with
it in one statement over every member of an audience."""

from __future__ import annotations

import hashlib


def percent_bucket(text: str) -> int:
    """``text``'s bucket (0–99)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 100


def percent_bucket_sql(expression: str, sqlite: bool) -> str:
    """SQL for the bucket of the text ``expression``: the ``percent_bucket()`` function each
    SQLite connection has, PostgreSQL's ``sha256()``."""
    if sqlite:
        return f"percent_bucket({expression})"
    digest = f"encode(sha256(convert_to({expression}, 'UTF8')), 'hex')"
    return f"(CAST(CAST(('x' || substr({digest}, 1, 8)) AS bit(32)) AS bigint) % 100)"
