"""API keys: only a hash of each key is stored."""

from piccolo.columns import JSON, UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from membership.org.tables import Merchant, Store


class ApiKey(Table, tablename="api_key"):
    """A key a POS terminal or an integration sends as ``Authorization: Bearer <key>``.

    ``prefix`` finds the row; ``key_hash`` (SHA-256 of the whole key) proves it. A key bound to a
    merchant sees only that merchant's data; bound to a store, it also records sales only there.
    """

    id = UUID(primary_key=True)
    name = Varchar(length=100)
    prefix = Varchar(length=16)
    key_hash = Varchar(length=64)
    scopes = JSON(default="[]")
    merchant_id = ForeignKey(Merchant, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    store_id = ForeignKey(Store, on_delete=OnDelete.restrict, null=True, default=None)
    rate_limit = Integer(default=100)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
