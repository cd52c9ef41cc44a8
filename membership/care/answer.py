"""The public answer page of a survey invitation (``/s/{token}``): no login, zh/en, fit for a
phone, no script. The page shows the question and the scale as large buttons (radio inputs) and a
comment box; the form posts back to the same address, so the post is bound to the signed token
(a page elsewhere cannot make one without it) and needs no session or cookie. Answering twice
keeps the first answer and says so; an expired or made-up link says that too."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.api.input_checks import check_input
from membership.care import surveys
from membership.errors import ValidationError

WORDS = {
    "zh": {
        "title": "满意度调查",
        "low_nps": "完全不可能",
        "high_nps": "非常可能",
        "low_csat": "非常不满意",
        "high_csat": "非常满意",
        "comment": "还有什么想告诉我们的？（选填）",
        "send": "提交",
        "thanks": "感谢您的评价！",
        "thanks_text": "您的意见已收到，我们会认真改进。",
        "answered": "您已评价过",
        "answered_text": "这份调查已经收到您的回答，每个链接只能回答一次。",
        "expired": "链接已过期",
        "expired_text": "这份调查的回答期限已过，感谢您的关注。",
        "invalid": "链接无效",
        "invalid_text": "这个调查链接无效，请检查是否完整复制。",
        "other": "English",
    },
    "en": {
        "title": "Satisfaction survey",
        "low_nps": "Not at all likely",
        "high_nps": "Extremely likely",
        "low_csat": "Very dissatisfied",
        "high_csat": "Very satisfied",
        "comment": "Anything else you would like to tell us? (optional)",
        "send": "Send",
        "thanks": "Thank you!",
        "thanks_text": "We have your answer and will use it to do better.",
        "answered": "Already answered",
        "answered_text": "We already have your answer to this survey: each link answers once.",
        "expired": "This link has expired",
        "expired_text": "The time to answer this survey is over. Thank you all the same.",
        "invalid": "Invalid link",
        "invalid_text": "This survey link is not valid: please check it was copied whole.",
        "other": "中文",
    },
}
STATUS = {"open": 200, "recorded": 200, "answered": 409, "expired": 410, "invalid": 404}


def _language(request: Request, lang: str) -> str:
    if lang in WORDS:
        return lang
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "zh"


def _page(token: str, language: str, state: str, found: surveys.Invitation | None, error: str = "", **form) -> Template:
    context = {
        "w": WORDS[language],
        "language": language,
        "other": "en" if language == "zh" else "zh",
        "token": token,
        "state": state,
        "invitation": found,
        "question": (found.question_en if language == "en" else found.question_zh) if found else "",
        "error": error,
        "chosen": str(form.get("score", "")),
        "comment": form.get("comment", ""),
    }
    return Template("care/answer.html", context=context, status_code=422 if error else STATUS[state])


@get("/s/{token:str}", include_in_schema=False, guards=[check_input])
async def answer_page(request: Request, token: FromPath[str], lang: FromQuery[str] = "") -> Template:
    """The question and its scale; or why it cannot be answered."""
    language = _language(request, lang)
    found = await surveys.invitation(token)
    return _page(token, language, found.state if found else "invalid", found)


@post("/s/{token:str}", include_in_schema=False, guards=[check_input], status_code=200)
async def answer_form(request: Request, token: FromPath[str], lang: FromQuery[str] = "") -> Template:
    """Record the score and comment (once); a missing score stays on the form with its error."""
    language = _language(request, lang)
    form = await request.form()
    score, comment = str(form.get("score", "")), str(form.get("comment", ""))
    try:
        outcome = await surveys.answer(token, score, comment)
    except ValidationError as exc:
        found = await surveys.invitation(token)
        return _page(token, language, "open", found, exc.detail(language), score=score, comment=comment)
    return _page(token, language, outcome, await surveys.invitation(token))


ROUTES = [answer_page, answer_form]
