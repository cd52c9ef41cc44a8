"""What the retail pack refuses, with stable codes and messages in Chinese and English."""

from __future__ import annotations

from membership.plugin import Conflict, NotFound


class RetailOff(Conflict):
    """The pack is installed but not switched on for the program (409)."""

    code = "retail_off"
    message_en = "The retail pack is not switched on for this program."
    message_zh = "该会员方案未开启零售行业包。"


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"
    message_en = "No till sent receipt {receipt_no} at this store."
    message_zh = "该门店没有小票号为 {receipt_no} 的非会员小票。"


class ReceiptClaimed(Conflict):
    code = "receipt_claimed"
    message_en = "Receipt {receipt_no} has already earned points (claimed {claimed_on})."
    message_zh = "小票 {receipt_no} 已于 {claimed_on} 补录过积分，不能重复补录。"


class ClaimTooLate(Conflict):
    code = "claim_too_late"
    message_en = "Receipt {receipt_no} is from {bought_on}: points can be claimed within {days} days of the purchase."
    message_zh = "小票 {receipt_no} 的消费日期是 {bought_on}，只能在消费后 {days} 天内补录积分。"


class ReceiptDiffers(Conflict):
    code = "receipt_differs"
    message_en = "Receipt {receipt_no} was already sent with other lines or another time."
    message_zh = "小票 {receipt_no} 已经上传过，且商品或时间与这次不同。"


class PriceNotFound(NotFound):
    code = "member_price_not_found"
    message_en = "Member price {price_id} does not exist."
    message_zh = "会员价 {price_id} 不存在。"


class RuleNotFound(NotFound):
    code = "retail_rule_not_found"
    message_en = "Points rule {rule_id} does not exist."
    message_zh = "积分规则 {rule_id} 不存在。"
