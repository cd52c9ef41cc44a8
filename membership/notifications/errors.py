"""Notification errors, with stable codes and messages in Chinese and English."""

from __future__ import annotations

from membership.errors import NotFound


class InboxMessageNotFound(NotFound):
    code = "inbox_message_not_found"
    message_en = "The member has no inbox message {message_id}."
    message_zh = "该会员没有站内信 {message_id}。"
