"""Gift-card products (what the till sells) and the cards sold.

A card's balance is its own ledger account (kind ``gift_card``, no member): entries move it
against ``system.gift_card_sold`` and ``system.gift_card_redeemed``, apart from members' stored
value. The code is kept as a keyed hash (for lookup) and sealed (for the answer that issued it);
staff see its last four characters.
"""

from piccolo.columns import UUID, BigInt, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from membership.ledger.tables import Account
from membership.org.tables import Program


class GiftCardProduct(Table, tablename="gift_card_product"):
    """A gift card the program sells (礼品卡商品): a sale line with this ``sku`` issues one card of
    ``face_value`` (minor units) per unit. ``sku`` is unique in the program."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    sku = Varchar(length=64)
    name = Varchar(length=100)
    face_value = BigInt()
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class GiftCard(Table, tablename="gift_card"):
    """One bearer card: sold by ``sale_id`` (line ``line_no``) at ``store_id``; ``account_id``
    holds its balance. ``status`` is ``active`` or ``void`` (the sale that sold it was refunded
    before it was used)."""

    id = UUID(primary_key=True)
    program_id = ForeignKey(Program, on_delete=OnDelete.restrict)
    product_id = ForeignKey(GiftCardProduct, on_delete=OnDelete.restrict)
    account_id = ForeignKey(Account, on_delete=OnDelete.restrict)
    code_hash = Varchar(length=64)
    code_sealed = Text()
    key_fp = Varchar(length=16)
    code_hint = Varchar(length=4)
    face_value = BigInt()
    status = Varchar(length=8, default="active")
    sale_id = UUID(index=True)
    line_no = Integer()
    store_id = UUID()
    issued_at = Timestamptz()
    voided_at = Timestamptz(null=True, default=None)
