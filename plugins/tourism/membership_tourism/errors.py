"""The pack's refusals, each with a stable code and a message in Chinese and English (the API
answers them as problem documents; the console shows the message). A gate's "no entry" is not an
error: it is an answer (see :mod:`membership_tourism.entries`)."""

from __future__ import annotations

from membership.plugin import Conflict, NotFound


class TourismOff(Conflict):
    """The pack is installed but not switched on for the program (409)."""

    code = "tourism_off"
    message_en = "The tourism pack is not switched on for this program."
    message_zh = "该会员方案未启用文旅景区行业包，请先在“本方案的插件”中启用。"


class PassPlanNotFound(NotFound):
    """No pass plan of that code in the program (404)."""

    code = "pass_plan_not_found"
    message_en = "There is no annual or seasonal pass {code!r} in this program."
    message_zh = "本会员方案没有年卡/季卡 “{code}”。"


class PaidPlanMissing(NotFound):
    """A pass plan names a paid plan the program does not sell (404)."""

    code = "paid_plan_missing"
    message_en = "The program sells no paid plan {code!r}: add it under paid membership plans first."
    message_zh = "本会员方案没有付费会员套餐 “{code}”，请先在“付费会员套餐”中添加。"


class PassNotFound(NotFound):
    """No pass of that id (or not in the program) (404)."""

    code = "pass_not_found"
    message_en = "There is no pass {pass_id}."
    message_zh = "没有编号为 {pass_id} 的年卡。"


class NotOnPass(NotFound):
    """The member is not on the pass (404)."""

    code = "not_on_pass"
    message_en = "This member is not on the pass."
    message_zh = "该会员不在这张年卡上。"


class FamilyFull(Conflict):
    """The pass has as many family members as its plan allows (409)."""

    code = "family_full"
    message_en = "This pass already has {count} family members, as many as its plan allows."
    message_zh = "这张年卡已有 {count} 位副卡成员，已达上限。"


class AlreadyOnPass(Conflict):
    """The member is already on the pass (409)."""

    code = "already_on_pass"
    message_en = "This member is already on the pass."
    message_zh = "该会员已在这张年卡上。"


class NotAPassPlan(Conflict):
    """A paid plan that is not set up as a pass (409)."""

    code = "not_a_pass_plan"
    message_en = "The paid plan {code!r} is not set up as an annual or seasonal pass."
    message_zh = "付费会员套餐 “{code}” 未设置为年卡或季卡。"


class GateNotFound(NotFound):
    """No gate of that code in the program (404)."""

    code = "gate_not_found"
    message_en = "There is no gate {code!r} in this program."
    message_zh = "本会员方案没有闸机 “{code}”。"


class GateClosed(Conflict):
    """The gate is switched off (409)."""

    code = "gate_closed"
    message_en = "Gate {code!r} is switched off."
    message_zh = "闸机 “{code}” 已停用。"


class VenueNotFound(NotFound):
    """No store of that id or code at the program's merchant (404)."""

    code = "venue_not_found"
    message_en = "There is no store {store!r} at this merchant."
    message_zh = "本商户没有门店 “{store}”。"


class TourismReportNotFound(NotFound):
    """No tourism report of that name (404)."""

    code = "tourism_report_not_found"
    message_en = "There is no tourism report {name!r} (known: {known})."
    message_zh = "没有名为 “{name}” 的文旅报表（可选：{known}）。"
