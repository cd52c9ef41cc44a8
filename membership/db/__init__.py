"""Storage: engine selection, transactions with retries, raw SQL helpers and migrations.

Kernel code imports from here::

    from membership.db import fetch, fetch_one, use_case
"""

import os

# Piccolo finds its engine and apps through this module (also for `piccolo` CLI commands).
os.environ.setdefault("PICCOLO_CONF", "membership.db.piccolo_conf")

from membership.db.engine import close_database, current_engine, is_sqlite, open_database
from membership.db.ids import new_id
from membership.db.sql import any_of, execute, fetch, fetch_one, fetch_page, id_set, placeholders, rows_table
from membership.db.transaction import after_commit, emit, job_chunk, use_case

__all__ = [
    "after_commit",
    "any_of",
    "close_database",
    "current_engine",
    "emit",
    "execute",
    "fetch",
    "fetch_one",
    "fetch_page",
    "id_set",
    "is_sqlite",
    "job_chunk",
    "new_id",
    "open_database",
    "placeholders",
    "rows_table",
    "use_case",
]
