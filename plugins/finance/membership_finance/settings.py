"""The pack's settings per program (the kernel turns them into the form on 本方案的插件, amounts
typed in yuan, and into ``PUT /api/v1/programs/{id}/plugins/finance``; stored in fen and percent)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from membership.plugin import ProgramConfig, plugin_settings
from membership_finance.mcc import DEFAULT_EXCLUDED, RANGE

NAME = "finance"
TierCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Money = msgspec.Meta(ge=0, le=10**15, extra={"unit": "money"})


class FinanceSettings(msgspec.Struct, kw_only=True):
    """What earns points and how much at most, how tiers follow assets, and what enrolment
    requires. Every field has a default (a bank's usual choice)."""

    excluded_mccs: Annotated[
        list[str],
        msgspec.Meta(
            title="不积分的商户类别码（MCC）",
            description="这些商户类别的消费不累计积分：单个代码或范围，用逗号分隔，如 4900, 6010-6012, 9211-9402",
        ),
    ] = msgspec.field(default_factory=lambda: list(DEFAULT_EXCLUDED))
    instalment_pct: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=1000,
            title="分期交易积分（基础积分的倍数）",
            description="分期付款交易按基础积分的多少倍计积分；0.5 为一半，0 为不积分",
            extra={"unit": "multiplier"},
        ),
    ] = 50
    bill_payment_pct: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=1000,
            title="账单缴费积分（基础积分的倍数）",
            description="通过本行缴纳水电燃气、话费等账单按基础积分的多少倍计积分；0 为不积分",
            extra={"unit": "multiplier"},
        ),
    ] = 10
    daily_cap: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=100_000_000,
            title="每人每日积分上限",
            description="同一持卡人（名下所有卡合计）一个交易日最多累计的消费积分；0 为不限",
        ),
    ] = 50_000
    monthly_cap: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=1_000_000_000,
            title="每人每月积分上限",
            description="同一持卡人一个自然月最多累计的消费积分；0 为不限",
        ),
    ] = 300_000
    tiers_by_assets: Annotated[
        bool,
        msgspec.Meta(title="按资产（月日均）定等级", description="会员等级由月日均资产决定，而不是消费成长值"),
    ] = True
    aum_months: Annotated[
        int,
        msgspec.Meta(ge=1, le=12, title="资产取近几个月的平均", description="等级按最近几个月的月日均资产的平均值评定"),
    ] = 3
    classic_tier: Annotated[
        TierCode, msgspec.Meta(title="普卡的等级代码", description="与会员等级设置中的代码一致")
    ] = "classic"
    gold_tier: Annotated[TierCode, msgspec.Meta(title="金卡的等级代码")] = "gold"
    gold_min: Annotated[int, Money, msgspec.Meta(title="金卡资产门槛", description="月日均资产达到该金额为金卡")] = (
        5_000_000
    )
    platinum_tier: Annotated[TierCode, msgspec.Meta(title="白金卡的等级代码")] = "platinum"
    platinum_min: Annotated[int, Money, msgspec.Meta(title="白金卡资产门槛")] = 50_000_000
    diamond_tier: Annotated[TierCode, msgspec.Meta(title="钻石卡的等级代码")] = "diamond"
    diamond_min: Annotated[int, Money, msgspec.Meta(title="钻石卡资产门槛")] = 600_000_000
    require_kyc: Annotated[
        bool,
        msgspec.Meta(title="入会须完成 KYC", description="客户身份识别（KYC）核验通过后方可入会"),
    ] = True
    require_sensitive_consent: Annotated[
        bool,
        msgspec.Meta(title="入会须同意敏感个人信息处理", description="身份证件、金融账户属敏感个人信息，须单独同意"),
    ] = True
    require_credit_inquiry: Annotated[
        bool,
        msgspec.Meta(title="入会须同意征信查询", description="信用卡等授信业务须取得征信查询授权"),
    ] = False
    show_at_counter: Annotated[
        bool,
        msgspec.Meta(
            title="前台显示资产等级与 KYC", description="在前台的会员面板上显示资产等级、月日均资产和 KYC 状态"
        ),
    ] = True

    def __post_init__(self) -> None:
        for entry in self.excluded_mccs:
            if not RANGE.match(entry) or int(entry[:4]) > int(entry[-4:]):
                raise ValueError(
                    f"“{entry}” 不是商户类别码：应为 4 位数字或 6010-6012 这样从小到大的范围"
                    f" / {entry!r} is not an MCC: 4 digits or a rising range like 6010-6012"
                )
        if not self.gold_min < self.platinum_min < self.diamond_min:
            raise ValueError(
                "资产门槛应逐级升高：金卡 < 白金卡 < 钻石卡 / thresholds must rise: gold < platinum < diamond"
            )
        codes = [self.classic_tier, self.gold_tier, self.platinum_tier, self.diamond_tier]
        if len(set(codes)) != len(codes):
            raise ValueError("四个等级的代码不能重复 / the four tier codes must differ")

    def tier_steps(self) -> list[tuple[int, str]]:
        """(least balance, tier code), highest first."""
        return [
            (self.diamond_min, self.diamond_tier),
            (self.platinum_min, self.platinum_tier),
            (self.gold_min, self.gold_tier),
            (0, self.classic_tier),
        ]

    def tier_for_balance(self, balance: int) -> str:
        """The tier a monthly average daily balance (fen) reaches (bounds inclusive)."""
        return next(code for least, code in self.tier_steps() if balance >= least)


def settings_of(program: ProgramConfig) -> FinanceSettings:
    """The program's settings of the pack (defaults for what was never set)."""
    return plugin_settings(program, NAME, FinanceSettings)
