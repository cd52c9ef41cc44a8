"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every error answer carries a stable ``code`` clients switch on and a ``detail`` in the request's
language (``Accept-Language``: zh or en; the server's default otherwise). Business errors come
from :mod:`membership.errors`; framework errors (a malformed body, an unknown route) are mapped to
the same shape; a database that cannot be reached is a 503 ``database_unavailable`` with
``Retry-After``; anything else unexpected becomes a 500 problem without a stack trace.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

from membership.db.engine import current_settings
from membership.db.unavailable import RETRY_AFTER_SECONDS, DatabaseUnavailable, is_unavailable
from membership.errors import MembershipError, Reason, ValidationError, reason_zh

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
OUT_OF_RANGE = Reason(
    "a date or number is outside the range the server can compute with",
    "日期或数值超出服务器可计算的范围",
)
_MISSING = re.compile(r"[Mm]issing required \w+ parameter '([^']+)'")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")

_HTTP_CODES = {
    400: ("bad_request", "The request could not be read.", "请求格式有误。"),
    401: ("unauthorized", "A valid API key is required.", "需要有效的 API 密钥。"),
    403: ("forbidden", "This API key may not do that.", "该 API 密钥无权执行此操作。"),
    404: ("not_found", "There is nothing at this address.", "该地址不存在。"),
    405: ("method_not_allowed", "This method is not allowed here.", "此地址不支持该请求方法。"),
    413: ("payload_too_large", "The request body is too large.", "请求内容过大。"),
    422: ("validation_error", "The input is invalid.", "输入无效。"),
    415: ("unsupported_media_type", "Send JSON (Content-Type: application/json).", "请以 JSON 格式发送。"),
    429: ("rate_limited", "Too many requests.", "请求过于频繁。"),
    500: ("internal_error", "Something went wrong on our side; nothing was changed.", "服务器内部错误，数据未做修改。"),
    503: ("unavailable", "The service is not available right now.", "服务暂不可用。"),
}


class FieldProblem(msgspec.Struct):
    """One invalid input: where it is and what is wrong."""

    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document with the membership error ``code``."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None


def language(request: Request) -> str:
    """``zh`` or ``en``: the first supported language of ``Accept-Language``, else the default."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    try:
        return current_settings().language
    except MembershipError:
        return "zh"


def _problem(request: Request, status: int, code: str, detail: str, **extra: Any) -> Response[Problem]:
    headers = extra.pop("headers", None)
    body = Problem(
        type=f"urn:membership:problem:{code}",
        title=HTTPStatus(status).phrase,
        status=status,
        code=code,
        detail=detail,
        instance=request.url.path,
        **extra,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def membership_error(request: Request, exc: MembershipError) -> Response[Problem]:
    """A business error: its own status, code and message (and ``Retry-After`` when it says
    when to retry: rate limited, database unavailable)."""
    headers = {"Retry-After": str(exc.params["retry_after"])} if "retry_after" in exc.params else None
    errors = None
    if "field" in exc.params and exc.status == 422:
        errors = [FieldProblem(str(exc.params["field"]), str(exc.params.get("reason", exc.detail("en"))))]
    return _problem(request, exc.status, exc.code, exc.detail(language(request)), errors=errors, headers=headers)


def _field(item: dict[str, Any]) -> str:
    """The input a framework validation message is about, e.g. ``lines[0].sku``."""
    key = str(item.get("key") or "")
    key = "" if key in ("data", "body") else key.removeprefix("$.")
    if missing := _MISSING_FIELD.search(str(item.get("message", ""))):
        return f"{key}.{missing.group(1)}" if key else missing.group(1)
    return key or str(item.get("source") or "body")


def validation_error(request: Request, exc: ValidationException) -> Response[Problem]:
    """Malformed input caught by the framework (types, limits, missing fields): 422."""
    errors = [
        FieldProblem(_field(item), str(item.get("message", "")))
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    if not errors:
        missing = _MISSING.search(exc.detail)
        errors = [FieldProblem(missing.group(1) if missing else "body", exc.detail)]
    lang = language(request)
    if lang == "zh":
        detail = "输入无效：" + "；".join(f"{e.field}：{reason_zh(e.message)}" for e in errors)
    else:
        detail = "Invalid input: " + "; ".join(f"{e.field}: {e.message}" for e in errors)
    return _problem(request, 422, "validation_error", detail, errors=errors)


def http_error(request: Request, exc: HTTPException) -> Response[Problem]:
    """A framework HTTP error (404 route, 405, 413 …) in the same shape."""
    status = exc.status_code if exc.status_code in _HTTP_CODES else 400
    code, en, zh = _HTTP_CODES[status]
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "retry-after"} or None
    return _problem(request, status, code, zh if language(request) == "zh" else en, headers=headers)


def internal_error(request: Request, exc: Exception) -> Response[Problem]:
    """Anything unexpected: logged with its traceback, answered without one. An unreachable
    database is not a bug: 503 with ``Retry-After`` (see :mod:`membership.db.unavailable`)."""
    if is_unavailable(exc):
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return membership_error(request, DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS))
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    code, en, zh = _HTTP_CODES[500]
    return _problem(request, 500, code, zh if language(request) == "zh" else en)


def out_of_range(request: Request, exc: OverflowError) -> Response[Problem]:
    """A date or number of the request that arithmetic cannot go on with (the day before
    0001-01-01): the input's fault, so 422, not 500."""
    log.warning("out of range on %s %s: %s", request.method, request.url.path, exc)
    return membership_error(request, out_of_range_error())


def out_of_range_error() -> ValidationError:
    """The refusal of an input that overflowed."""
    return ValidationError(field="input", reason=OUT_OF_RANGE)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    MembershipError: membership_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OverflowError: out_of_range,
    Exception: internal_error,
}

_EXAMPLES = {
    401: ("unauthorized", "需要有效的 API 密钥（Authorization: Bearer <key>）。"),
    403: ("forbidden", "该 API 密钥无权调整积分。"),
    404: ("member_not_found", "会员 0b7c… 不存在。"),
    409: ("insufficient_points", "积分不足：需要 500，可用 120。"),
    422: ("validation_error", "输入无效：lines[1].quantity: Expected `int` >= 1"),
    429: ("rate_limited", "该 API 密钥请求过于频繁，请 1 秒后重试。"),
    503: ("database_unavailable", "数据库暂时无法连接，数据未做修改。请 5 秒后重试。"),
}


def problem_responses(*statuses: int, auth: bool = True) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers a route can give (plus 400, and 401, 422, 429 and
    503 (database unavailable) for every route that needs a key)."""
    wanted = sorted({400, *statuses, *((401, 422, 429, 503) if auth else ())})
    responses = {}
    for status in wanted:
        code, detail = _EXAMPLES[status] if status in _EXAMPLES else (_HTTP_CODES[status][0], _HTTP_CODES[status][2])
        example = {
            "type": f"urn:membership:problem:{code}",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "code": code,
            "detail": detail,
        }
        responses[status] = ResponseSpec(
            data_container=Problem,
            description=HTTPStatus(status).phrase,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            examples=[Example(summary=code, value=example)],
        )
    return responses
