"""The console's catalogs: every text in code and templates is translated to Chinese, with the
same placeholders; money and numbers follow the locale."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from membership.console import i18n
from membership.errors import ValidationError

ROOT = Path(__file__).parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str]:
    """Message ids in the kernel, extracted as ``babel.cfg`` says."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}
    found = extract_from_dir(ROOT / "membership", method_map, options, keywords={"_": None, "gettext": None})
    return {message for _, _, message, _, _ in found}


def catalog(language: str):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_every_console_text_has_a_chinese_translation_with_the_same_placeholders():
    messages = extracted()
    assert len(messages) > 40
    zh = catalog("zh_CN")
    missing = sorted(m for m in messages if not (zh.get(m) and zh.get(m).string and not zh.get(m).fuzzy))
    assert missing == [], "run pybabel update and translate these"
    for message in messages:
        assert set(PLACEHOLDER.findall(message)) == set(PLACEHOLDER.findall(zh.get(message).string)), message
    assert {m for m in messages} <= {m.id for m in catalog("en") if m.id}


def test_gettext_follows_the_request_language():
    i18n.use_language("en")
    assert i18n.gettext("Counter") == "Counter"
    i18n.use_language("zh_CN")
    assert i18n.gettext("Counter") == "前台"
    assert i18n.gettext("Topped up %(amount)s.", amount="¥5.00") == "已充值 ¥5.00。"
    i18n.use_language("fr")  # unknown: Chinese, the default
    assert i18n.current_language() == "zh_CN"


def test_money_and_numbers_are_exact_and_localised():
    i18n.use_language("zh_CN")
    assert i18n.money(123_450) == "¥1,234.50"
    assert i18n.money(1, "JPY") == "JP¥1"  # no minor unit
    assert i18n.number(1_234_567) == "1,234,567"
    i18n.use_language("en")
    assert i18n.money(10_000_000_000_001) == "CN¥100,000,000,000.01"  # no float rounding


def test_validation_reasons_from_msgspec_read_in_chinese():
    cases = {
        "Expected `int` >= 1 - at `$.points`": "应为 ≥ 1 的整数（位置 $.points）",
        "Expected `str` of length <= 64": "文本长度应至多为 64",
        "Expected `int`, got `float`": "应为整数，而不是小数",
        "Object missing required field `name`": "缺少必填项 name",
        "Object contains unknown field `surprise`": "含有未知项 surprise",
        "Invalid enum value 'lottery'": "不是可选的值：'lottery'",
        "must be at least 1": "must be at least 1",  # ours: kept as given
    }
    for reason, chinese in cases.items():
        error = ValidationError(field="params", reason=reason)
        assert error.detail("zh") == f"params 无效：{chinese}"
        assert error.detail("en") == f"Invalid params: {reason}"
