"""The pack's settings per program (the kernel turns them into the console's form on 本方案的插件
and into ``PUT /api/v1/programs/{id}/plugins/catering``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

NAME = "catering"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
ServiceMode = Literal["dine_in", "takeaway", "delivery"]


def _start(title: str, description: str) -> msgspec.Meta:
    return msgspec.Meta(pattern=HHMM, title=title, description=description)


class CateringSettings(msgspec.Struct, kw_only=True):
    """When each meal period starts (门店当地时间), what a sale is when the till does not say, and
    whether the counter shows tastes and allergies. Every field has a default."""

    breakfast_from: Annotated[str, _start("早餐开始", "24 小时制，如 06:00；收银未注明餐段时按消费时间判断")] = "06:00"
    lunch_from: Annotated[str, _start("午餐开始", "如 10:30")] = "10:30"
    afternoon_tea_from: Annotated[str, _start("下午茶开始", "如 14:00")] = "14:00"
    dinner_from: Annotated[str, _start("晚餐开始", "如 17:00")] = "17:00"
    late_night_from: Annotated[str, _start("夜宵开始", "如 21:00；夜宵到次日早餐开始为止")] = "21:00"
    default_service_mode: Annotated[
        ServiceMode,
        msgspec.Meta(
            title="默认就餐方式",
            description="收银未注明时按此记录：dine_in 堂食，takeaway 外带，delivery 外卖",
        ),
    ] = "dine_in"
    show_at_counter: Annotated[
        bool, msgspec.Meta(title="前台显示口味与过敏", description="在前台的会员面板上提示会员的口味偏好和过敏食材")
    ] = True

    def __post_init__(self) -> None:
        starts = [self.breakfast_from, self.lunch_from, self.afternoon_tea_from, self.dinner_from, self.late_night_from]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("各餐段开始时间须按早餐、午餐、下午茶、晚餐、夜宵依次递增 / meals must start in order")
