"""Staff accounts and their console sessions."""

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from membership.org.tables import Merchant, Store


class Staff(Table, tablename="staff"):
    """Someone who logs in to the console. ``password_hash`` is an argon2id hash; ``role`` is one
    of :class:`membership.staff.roles.Role`. Staff see only their merchant, and a store-bound
    clerk records sales only at that store."""

    id = UUID(primary_key=True)
    username = Varchar(length=50, unique=True)
    display_name = Varchar(length=100)
    role = Varchar(length=20)
    merchant_id = ForeignKey(Merchant, on_delete=OnDelete.restrict, index=True)
    store_id = ForeignKey(Store, on_delete=OnDelete.restrict, null=True, default=None)
    password_hash = Varchar(length=200)
    language = Varchar(length=10, default="zh_CN")
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)


class StaffSession(Table, tablename="staff_session"):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    database dump logs no one in. A session ends at ``expires_at`` or after idling."""

    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    staff_id = ForeignKey(Staff, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()


class StaffLoginThrottle(Table, tablename="staff_login_throttle"):
    """Failed logins counted for the login throttle (登录限速, see :mod:`membership.staff.throttle`).

    One row per counter: ``scope`` is ``pair`` (one ``username`` from one ``address``),
    ``address`` (one address, whatever names it tries; ``username`` is empty) or ``account`` (one
    ``username`` from anywhere; ``address`` is empty). ``blocked_until`` is when the next attempt
    of a pair or address is checked again. A counter whose ``last_failure_at`` is older than
    :data:`membership.staff.throttle.FORGET_AFTER` counts from zero. Kept in the database, so
    every worker process (``membership serve --workers N``) sees the same counts."""

    id = UUID(primary_key=True)
    scope = Varchar(length=10)
    username = Varchar(length=50, default="")
    address = Varchar(length=64, default="")
    failures = Integer(default=0)
    blocked_until = Timestamptz(null=True, default=None)
    last_failure_at = Timestamptz()
