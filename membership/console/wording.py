"""Text the kernel stores for every reader, shown in the staff member's language: ledger reasons
and job results kept as "中文 / English" show one half; who did something (``staff:wang``,
``system``, ``api:till-1``) reads as a person or a system; consent purposes by name."""

from __future__ import annotations

import re

from membership.console import i18n

_PARENTHESES = re.compile(r"（([^（）]*?) / ([^（）]*)）")
_BRACKETS = re.compile(r"\[([^\[\]]*?) / ([^\[\]]*)\]")
_HALVES = re.compile(r" / |(?<=[）)])/ ")
_CODE = re.compile(r"[A-Za-z0-9][\w.-]*\d[\w.-]*$")
PURPOSES = {
    "marketing": ("营销信息", "marketing"),
    "sms": ("短信", "SMS"),
    "email": ("电子邮件", "e-mail"),
    "wechat": ("微信", "WeChat"),
    "profiling": ("消费偏好分析", "profiling"),
    "third_party": ("向第三方提供", "sharing with third parties"),
}
SOURCES = {
    "console": ("后台", "console"),
    "profile": ("修改资料", "profile change"),
    "enrol": ("入会登记", "enrolment"),
    "api": ("接口", "API"),
    "import": ("导入", "import"),
}


def _zh() -> bool:
    return i18n.current_language().startswith("zh")


def bilingual(text: str | None) -> str:
    """One language of a "中文 / English" text: ``消费 / purchase R123`` reads ``消费 R123`` in
    Chinese (a receipt number or code at the end of the English half is kept), ``purchase R123``
    in English; bracketed pairs ``（待生效积分取消 / pending cancelled）`` the same. Text without
    " / " is returned as it is."""
    if not text:
        return ""
    zh = _zh()
    text = _PARENTHESES.sub(lambda m: f"（{m[1]}）" if zh else f" ({m[2]})", text)
    text = _BRACKETS.sub(lambda m: f"[{m[1] if zh else m[2]}]", text)
    halves = _HALVES.split(text, maxsplit=1)
    if len(halves) == 1:
        return text
    left, right = halves
    if not zh:
        return right
    code = _CODE.search(right)
    return f"{left} {code[0]}" if code and code[0] not in left else left


def actor_name(actor: str | None) -> str:
    """Who did it, as staff read it: a staff member by their username, else the system, a till
    or an integration by what it is."""
    if not actor:
        return ""
    kind, _, name = actor.partition(":")
    zh = _zh()
    if kind == "staff" and name:
        return name
    if kind == "api" and name:
        return f"接口 {name}" if zh else f"API {name}"
    if kind == "job" and name:
        return f"定时任务 {name}" if zh else f"job {name}"
    names = {"system": ("系统", "system"), "pos": ("收银系统", "till"), "admin": ("管理员", "admin")}
    return (names[actor][0] if zh else names[actor][1]) if actor in names else actor


def purpose_name(purpose: str) -> str:
    """A consent purpose by name."""
    names = PURPOSES.get(purpose)
    return (names[0] if _zh() else names[1]) if names else purpose


def source_name(source: str) -> str:
    """Where a consent change came from."""
    names = SOURCES.get(source)
    return (names[0] if _zh() else names[1]) if names else source
