"""The pack's refusals, each with a stable code and a message in Chinese and English (the API
answers them as problem documents; the console shows the message)."""

from __future__ import annotations

from membership.plugin import Conflict, NotFound


class FinanceOff(Conflict):
    """The pack is installed but not switched on for the program (409)."""

    code = "finance_off"
    message_en = "The finance pack is not switched on for this program."
    message_zh = "该会员方案未启用金融行业包，请先在“本方案的插件”中启用。"


class MccRuleNotFound(NotFound):
    """No MCC rule for that range in the program (404)."""

    code = "mcc_rule_not_found"
    message_en = "There is no points rule for MCC {mccs} in this program."
    message_zh = "本方案没有商户类别码 {mccs} 的积分规则。"
