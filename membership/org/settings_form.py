"""Program settings as console forms (设置表单): every :class:`ProgramSettings` value as a field a
store manager reads — amounts in yuan, the point value as "100 积分抵 1.00 元", switches, selects
with Chinese labels, the points and tier policies as sub-forms — and back.

:func:`parse_form` turns what was posted into the changes :func:`change_settings` takes, with
an error per field (in the reader's language, under the field's own label: never an English
key); :func:`describe` writes a value as the form shows it (for "old → new"). The settings page
and the first-run wizard both use it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from babel.numbers import UnknownCurrencyError, get_currency_precision

from membership.errors import MembershipError, ValidationError, reason_zh
from membership.org.settings import HELP, ProgramSettings, parse_changes

OTHER = "other"  # the point value typed as "1 积分 = X 分"


@dataclasses.dataclass(frozen=True)
class Choice:
    """One option of a select: the stored value and its label in Chinese and English."""

    value: str
    zh: str
    en: str


@dataclasses.dataclass(frozen=True)
class Field:
    """One input of the form. ``name`` is the setting, or ``policy.part`` for a sub-form's input;
    ``kind``: text, int, optional_int (empty = none), optional_amount (typed in yuan; empty = none),
    bool, choice, zone, currency, point_value."""

    name: str
    kind: str
    label: tuple[str, str]
    help: tuple[str, str] = ("", "")
    choices: tuple[Choice, ...] = ()

    @property
    def setting(self) -> str:
        """The setting this input belongs to (``points_policy`` for ``points_policy.expiry``)."""
        return self.name.partition(".")[0]


def _help(name: str) -> tuple[tuple[str, str], tuple[str, str]]:
    meaning = HELP[name]
    return (meaning.label_zh, meaning.label_en), (_plain_zh(meaning.help_zh), meaning.help_en)


def _plain_zh(text: str) -> str:
    """A HELP sentence without the setting's English value names (``（after_discounts）``,
    ``floor 舍去``): the select beside it shows the Chinese labels."""
    text = re.sub(r"（[a-z_]+）", "", text)
    return re.sub(r"(?<![A-Za-z0-9_])[a-z]+(?:_[a-z]+)*\s(?=[^\x00-\x7f])", "", text)


def _field(name: str, kind: str, choices: Sequence[tuple[str, str, str]] = ()) -> Field:
    label, help_ = _help(name)
    return Field(name, kind, label, help_, tuple(Choice(*c) for c in choices))


ROUNDING = (("floor", "舍去零头", "Round down"), ("half_up", "四舍五入", "Round half up"))
EARNING_BASE = (
    ("after_discounts", "按优惠后实付", "What is paid after discounts"),
    ("before_discounts", "按原价", "The price before discounts"),
)
RECEIPT_SCOPE = (("store", "每家门店内", "Within each store"), ("program", "整个方案内", "In the whole program"))
LANGUAGE = (("zh", "中文", "Chinese"), ("en", "英文", "English"))
EXPIRY = (
    ("never", "永不过期", "Never"),
    ("days_after", "获得后 N 天过期", "N days after earning"),
    ("end_of_month", "N 个月后的月底过期", "At the end of the month, N months after earning"),
    ("end_of_year", "N 个月后的年底过期", "At the end of the year, N months after earning"),
)
SIMPLE_EXPIRY = (
    ("never", "永不过期", "Never"),
    ("days_after", "获得后 N 天过期", "N days after earning"),
    ("end_of_year", "次年年底清零", "At the end of the next year"),
)
EXPIRY_TIME = (
    ("exact", "精确到获得的时刻", "To the moment earned"),
    ("end_of_day", "到期日当天全天可用", "Through the whole last day"),
)
METRIC = (
    ("growth", "成长值", "Growth"),
    ("spend", "消费金额", "Spend"),
    ("points", "获得的积分", "Points earned"),
    ("visits", "消费次数", "Visits"),
)
DOWNGRADE = (
    ("one_down", "降一级", "Down one tier"),
    ("recalculate", "按实际重新定级", "To the tier they qualify for"),
)


def _part(name: str, kind: str, zh: str, en: str, help_zh: str, help_en: str, choices: Sequence[Any] = ()) -> Field:
    return Field(name, kind, (zh, en), (help_zh, help_en), tuple(Choice(*c) for c in choices))


POINTS_POLICY_FIELDS = (
    _part(
        "points_policy.pending_days",
        "int",
        "冻结天数",
        "Pending days",
        "消费得到的积分要等几天才能用（退货期），期间退货积分自动取消；0 表示马上可用。",
        "Points from purchases wait this many days (the return window); 0: spendable at once.",
    ),
    _part(
        "points_policy.expiry",
        "choice",
        "积分有效期",
        "Expiry",
        "积分什么时候过期；过期的积分自动清零。",
        "When earned points expire.",
        EXPIRY,
    ),
    _part(
        "points_policy.expiry_days",
        "optional_int",
        "有效天数",
        "Days",
        "选“获得后 N 天过期”时填写。",
        "For “N days after earning”.",
    ),
    _part(
        "points_policy.expiry_time",
        "choice",
        "到期时刻",
        "Expiry time",
        "选“获得后 N 天过期”时：到期日当天是否全天可用（按本方案时区，到当天 24 点）。",
        "For “N days after earning”: whether points stay usable through the whole last day (program's time zone).",
        EXPIRY_TIME,
    ),
    _part(
        "points_policy.expiry_months",
        "int",
        "月数",
        "Months",
        "选月底或年底过期时：获得后第几个月（12 = 次年同月；年底方式填 12 即“次年年底清零”）。",
        "For month or year ends: how many months after earning (12 with the year end: end of next year).",
    ),
    _part(
        "points_policy.warn_days",
        "int",
        "提前提醒天数",
        "Warn days",
        "积分过期前几天提醒会员；0 表示不提醒。",
        "Members hear this many days before points expire; 0 for no warning.",
    ),
)

TIER_POLICY_FIELDS = (
    _part(
        "tier_policy.metric",
        "choice",
        "定级依据",
        "Ranked by",
        "会员等级按哪项累计来定。",
        "What members are ranked by.",
        METRIC,
    ),
    _part(
        "tier_policy.window_days",
        "int",
        "统计天数",
        "Window (days)",
        "统计最近多少天的累计。",
        "Over how many recent days.",
    ),
    _part(
        "tier_policy.period_days",
        "int",
        "等级有效天数",
        "Period (days)",
        "升到一个等级后保持多少天，到期再复核。",
        "How long a tier is kept before it is reviewed.",
    ),
    _part(
        "tier_policy.grace_days",
        "int",
        "宽限天数",
        "Grace (days)",
        "到期后再给多少天补足条件。",
        "Extra days to requalify after the period.",
    ),
    _part(
        "tier_policy.downgrade",
        "choice",
        "到期不达标时",
        "When not requalified",
        "复核时不够条件的会员怎么降级。",
        "How a member who no longer qualifies moves down.",
        DOWNGRADE,
    ),
)

FIELDS: dict[str, Field] = {
    field.name: field
    for field in (
        _field("name", "text"),
        _field("currency", "currency"),
        _field("time_zone", "zone"),
        _field("language", "choice", LANGUAGE),
        _field("point_value_minor", "point_value"),
        _field("min_redeem_points", "int"),
        _field("stored_value_earns", "bool"),
        _field("points_payment_earns", "bool"),
        _field("points_rounding", "choice", ROUNDING),
        _field("earning_base", "choice", EARNING_BASE),
        *POINTS_POLICY_FIELDS,
        *TIER_POLICY_FIELDS,
        _field("backdate_days", "int"),
        _field("receipt_unique_per", "choice", RECEIPT_SCOPE),
        _field("retention_days", "optional_int"),
        _field("clerk_sale_limit_minor", "optional_amount"),
        _field("clerk_void_minutes", "int"),
        _field("points_transfer", "bool"),
        _field("transfer_min_points", "int"),
        _field("transfer_max_points", "optional_int"),
        _field("transfer_daily_max_points", "optional_int"),
    )
}

# the settings page, section by section: (title zh, title en, the setting whose HELP introduces it, fields)
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("基本信息", "Basics", "", ("name", "currency", "time_zone", "language")),
    ("积分抵现", "Paying with points", "", ("point_value_minor", "min_redeem_points")),
    (
        "积分怎么算",
        "Earning points",
        "",
        ("stored_value_earns", "points_payment_earns", "points_rounding", "earning_base"),
    ),
    ("积分有效期", "Points validity", "points_policy", tuple(f.name for f in POINTS_POLICY_FIELDS)),
    ("等级规则", "Tier policy", "tier_policy", tuple(f.name for f in TIER_POLICY_FIELDS)),
    ("收银与会员信息", "Tills and members' data", "", ("backdate_days", "receipt_unique_per", "retention_days")),
    ("收银员权限", "Clerks at the counter", "", ("clerk_sale_limit_minor", "clerk_void_minutes")),
    (
        "积分转赠",
        "Points transfers",
        "points_transfer",
        ("points_transfer", "transfer_min_points", "transfer_max_points", "transfer_daily_max_points"),
    ),
)


def section_help(key: str, language: str) -> str:
    """The sentence that introduces a section (a policy's HELP), or ""."""
    if not key:
        return ""
    return _plain_zh(HELP[key].help_zh) if is_zh(language) else HELP[key].help_en


# the first-run wizard's loyalty step: the main choices, the rest at their defaults
WIZARD_FIELDS = (
    "point_value_minor",
    "min_redeem_points",
    "stored_value_earns",
    "points_policy.expiry",
    "points_policy.expiry_days",
    "points_policy.pending_days",
)


def is_zh(language: str) -> bool:
    """True for the Chinese console (``zh_CN``) or a program language ``zh``."""
    return language.lower().startswith("zh")


def minor_per_unit(currency: str) -> int:
    """Minor units in one unit of ``currency`` (100 fen in a yuan; 1 for yen)."""
    try:
        return 10 ** get_currency_precision(currency)
    except UnknownCurrencyError:
        return 100


def amount(minor: int, currency: str, language: str) -> str:
    """``minor`` units as a Chinese or English reader writes them: ``1.00 元``, ``1.00 HKD``."""
    digits = len(str(minor_per_unit(currency))) - 1
    whole, fraction = divmod(minor, minor_per_unit(currency))
    text = f"{whole}.{fraction:0{digits}d}" if digits else str(whole)
    return f"{text} 元" if currency == "CNY" and is_zh(language) else f"{text} {currency}"


def point_value_text(value: int, currency: str, language: str) -> str:
    """What one point is worth when paying with points: ``100 积分抵 1.00 元（1 积分 = 1 分）``, or
    for a value that does not divide a yuan, ``1 积分 = 3 分（100 积分抵 3.00 元）``."""
    unit = minor_per_unit(currency)
    zh = is_zh(language)
    minor_name = ("分" if zh else "fen") if currency == "CNY" else ("个最小单位" if zh else "minor units")
    each = f"1 积分 = {value} {minor_name}" if zh else f"1 point = {value} {minor_name}"
    if unit % value == 0:
        per = unit // value
        head = (
            f"{per} 积分抵 {amount(unit, currency, language)}"
            if zh
            else f"{per} point{'s' if per > 1 else ''} = {amount(unit, currency, language)}"
        )
        return f"{head}（{each}）" if zh else f"{head} ({each})"
    hundred = (
        f"100 积分抵 {amount(100 * value, currency, language)}"
        if zh
        else f"100 points = {amount(100 * value, currency, language)}"
    )
    return f"{each}（{hundred}）" if zh else f"{each} ({hundred})"


def point_value_presets(currency: str) -> list[int]:
    """Point values that buy one currency unit with a whole number of points (1, 2, 4, 5, 10 …
    fen for the yuan), smallest first."""
    unit = minor_per_unit(currency)
    return [value for value in range(1, unit + 1) if unit % value == 0]


# --- settings -> form text ----------------------------------------------------------------------------


def form_values(settings: ProgramSettings) -> dict[str, str]:
    """Every field's text as the form shows it (``point_value_other`` is the typed point value
    when it is not a preset)."""
    data = msgspec.to_builtins(settings)
    values: dict[str, str] = {}
    for field in FIELDS.values():
        key, _, part = field.name.partition(".")
        value = data[key][part] if part else data[key]
        values[field.name] = _amount_text(value, settings.currency) if field.kind == "optional_amount" else _text(value)
    if settings.point_value_minor not in point_value_presets(settings.currency):
        values["point_value_minor"], values["point_value_other"] = OTHER, str(settings.point_value_minor)
    else:
        values["point_value_other"] = ""
    return values


def _amount_text(minor: int | None, currency: str) -> str:
    """An amount in minor units as one types it in the currency's units (``5000.00``); "" for none."""
    if minor is None:
        return ""
    return str(Decimal(minor) / minor_per_unit(currency))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- form -> changes --------------------------------------------------------------------------------


class FormErrors(Exception):
    """Errors of a posted form, by field name, in the reader's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(", ".join(errors))


def _messages(language: str) -> dict[str, str]:
    zh = is_zh(language)
    return {
        "required": "必填" if zh else "required",
        "whole": "请填写整数，如 30" if zh else "a whole number, such as 30",
        "choice": "请从列表中选择" if zh else "choose one of the list",
        "amount": "请填写金额，如 5000 或 5000.00（单位：元）" if zh else "an amount such as 5000.00",
    }


def _convert(
    field: Field, values: Sequence[str], form: Mapping[str, Sequence[str]], language: str, currency: str = "CNY"
) -> Any:
    """The typed value of one input; ``ValueError`` with the reader's message."""
    said = _messages(language)
    text = (values[-1] if values else "").strip()
    if field.kind == "bool":
        return "true" in values or "on" in values
    if field.kind == "point_value":
        if text == OTHER:
            text = (form.get("point_value_other") or [""])[-1].strip()
        return _whole(text, said)
    if field.kind == "optional_amount":
        return _minor(text, currency, said) if text else None
    if field.kind in ("int", "optional_int"):
        if field.kind == "optional_int" and not text:
            return None
        return _whole(text, said)
    if field.kind == "choice" and text not in {choice.value for choice in field.choices}:
        raise ValueError(said["choice"])
    if not text:
        raise ValueError(said["required"])
    return text.upper() if field.kind == "currency" else text


def _whole(text: str, said: dict[str, str]) -> int:
    text = re.sub(r"[\s,，]", "", text)
    if not text:
        raise ValueError(said["required"])
    if not re.fullmatch(r"\d+", text):
        raise ValueError(said["whole"])
    return int(text)


def _minor(text: str, currency: str, said: dict[str, str]) -> int:
    """A typed amount (``5000``, ``5,000.50``, ``¥5000``) in minor units, exactly."""
    cleaned = re.sub(r"[\s,，¥￥元]", "", text)
    if not re.fullmatch(r"\d+(\.\d*)?", cleaned):
        raise ValueError(said["amount"])
    minor = Decimal(cleaned) * minor_per_unit(currency)
    if minor != minor.to_integral_value():
        raise ValueError(said["amount"])
    return int(minor)


def reason_text(error: MembershipError, language: str) -> str:
    """Why ``error`` refused a value, for the field it names (the label is beside it): a
    :class:`ValidationError`'s reason alone, in the reader's language, without msgspec's path."""
    reason = error.params.get("reason") if isinstance(error, ValidationError) else None
    if reason is None:
        return error.detail(language)
    if not isinstance(reason, str):
        return _named(reason.zh) if is_zh(language) else reason.en
    reason = reason.partition(" - at `")[0]
    return _named(reason_zh(reason)) if is_zh(language) else reason


def _chinese_names() -> dict[str, str]:
    """Inputs and choices by their English names, as a Chinese reader knows them."""
    names = {}
    for field in FIELDS.values():
        names[field.name.rpartition(".")[2]] = field.label[0]
        names |= {choice.value: f"“{choice.zh}”" for choice in field.choices}
    return names


def _named(text: str) -> str:
    """A Chinese reason with the English names of inputs and choices in it (``expiry 为
    days_after 时必填``) replaced by what the form calls them."""
    names = _chinese_names()
    return re.sub(r"[a-z]+(?:_[a-z]+)*", lambda m: names.get(m[0], m[0]), text)


def field_of(error: MembershipError, candidates: Iterable[str]) -> str:
    """The form field a ``ValidationError`` names, among ``candidates`` (the fields posted): the
    exact input, else the first input of the setting it names; "" when it names none."""
    named = str(error.params.get("field", ""))
    candidates = list(candidates)
    if named in candidates:
        return named
    setting = named.partition(".")[0]
    return next((name for name in candidates if name.partition(".")[0] == setting), "")


def parse_form(
    form: Mapping[str, Sequence[str]],
    current: ProgramSettings,
    language: str,
    only: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The changes a posted form asks for (each setting whose inputs were posted; ``only``
    limits the inputs looked at), checked against ``current``. ``FormErrors`` holds every
    field's error at once, in ``language``."""
    names = [name for name in (only or FIELDS) if name in FIELDS and name in form]
    errors: dict[str, str] = {}
    typed: dict[str, Any] = {}
    for name in names:
        try:
            typed[name] = _convert(FIELDS[name], form[name], form, language, current.currency)
        except ValueError as exc:
            errors[name] = str(exc)
    base = msgspec.to_builtins(current)
    changes: dict[str, Any] = {}
    for name, value in typed.items():
        key, _, part = name.partition(".")
        if part:
            changes.setdefault(key, dict(base[key]))[part] = value
        else:
            changes[key] = value
    for key, value in changes.items():
        posted = [name for name in names if name.partition(".")[0] == key]
        if any(name in errors for name in posted):
            continue
        if key == "points_policy" and value["expiry"] == "days_after" and value.get("expiry_days") is None:
            zh = is_zh(language)
            errors["points_policy.expiry_days"] = (
                "选“获得后 N 天过期”时请填写天数" if zh else "required for “N days after earning”"
            )
            continue
        try:
            parse_changes(current, {key: value})
        except MembershipError as exc:
            errors[field_of(exc, posted) or posted[0]] = reason_text(exc, language)
    if errors:
        raise FormErrors(errors)
    return changes


# --- values as read -----------------------------------------------------------------------------


def choice_label(field: Field, value: Any, language: str) -> str:
    """The label of ``value`` among the field's choices (the value itself when unknown)."""
    for choice in field.choices:
        if choice.value == value:
            return choice.zh if is_zh(language) else choice.en
    return str(value)


def _days(n: int, zh: bool) -> str:
    return f"{n} 天" if zh else f"{n} days"


def _points_policy(policy: dict[str, Any], zh: bool) -> str:
    expiry, months = policy.get("expiry", "never"), policy.get("expiry_months", 12)
    parts = []
    if expiry == "never":
        parts.append("永不过期" if zh else "never expire")
    elif expiry == "days_after":
        days = policy.get("expiry_days")
        parts.append(f"获得后 {days} 天过期" if zh else f"expire {days} days after earning")
        if policy.get("expiry_time") == "end_of_day":
            parts.append("到期日当天全天可用" if zh else "usable through the last day")
    elif expiry == "end_of_year" and months in (0, 12):
        which = ("当年" if months == 0 else "次年") if zh else ("this" if months == 0 else "next")
        parts.append(f"{which}年底过期" if zh else f"expire at the end of {which} year")
    else:
        end = (
            ("月底" if expiry == "end_of_month" else "年底")
            if zh
            else ("month" if expiry == "end_of_month" else "year")
        )
        parts.append(f"{months} 个月后的{end}过期" if zh else f"expire at the end of the {end} {months} months after")
    pending, warn = policy.get("pending_days", 0), policy.get("warn_days", 0)
    parts.append(
        (f"冻结 {pending} 天" if pending else "马上可用")
        if zh
        else (f"{pending} days pending" if pending else "spendable at once")
    )
    parts.append(
        (f"提前 {warn} 天提醒" if warn else "不提醒")
        if zh
        else (f"warned {warn} days before" if warn else "no warning")
    )
    return ("，" if zh else ", ").join(parts)


def _tier_policy(policy: dict[str, Any], language: str) -> str:
    zh = is_zh(language)
    metric = choice_label(FIELDS["tier_policy.metric"], policy.get("metric"), language)
    downgrade = choice_label(FIELDS["tier_policy.downgrade"], policy.get("downgrade"), language)
    window, period, grace = policy.get("window_days"), policy.get("period_days"), policy.get("grace_days")
    if zh:
        return f"按{metric}定级，统计 {window} 天，等级有效 {period} 天，宽限 {grace} 天，不达标{downgrade}"
    return f"by {metric.lower()} over {window} days, kept {period} days, grace {grace} days, then {downgrade.lower()}"


def describe(key: str, value: Any, currency: str, language: str) -> str:
    """A setting's value as the form shows it: ``100 积分抵 1.00 元（1 积分 = 1 分）``, ``四舍五入``,
    ``一直保存``, ``获得后 365 天过期，冻结 7 天，不提醒``."""
    zh = is_zh(language)
    if key == "point_value_minor":
        return point_value_text(int(value), currency, language)
    if key == "points_policy":
        return _points_policy(value, zh)
    if key == "tier_policy":
        return _tier_policy(value, language)
    if key == "retention_days":
        return ("一直保存" if zh else "kept until the member asks") if value is None else _days(value, zh)
    if key == "backdate_days":
        return _days(value, zh)
    if key == "clerk_sale_limit_minor":
        return ("不限" if zh else "no limit") if value is None else amount(int(value), currency, language)
    if key == "clerk_void_minutes":
        return f"{value} 分钟" if zh else f"{value} minutes"
    if key == "min_redeem_points":
        return ("不限" if zh else "no minimum") if not value else (f"{value} 积分" if zh else f"{value} points")
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    field = FIELDS.get(key)
    if field is not None and field.choices:
        return choice_label(field, value, language)
    return str(value)


def label(key: str, language: str) -> str:
    """A setting's (or a sub-form input's) label in the reader's language."""
    if key in FIELDS:
        zh, en = FIELDS[key].label
    else:
        zh, en = HELP[key].label_zh, HELP[key].label_en
    return zh if is_zh(language) else en


def changed_lines(changes: dict[str, list[Any]], currency: str, language: str) -> list[tuple[str, str, str]]:
    """``(label, old, new)`` for each change an audit entry of ``change_settings`` recorded."""
    lines = []
    for key, (old, new) in changes.items():
        if key not in HELP:
            continue
        lines.append(
            (label(key, language), describe(key, old, currency, language), describe(key, new, currency, language))
        )
    return lines


# --- fields as the templates render them ------------------------------------------------------------

CURRENCIES = ("CNY", "HKD", "MOP", "TWD", "USD", "EUR", "JPY", "KRW", "SGD")
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo")


@dataclasses.dataclass(frozen=True)
class FieldView:
    """One input as a template draws it: label, help sentence, the value typed (or stored),
    its error, the options of a select, and why it is locked (empty when it is not)."""

    name: str
    kind: str
    label: str
    help: str
    value: str
    error: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    other: str = ""
    locked: str = ""


def currency_choices(current: str, language: str) -> tuple[tuple[str, str], ...]:
    """The currencies to choose from (the current one too), each with its name."""
    from babel.numbers import get_currency_name

    locale = "zh_CN" if is_zh(language) else "en"
    codes = sorted({*CURRENCIES, current.upper()} - {""})
    named = []
    for code in codes:
        try:
            named.append((code, f"{code} · {get_currency_name(code, locale=locale)}"))
        except (UnknownCurrencyError, ValueError):
            named.append((code, code))
    return tuple(named)


def zone_choices(zones: Sequence[str], current: str) -> tuple[tuple[str, str], ...]:
    """Time zones: the common ones of the region first, then every zone."""
    first = [zone for zone in COMMON_ZONES if zone in zones or zone == current]
    rest = [zone for zone in zones if zone not in first]
    if current and current not in first and current not in rest:
        first.insert(0, current)
    return tuple((zone, zone) for zone in (*first, *rest))


def field_views(
    names: Iterable[str],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    language: str,
    *,
    currency: str = "CNY",
    zones: Sequence[str] = (),
    locked: Mapping[str, str] | None = None,
    choices: Mapping[str, Sequence[tuple[str, str, str]]] | None = None,
) -> list[FieldView]:
    """The inputs ``names`` with ``values`` (form text) and ``errors`` for ``language``;
    ``locked`` says why an input cannot change now, ``choices`` narrows a select's options."""
    zh = is_zh(language)
    views = []
    for name in names:
        field = FIELDS[name]
        value = values.get(name, "")
        options: tuple[tuple[str, str], ...] = ()
        if field.kind == "choice":
            listed = (choices or {}).get(name) or [(c.value, c.zh, c.en) for c in field.choices]
            options = tuple((v, z if zh else e) for v, z, e in listed)
        elif field.kind == "currency":
            options = currency_choices(value or currency, language)
        elif field.kind == "zone":
            options = zone_choices(zones, value)
        elif field.kind == "point_value":
            presets = [(str(v), point_value_text(v, currency, language)) for v in point_value_presets(currency)]
            other = ("其他：1 积分 = X 分" if currency == "CNY" else "其他：1 积分 = X 个最小单位") if zh else "Other"
            options = (*presets, (OTHER, other))
        views.append(
            FieldView(
                name=name,
                kind=field.kind,
                label=field.label[0] if zh else field.label[1],
                help=field.help[0] if zh else field.help[1],
                value=value,
                error=errors.get(name, "")
                or (errors.get("point_value_other", "") if field.kind == "point_value" else ""),
                choices=options,
                other=values.get("point_value_other", ""),
                locked=(locked or {}).get(name, ""),
            )
        )
    return views
