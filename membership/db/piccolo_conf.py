"""The Piccolo configuration module (``PICCOLO_CONF=membership.db.piccolo_conf``).

``DB`` is the engine :func:`membership.db.open_database` opened (or one built from the settings
when Piccolo's own CLI imports this module); ``APP_REGISTRY`` lists the kernel's apps followed by
every app a plugin returns from ``membership_piccolo_apps``.
"""

from __future__ import annotations

import functools

from piccolo.conf.apps import AppRegistry

KERNEL_APPS = (
    "membership.org.piccolo_app",
    "membership.members.piccolo_app",
    "membership.ledger.piccolo_app",
    "membership.sales.piccolo_app",
    "membership.coupons.piccolo_app",
    "membership.rewards.piccolo_app",
    "membership.promotions.piccolo_app",
    "membership.audit.piccolo_app",
    "membership.access.piccolo_app",
    "membership.readers.piccolo_app",
    "membership.staff.piccolo_app",
    "membership.jobs.piccolo_app",
    "membership.tiers.piccolo_app",
    "membership.outbox.piccolo_app",
    "membership.crm.piccolo_app",
    "membership.notifications.piccolo_app",
    "membership.care.piccolo_app",
    "membership.giftcards.piccolo_app",
)


@functools.cache
def app_registry() -> AppRegistry:
    """Kernel apps plus plugin apps, built once per plugin set."""
    from membership.plugins import hooks

    return AppRegistry(apps=[*KERNEL_APPS, *hooks().piccolo_apps()])


def __getattr__(name: str):
    if name == "APP_REGISTRY":
        return app_registry()
    if name == "DB":
        from membership.config import load_settings
        from membership.db import engine

        return engine._state["engine"] or engine.make_engine(load_settings())
    raise AttributeError(name)
