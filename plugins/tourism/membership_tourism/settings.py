"""The pack's settings per program (the kernel turns them into the form on 本方案的插件 and into
``PUT /api/v1/programs/{id}/plugins/tourism``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from membership.plugin import ProgramConfig, plugin_settings

NAME = "tourism"


class TourismSettings(msgspec.Struct, kw_only=True):
    """How the e-card's code rotates, what counts as a renewal, and what the counter shows. Every
    field has a default."""

    qr_step_seconds: Annotated[
        int,
        msgspec.Meta(
            ge=10,
            le=120,
            title="电子码刷新间隔（秒）",
            description="年卡电子码每隔多少秒换一个；截图过后即失效。建议 30 秒",
        ),
    ] = 30
    qr_tolerance_steps: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=4,
            title="电子码宽限（个间隔）",
            description="闸机时钟偏差或扫码较慢时，前几个间隔的电子码仍可使用；0 为只认当前的码",
        ),
    ] = 1
    renewal_window_days: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=365,
            title="续卡统计期（天）",
            description="年卡到期后多少天内再次购买，在续卡报表中算作续卡",
        ),
    ] = 30
    show_at_counter: Annotated[
        bool,
        msgspec.Meta(title="前台显示年卡信息", description="在前台的会员面板上显示会员的年卡、有效期和今日入园次数"),
    ] = True


def settings_of(program: ProgramConfig) -> TourismSettings:
    """The program's settings of the pack (defaults for what was never set)."""
    return plugin_settings(program, NAME, TourismSettings)
