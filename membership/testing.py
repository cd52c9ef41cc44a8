"""pytest fixtures for plugin authors (registered through the ``pytest11`` entry point).

* ``membership_settings`` — settings on a fresh SQLite file in a temporary folder;
* ``membership_db`` — that database opened and migrated (kernel and registered plugins);
* ``register_plugin`` — register a plugin for one test; it is unregistered afterwards;
* ``chromium`` — a headless Debian Chromium driven by Playwright, for console tests (sync tests);
* ``deliver_events()`` — deliver the outbox's events now (listeners run after the commit).

Example::

    async def test_my_rule(membership_db, register_plugin):
        register_plugin(my_plugin)
        ...
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from membership.config import Settings, new_secret_key


async def deliver_events() -> Any:
    """Deliver the events waiting in the outbox now (after the background deliveries this process
    started), so a test can assert what its listener received."""
    from membership.outbox.service import deliver_all, wait_for_background

    await wait_for_background()
    return await deliver_all()


def pytest_configure(config: pytest.Config) -> None:
    """Entry points are not loaded under test: tests register the plugins they need."""
    sys._called_from_test = True  # type: ignore[attr-defined]


@pytest.fixture
def membership_settings(tmp_path) -> Settings:
    """Settings on a new SQLite file in ``tmp_path``."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'membership.db'}", secret_key=new_secret_key(), base_dir=tmp_path
    )


@pytest.fixture
async def membership_db(membership_settings: Settings) -> AsyncIterator[Settings]:
    """The ``membership_settings`` database, opened and migrated; closed after the test."""
    from membership.db import close_database, open_database
    from membership.db.migrate import migrate

    await open_database(membership_settings)
    await migrate()
    yield membership_settings
    await close_database()


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., str]]:
    """``register_plugin(obj, name=None)`` registers ``obj`` until the test ends."""
    from membership.plugins import hooks

    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = hooks().register(plugin, name=name)
        names.append(registered)
        return registered

    yield register
    for name in names:
        hooks().unregister(name)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API) from the system (``MEMBERSHIP_CHROMIUM`` or
    ``chromium`` on the path: Debian's package; browsers are never downloaded). Without one the
    test skips loudly, unless ``MEMBERSHIP_TEST_BROWSER=required`` (CI), where that is a failure."""
    path = os.environ.get("MEMBERSHIP_CHROMIUM") or shutil.which("chromium")
    if path is None:
        reason = "no chromium on the path (apt-get install chromium)"
        if os.environ.get("MEMBERSHIP_TEST_BROWSER") == "required":
            pytest.fail(f"{reason} and MEMBERSHIP_TEST_BROWSER=required")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            browser.close()
