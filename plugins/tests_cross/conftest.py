"""Fixtures of the tests that run several packs in one deployment: the kernel's databases
(``tests/conftest.py`` of the repository: a migrated SQLite file per test, a throwaway PostgreSQL 15
cluster, ``any_db`` for both) and the kernel's test kit (``load_plugins`` loads installed packs
through their entry points and migrates their tables)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if (ROOT / "tests" / "conftest.py").exists() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the kernel's test fixtures, as `pytest plugins/tests_cross` from the root

from tests import conftest as kernel  # noqa: E402

# the kernel's database fixtures, shared with its own tests
sqlite_template, pg_server, pg_template = kernel.sqlite_template, kernel.pg_server, kernel.pg_template
db, pg_db, any_db = kernel.db, kernel.pg_db, kernel.any_db
