"""What can go wrong with a reward priced in points, with stable codes and Chinese and English
messages. Not enough points is the ledger's ``InsufficientPoints`` (409), as for every spending."""

from __future__ import annotations

from membership.errors import Conflict, NotFound


class RewardNotFound(NotFound):
    """The program's catalogue has no reward with this code."""

    code = "reward_not_found"
    message_en = "The program has no reward {code!r}."
    message_zh = "积分商城中没有兑换品 “{code}”。"


class RewardNotRedeemable(Conflict):
    """A reward that exists but cannot be redeemed now; each reason has its own code."""

    code = "reward_not_redeemable"
    message_en = "Reward “{name}” cannot be redeemed."
    message_zh = "兑换品 “{name}” 不能兑换。"


class RewardRetired(RewardNotRedeemable):
    code = "reward_retired"
    message_en = "Reward “{name}” was taken off the catalogue."
    message_zh = "兑换品 “{name}” 已下架。"


class RewardNotYetAvailable(RewardNotRedeemable):
    code = "reward_not_yet_available"
    message_en = "Reward “{name}” can be redeemed from {available_from}."
    message_zh = "兑换品 “{name}” 尚未开始兑换：{available_from} 起可兑换。"


class RewardExpired(RewardNotRedeemable):
    code = "reward_expired"
    message_en = "Reward “{name}” could be redeemed until {available_until}; it has ended."
    message_zh = "兑换品 “{name}” 已过兑换期：兑换截止到 {available_until}。"


class RewardWrongStore(RewardNotRedeemable):
    code = "reward_wrong_store"
    message_en = "Reward “{name}” cannot be redeemed at this store."
    message_zh = "兑换品 “{name}” 不能在本门店兑换。"


class RewardOutOfStock(RewardNotRedeemable):
    code = "reward_out_of_stock"
    message_en = "Reward “{name}” is out of stock ({stock} left, {requested} asked)."
    message_zh = "兑换品 “{name}” 库存不足（剩余 {stock} 件，需要 {requested} 件）。"


class RewardLimitReached(RewardNotRedeemable):
    code = "reward_limit_reached"
    message_en = "Reward “{name}” may be redeemed {limit} times per member {period_en}; this member has {used}."
    message_zh = "兑换品 “{name}” 每位会员{period_zh}限兑 {limit} 次，该会员已兑 {used} 次。"


class RewardKindMissing(RewardNotRedeemable):
    code = "reward_kind_missing"
    message_en = "Reward “{name}” is of kind {kind!r}, which no installed plugin provides now."
    message_zh = "兑换品 “{name}” 的类型 “{kind}” 已不可用（提供它的插件未安装）。"


class RewardNotUsable(RewardNotRedeemable):
    """The reward's coupon cannot be used on this sale (e.g. the gift's product is not in it)."""

    code = "reward_not_usable"
    message_en = "Reward “{name}” cannot be used on this sale: {reason}"
    message_zh = "兑换品 “{name}” 不能用于本单：{reason}"


class RedemptionNotFound(NotFound):
    code = "reward_redemption_not_found"
    message_en = "Reward redemption {redemption_id} does not exist."
    message_zh = "兑换记录 {redemption_id} 不存在。"


class RedemptionNotCancellable(Conflict):
    code = "reward_redemption_not_cancellable"
    message_en = "This redemption cannot be cancelled: {reason}"
    message_zh = "该兑换记录不能撤销：{reason}"


class RewardTemplateLocked(Conflict):
    """A coupon template that delivers a reward changes with its reward only."""

    code = "reward_template_locked"
    message_en = "Coupon template {code!r} belongs to a reward of the points mall; change the reward instead."
    message_zh = "优惠券模板 “{code}” 属于积分商城的兑换品，请在积分商城修改该兑换品。"
