"""Member care's errors, with stable codes and messages in Chinese and English."""

from __future__ import annotations

from membership.errors import Conflict, NotFound


class SurveyNotFound(NotFound):
    code = "survey_not_found"
    message_en = "No survey {code!r} in this program."
    message_zh = "本方案没有满意度调查“{code}”。"


class SurveyExists(Conflict):
    code = "survey_exists"
    message_en = "The program already has a survey {code!r}."
    message_zh = "本方案已有满意度调查“{code}”。"


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    message_en = "No service ticket {ticket} here."
    message_zh = "没有找到服务工单 {ticket}。"


class TicketTransitionRefused(Conflict):
    code = "ticket_transition_refused"
    message_en = "A ticket that is {status} cannot be {action}."
    message_zh = "工单当前为“{status}”，不能{action}。"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message_en = "No staff member {staff!r} works for this merchant."
    message_zh = "本商户没有员工“{staff}”。"


class SurveyInUse(Conflict):
    code = "survey_in_use"
    message_en = "Survey {code!r} has invited {invited} members: switch it off instead of removing it."
    message_zh = "满意度调查“{code}”已邀请 {invited} 位会员，不能删除，请改为停用。"
