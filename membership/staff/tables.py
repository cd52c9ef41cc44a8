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
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
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
