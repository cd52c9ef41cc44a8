"""Refusal reasons reach a Chinese reader in Chinese: every reason the code writes is a
:class:`~membership.errors.Reason` with both texts, and the English stays what API clients see."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from membership import errors
from membership.errors import MembershipError, Reason, ValidationError
from membership.sales import service as sales
from tests.helpers import make_shop

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("membership", "plugins", "contrib")


def _error_names() -> set[str]:
    """The names of every business error class (they all take keyword parameters)."""
    found, todo = set(), [MembershipError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


ERROR_NAMES = _error_names()


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def literal_reasons(source: str, filename: str) -> list[str]:
    """``file:line`` of each error raised with a bare English ``reason=`` (a string or f-string)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if not (name.endswith("Error") or name in ERROR_NAMES):
            continue
        for keyword in node.keywords:
            value = keyword.value
            literal = isinstance(value, ast.JoinedStr) or (
                isinstance(value, ast.Constant) and isinstance(value.value, str)
            )
            if keyword.arg == "reason" and literal:
                found.append(f"{filename}:{value.lineno}")
    return found


def test_the_scan_finds_a_bare_reason_and_accepts_a_localized_one():
    bare = 'raise ValidationError(field="lines", reason="at least one line")\nraise InvalidBirthday(reason=f"{x}")\n'
    assert literal_reasons(bare, "x.py") == ["x.py:1", "x.py:2"]
    localized = 'raise ValidationError(field="lines", reason=Reason("at least one line", "至少一行"))\n'
    assert literal_reasons(localized + "raise ValidationError(field=f, reason=str(exc))\n", "x.py") == []


def test_no_error_is_raised_with_an_english_only_reason():
    bare = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            bare += literal_reasons(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not bare, "give these reasons as Reason(english, chinese):\n" + "\n".join(bare)


def test_a_reason_renders_in_the_reader_s_language():
    error = ValidationError(field="lines", reason=Reason("at least one line", "至少一行"))
    assert "至少一行" in error.detail("zh") and "at least one line" not in error.detail("zh")
    assert "at least one line" in error.detail("en") and "至少一行" not in error.detail("en")
    assert str(error) == "Invalid lines: at least one line"
    assert str(error.params["reason"]) == "at least one line"


def test_plain_text_reasons_are_still_translated_and_other_errors_follow_the_same_rule():
    msgspec_reason = ValidationError(field="points", reason="Expected `int`, got `str`")
    assert msgspec_reason.detail("zh") == "points 无效：应为整数，而不是文本"
    birthday = errors.InvalidBirthday(reason=Reason("birthday is before 1900", "不能早于 1900 年"))
    assert birthday.detail("zh") == "生日无效：不能早于 1900 年"
    assert birthday.detail("en") == "Invalid birthday: birthday is before 1900"
    refused = errors.RedemptionNotAllowed(reason=Reason("not on Sundays", "周日不可兑换"))
    assert refused.detail("zh") == "不允许兑换：周日不可兑换"
    assert refused.detail("en") == "Redemption refused: not on Sundays"


async def test_a_purchase_without_lines_is_refused_in_chinese(db):
    shop = await make_shop()
    with pytest.raises(ValidationError) as refused:
        await sales.record_purchase(shop.program.id, shop.store_id, shop.member_id, [])
    chinese = refused.value.detail("zh")
    assert chinese == "lines 无效：至少需要一行商品"
    assert not {"at", "least", "one", "line"} & set(chinese.replace("：", " ").split())
    assert refused.value.detail("en") == "Invalid lines: at least one line"


async def test_the_api_answers_in_chinese_and_keeps_its_field_errors_in_english(api):
    body = api.sale(9_900, payments=[{"method": "cash", "amount": 100}])
    answer = await api.call("POST", "/transactions", "pos", body, lang="zh-CN", **{"Idempotency-Key": "till-1-1"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["detail"] == "payments 无效：合计 100，与商品合计 9900 不符"
    assert problem["errors"] == [{"field": "payments", "message": "add up to 100, the lines to 9900"}]
