"""Row ids: time-ordered UUIDs (version 7, RFC 9562).

A new row's id sorts after the ids written before it, so inserting appends at the right edge of
the primary-key index instead of dirtying a random leaf page (with version 4 ids every insert into
a big table rewrites a random page: on SQLite a whole 4 KiB page goes to the WAL per row). Ids
keep 74 random bits, enough to be unguessable for keys that are not secrets; secrets (API keys,
session tokens) come from ``secrets`` instead.

Set-based SQL calls ``uuid7()``: a Python function registered on every SQLite connection, and a
SQL function created by a ledger migration on PostgreSQL.
"""

from __future__ import annotations

import uuid

import uuid_utils
from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A new row id: a version 7 UUID (milliseconds since the epoch, then random bits)."""
    return uuid7()


def new_id_text() -> str:
    """:func:`new_id` as text, as SQLite stores UUID columns (the SQLite ``uuid7()`` function, called
    once per row by set-based SQL: the library's own UUID type makes the text six times as fast as
    the standard library's)."""
    return str(uuid_utils.uuid7())


# PostgreSQL's uuid7(): a random (version 4) UUID whose first 48 bits become the milliseconds
# since the epoch and whose version nibble becomes 7 (bits 52 and 53 set)
POSTGRES_UUID7 = """
CREATE OR REPLACE FUNCTION uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
    substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid
$$
"""
