"""What can go wrong with a promotion, with stable codes and Chinese and English messages."""

from __future__ import annotations

from membership.errors import NotFound


class PromotionNotFound(NotFound):
    """The program has no promotion with this code."""

    code = "promotion_not_found"
    message_en = "The program has no promotion {code!r}."
    message_zh = "没有促销活动 “{code}”。"
