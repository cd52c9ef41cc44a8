"""The pack's settings per program (零售设置): the console's form is generated from this schema."""

from __future__ import annotations

from typing import Annotated

import msgspec

from membership.plugin import ProgramConfig, plugin_settings

NAME = "retail"
"""The pack's name: its entry point, ``--industry retail``, per-program enablement."""


class RetailSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a shop chain sets for the retail pack; every field has a default."""

    claim_days: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=90,
            title="小票补录积分期限（天）",
            description="会员凭小票补录积分，须在消费后多少天内申请（按消费日期算，含当天之后的第 N 天）。",
        ),
    ] = 7
    catalogue_fills_lines: Annotated[
        bool,
        msgspec.Meta(
            title="按商品档案补全品牌和品类",
            description="收银机只传商品编码时，按商品档案找出品牌和品类，用于会员价、积分规则和分析。",
        ),
    ] = True
    reminders: Annotated[
        bool,
        msgspec.Meta(
            title="发送复购提醒",
            description="按会员在每个品类的购买周期，在该补货时发出复购提醒（由已接入的短信、微信等渠道发送）。",
        ),
    ] = True
    remind_days_before: Annotated[
        int, msgspec.Meta(ge=0, le=30, title="提前几天提醒复购", description="在预计补货日之前几天提醒。")
    ] = 2
    cycle_min_purchases: Annotated[
        int,
        msgspec.Meta(
            ge=2, le=20, title="至少买过几次才算购买周期", description="同一品类至少在几个不同日子买过，才计算周期。"
        ),
    ] = 3
    cycle_history_days: Annotated[
        int, msgspec.Meta(ge=30, le=730, title="购买周期统计天数", description="只看最近多少天的购买记录。")
    ] = 365
    basket_days: Annotated[
        int, msgspec.Meta(ge=7, le=730, title="购物篮分析统计天数", description="购物篮分析默认看最近多少天的小票。")
    ] = 90
    basket_min_baskets: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100_000, title="组合至少同单出现几次", description="两样商品至少同单出现这么多次才列出，避免偶然。"
        ),
    ] = 5


def settings_of(program: ProgramConfig) -> RetailSettings:
    """The pack's settings in ``program`` (defaults where unset)."""
    return plugin_settings(program, NAME, RetailSettings)
