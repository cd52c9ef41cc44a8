"""What a bank requires before it takes a member (入会), and the consents it records.

Every enrolment into a program with the pack on (the API's ``POST /members``, the console, the
pack's own form) is asked through ``membership_check_enrolment`` and refused, with the reason, when:

* there is no ID number (身份证号), or it is not a well-formed resident ID number (18 characters,
  a date of birth, GB 11643's check character);
* the KYC status (客户身份识别, ``preferences.kyc_status``) is not ``verified`` (settings
  ``require_kyc``);
* a required consent is missing from ``consents``: 个人信息处理 (``personal_info``) always;
  敏感个人信息处理 (``sensitive_info``: an ID document and a financial account are sensitive
  personal information under PIPL art. 28–29) and 征信查询 (``credit_inquiry``) as the settings
  say. 营销短信 (``marketing_sms``) and 第三方共享 (``third_party_sharing``) are never required: a
  bank may not refuse a customer who declines marketing or sharing (PIPL art. 16).

Consents are the kernel's (the member's profile and its ``member_consent`` history): the pack's
page and API give and withdraw them through ``set_member_consent``, with where it happened.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from membership.plugin import ProgramConfig, Reason
from membership_finance.settings import FinanceSettings, settings_of

PURPOSES = {
    "personal_info": ("个人信息处理", "processing of personal information"),
    "sensitive_info": ("敏感个人信息处理（身份证件、金融账户）", "processing of sensitive personal information"),
    "credit_inquiry": ("征信查询", "credit bureau inquiries"),
    "marketing_sms": ("营销短信", "marketing text messages"),
    "third_party_sharing": ("向合作方共享（权益兑换）", "sharing with partners (rewards)"),
}
KYC_STATUSES = {
    "verified": ("已核验", "verified"),
    "pending": ("待核验", "pending"),
    "failed": ("核验未通过", "failed"),
    "expired": ("证件过期待更新", "ID document expired"),
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_problem(value: str) -> Reason | None:
    """Why ``value`` is not a resident ID number (居民身份证号码), or None."""
    number = "".join(str(value).split()).upper()
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return Reason("an ID number has 18 characters (the last may be X)", "身份证号码应为 18 位（末位可为 X）")
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return Reason("the date of birth in the ID number is wrong", "身份证号码中的出生日期有误")
    if _CHECK[sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True)) % 11] != number[17]:
        return Reason("the ID number's check character is wrong", "身份证号码校验位不符，请核对")
    return None


def required_purposes(settings: FinanceSettings) -> list[str]:
    """The consents the program requires at enrolment."""
    required = ["personal_info"]
    if settings.require_sensitive_consent:
        required.append("sensitive_info")
    if settings.require_credit_inquiry:
        required.append("credit_inquiry")
    return required


def problem(program: ProgramConfig, profile: dict[str, Any]) -> tuple[str, Reason] | None:
    """Why the program's bank would not enrol ``profile``, with the field it concerns
    (``id_number``, ``kyc_status`` or ``consents``), or None (see the module's guide)."""
    settings = settings_of(program)
    id_number = profile.get("id_number")
    if not id_number:
        return "id_number", Reason("an ID number is required to open a bank membership", "银行会员入会须登记身份证号码")
    wrong = id_number_problem(id_number)
    if wrong is not None:
        return "id_number", wrong
    kyc = (profile.get("preferences") or {}).get("kyc_status")
    if settings.require_kyc and kyc != "verified":
        return "kyc_status", Reason(
            "the customer's identity must be verified first (KYC: kyc_status verified)",
            "须先完成客户身份识别（KYC），核验通过后方可入会",
        )
    consents = profile.get("consents") or {}
    missing = [purpose for purpose in required_purposes(settings) if consents.get(purpose) is not True]
    if missing:
        return "consents", Reason(
            "the customer's consent is required: " + ", ".join(PURPOSES[p][1] for p in missing),
            "须取得客户授权：" + "、".join(PURPOSES[p][0] for p in missing),
        )
    return None


def refusal(program: ProgramConfig, profile: dict[str, Any]) -> Reason | None:
    """The reason ``membership_check_enrolment`` answers: :func:`problem` without its field."""
    found = problem(program, profile)
    return found[1] if found else None
