"""The pack's refusals, each with a stable code and a message in Chinese and English (the API
answers them as problem documents; the console shows the message)."""

from __future__ import annotations

from membership.plugin import Conflict, NotFound


class CateringOff(Conflict):
    """The pack is installed but not switched on for the program (409)."""

    code = "catering_off"
    message_en = "The catering pack is not switched on for this program."
    message_zh = "该会员方案未启用餐饮行业包，请先在“本方案的插件”中启用。"


class StampSchemeNotFound(NotFound):
    """No stamp card of that code in the program (404)."""

    code = "stamp_scheme_not_found"
    message_en = "There is no stamp card {code!r} in this program."
    message_zh = "本会员方案没有集点卡 “{code}”。"


class DiningRuleNotFound(NotFound):
    """No dining rule of that code in the program (404)."""

    code = "dining_rule_not_found"
    message_en = "There is no dining rule {code!r} in this program."
    message_zh = "本会员方案没有餐饮积分规则 “{code}”。"


class CateringReportNotFound(NotFound):
    """No catering report of that name (404)."""

    code = "catering_report_not_found"
    message_en = "There is no catering report {name!r} (known: {known})."
    message_zh = "没有名为 “{name}” 的餐饮报表（可选：{known}）。"
