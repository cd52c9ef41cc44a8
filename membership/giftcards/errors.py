"""What can go wrong with a gift card, with stable codes and Chinese and English messages. The
code is never repeated in a message: staff and clients see its last four characters."""

from __future__ import annotations

from membership.errors import Conflict, NotFound


class GiftCardNotFound(NotFound):
    """No card of the program has this code (or the code is mistyped)."""

    code = "gift_card_not_found"
    message_en = "No gift card has this code: check it and try again."
    message_zh = "没有这个卡号的礼品卡，请核对后重试。"


class GiftCardVoid(Conflict):
    """The card was voided (the sale that sold it was refunded)."""

    code = "gift_card_void"
    message_en = "Gift card …{hint} is void: the sale that sold it was refunded."
    message_zh = "礼品卡 …{hint} 已作废：售卡的交易已退款。"


class InsufficientGiftCardBalance(Conflict):
    """The card holds less than the payment asks."""

    code = "insufficient_gift_card_balance"
    message_en = "Gift card …{hint} holds {available}, less than the {requested} asked (minor units)."
    message_zh = "礼品卡 …{hint} 余额 {available}，不足支付 {requested}（以分计）。"


class GiftCardUsed(Conflict):
    """A refund would take back cards that have been spent from."""

    code = "gift_card_used"
    message_en = (
        "Line {line_no} sold gift cards that have been used: only {unused} of them are unused and can be"
        " refunded (voided), not {requested}."
    )
    message_zh = "第 {line_no} 行售出的礼品卡已有使用：只有 {unused} 张未使用的可以退（作废），不能退 {requested} 张。"


class GiftCardProductNotFound(NotFound):
    """No gift-card product of the program has this SKU."""

    code = "gift_card_product_not_found"
    message_en = "No gift card product has SKU {sku!r}."
    message_zh = "没有商品编码为 “{sku}” 的礼品卡商品。"


class GiftCardProductExists(Conflict):
    """Another gift-card product of the program has this SKU."""

    code = "gift_card_product_exists"
    message_en = "A gift card product with SKU {sku!r} already exists."
    message_zh = "商品编码 “{sku}” 的礼品卡商品已存在。"
