"""A program's settings (会员方案设置): every choice a business makes for itself, in one typed,
validated, audited place. The API (``GET/PATCH /programs/{id}/settings``), the CLI (``membership
program show|set``), the console's settings page and ``program.toml`` all go through
:func:`change_settings`.

Tiers, points rules, coupon templates, paid and top-up plans are lists with pages of their own;
what is here is one value each.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Annotated, Any, Literal

import msgspec

from membership.audit import service as audit
from membership.db import fetch, fetch_one, use_case
from membership.db.sql import json_column
from membership.errors import ProgramNotFound, Reason, ValidationError
from membership.ledger.policy import PointsPolicy, parse_points_policy, points_policy
from membership.ledger.service import MAX_AMOUNT
from membership.org import service as org
from membership.tiers.policy import TierPolicy

Rounding = Literal["floor", "half_up"]
EarningBase = Literal["after_discounts", "before_discounts"]
ReceiptScope = Literal["store", "program"]
DEFAULT_CLERK_SALE_LIMIT = 500_000  # ¥5,000: a typo of a few more digits needs a manager
DEFAULT_CLERK_VOID_MINUTES = 30


class ProgramSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Every setting of a program; see :data:`HELP` for what each means to a shop."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{3}$")] = "CNY"
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"
    point_value_minor: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1
    min_redeem_points: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] = 0
    stored_value_earns: bool = True
    points_payment_earns: bool = False
    points_rounding: Rounding = "floor"
    earning_base: EarningBase = "after_discounts"
    points_policy: PointsPolicy = msgspec.field(default_factory=PointsPolicy)
    tier_policy: TierPolicy = msgspec.field(default_factory=TierPolicy)
    backdate_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = org.DEFAULT_BACKDATE_DAYS
    retention_days: Annotated[int, msgspec.Meta(ge=30, le=36_500)] | None = None
    receipt_unique_per: ReceiptScope = "store"
    clerk_sale_limit_minor: Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT)] | None = DEFAULT_CLERK_SALE_LIMIT
    clerk_void_minutes: Annotated[int, msgspec.Meta(ge=0, le=10_080)] = DEFAULT_CLERK_VOID_MINUTES
    points_transfer: bool = False
    transfer_min_points: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)] = 1
    transfer_max_points: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)] | None = None
    transfer_daily_max_points: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)] | None = None


@dataclasses.dataclass(frozen=True)
class SettingHelp:
    """How a setting reads to a store manager (label and one sentence, Chinese and English)."""

    label_zh: str
    help_zh: str
    label_en: str
    help_en: str


HELP: dict[str, SettingHelp] = {
    "name": SettingHelp("方案名称", "会员看到的会员计划名称，如“某某会员俱乐部”。", "Name", "What members see."),
    "currency": SettingHelp(
        "币种", "金额的单位；一旦有交易就不能再改。", "Currency", "Cannot change once there are transactions."
    ),
    "time_zone": SettingHelp(
        "时区", "决定“每天”“会员日”“生日”从几点算起。", "Time zone", "When a day, a member day and a birthday begin."
    ),
    "language": SettingHelp("语言", "发给会员的消息用的语言。", "Language", "The language of messages to members."),
    "point_value_minor": SettingHelp(
        "积分抵现",
        "用积分付款时，1 积分抵多少分钱（1 = 100 积分抵 1 元）。",
        "Point value",
        "Paying with points: what one point is worth in minor units (1 = 100 points per yuan).",
    ),
    "min_redeem_points": SettingHelp(
        "最低兑换积分", "每次兑换或抵现至少要用的积分；0 表示不限。", "Smallest redemption", "0 for no minimum."
    ),
    "stored_value_earns": SettingHelp(
        "储值支付积分", "用储值卡付的部分是否也积分。", "Stored value earns", "Whether paying with stored value earns."
    ),
    "points_payment_earns": SettingHelp(
        "积分支付积分", "用积分抵扣的部分是否也积分（通常不积）。", "Points payment earns", "Usually not."
    ),
    "points_rounding": SettingHelp(
        "积分取整",
        "按比例算出的零头：floor 舍去，half_up 四舍五入（每笔交易算一次）。",
        "Rounding",
        "Fractions of a rate, per transaction: floor, or half_up.",
    ),
    "earning_base": SettingHelp(
        "计积分金额",
        "按优惠后实付（after_discounts）还是优惠前原价（before_discounts）计积分。",
        "Earning base",
        "Points on what is paid after discounts, or on the price before them.",
    ),
    "points_policy": SettingHelp(
        "积分有效期",
        "冻结天数（退货期内不能用）、过期方式（永不过期/获得后 N 天/N 个月后的月底或年底）、提前几天提醒。",
        "Points validity",
        "Pending days, expiry (never, N days, end of month or year), warning days.",
    ),
    "tier_policy": SettingHelp(
        "等级规则",
        "按什么算等级（成长值/消费额/次数）、统计多少天、等级有效期、宽限期、到期降级方式。",
        "Tier policy",
        "Metric, window, period, grace and how members move down.",
    ),
    "backdate_days": SettingHelp(
        "补录天数",
        "收银机离线后补传的交易最多可以早几天；太大容易被用来绕过每日积分上限。",
        "Back-dating window",
        "How many days back a till may date a sale (an offline till's queue).",
    ),
    "retention_days": SettingHelp(
        "个人信息保存期限",
        "会员多少天没有任何消费或变动后自动注销其个人信息；留空表示一直保存到本人申请注销。",
        "Retention",
        "Erase members inactive this many days; empty to keep them until they ask.",
    ),
    "receipt_unique_per": SettingHelp(
        "小票号唯一范围",
        "同一小票号在一家门店内（store）还是整个方案内（program）只能记一次。",
        "Receipt numbers unique per",
        "A receipt number is recorded once per store, or once in the whole program.",
    ),
    "clerk_sale_limit_minor": SettingHelp(
        "收银员单笔限额",
        "收银员一笔消费或充值超过这个金额时，须店长或老板在收银台输入账号密码授权；留空表示不限。",
        "Clerk's limit per sale",
        "A clerk's sale or top-up above this amount needs a manager or the owner to approve it at the"
        " counter; empty for no limit.",
    ),
    "clerk_void_minutes": SettingHelp(
        "收银员可作废时限",
        "收银员在收款后多少分钟内可以自行作废或退款；超过后须店长或老板授权。0 表示每次都要授权。",
        "Clerk's void window",
        "Minutes after a sale in which a clerk may void or refund it alone; later a manager or the owner"
        " approves. 0: always.",
    ),
    "points_transfer": SettingHelp(
        "积分转赠",
        "会员能否把积分转赠给本方案的其他会员（转出的积分保留原有效期）。",
        "Points transfer",
        "Whether members may give points to another member of the program (they keep their expiry).",
    ),
    "transfer_min_points": SettingHelp(
        "每次最少转赠", "每次转赠至少多少积分。", "Smallest transfer", "The fewest points one transfer moves."
    ),
    "transfer_max_points": SettingHelp(
        "每次最多转赠", "每次转赠最多多少积分；留空表示不限。", "Largest transfer", "Empty for no limit."
    ),
    "transfer_daily_max_points": SettingHelp(
        "每天最多转出",
        "一位会员一天（按本方案时区）最多转出多少积分；撤回的不算；留空表示不限。",
        "Most given a day",
        "The most points one member may give in a local day (reversed transfers do not count); empty for no limit.",
    ),
}

_COLUMNS = ("name", "currency", "time_zone", "point_value_minor", "stored_value_earns")
_JSON_KEYS = tuple(name for name in ProgramSettings.__struct_fields__ if name not in _COLUMNS)


def settings_of(program: org.ProgramConfig) -> ProgramSettings:
    """The program's settings as they apply now (defaults where nothing was set)."""
    stored = program.settings
    values: dict[str, Any] = {name: getattr(program, name) for name in _COLUMNS}
    values |= {key: stored[key] for key in _JSON_KEYS if key in stored}
    values["points_policy"] = points_policy(stored, program.points_expiry_days)
    return msgspec.convert(values, ProgramSettings, from_attributes=True)


def _converted(values: dict[str, Any]) -> ProgramSettings:
    try:
        return msgspec.convert(values, ProgramSettings, from_attributes=True)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `$")
        field = path.rstrip("`").lstrip(".") or "settings"
        raise ValidationError(field=field, reason=reason) from None


def parse_changes(current: ProgramSettings, changes: dict[str, Any]) -> ProgramSettings:
    """``current`` with ``changes`` applied and every value checked; ``ValidationError`` names
    the first setting at fault."""
    unknown = sorted(set(changes) - set(ProgramSettings.__struct_fields__))
    if unknown:
        raise ValidationError(
            field=unknown[0],
            reason=Reason(
                f"unknown setting; the settings are {', '.join(ProgramSettings.__struct_fields__)}",
                "未知的设置项",
            ),
        )
    merged = {**msgspec.to_builtins(current), **changes}
    settings = _converted(merged)
    if "points_policy" in changes:
        parse_points_policy(msgspec.to_builtins(settings.points_policy))
    org.check_zone_and_currency(settings.time_zone, settings.currency)
    return msgspec.structs.replace(settings, currency=settings.currency.upper())


def differences(before: ProgramSettings, after: ProgramSettings) -> dict[str, list[Any]]:
    """``{setting: [old, new]}`` for every setting that differs (as JSON-ready values)."""
    old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
    return {key: [old[key], new[key]] for key in new if old.get(key) != new[key]}


@use_case
async def change_settings(program_id: uuid.UUID, changes: dict[str, Any], actor: str = "system") -> ProgramSettings:
    """Change some of a program's settings: each checked, the currency only while nothing has
    been booked in it, the change audited (who, when, old → new). The settings after it."""
    program = await org.get_program(program_id)
    row = await fetch_one("SELECT settings FROM program WHERE id = {}", program_id)
    if row is None:
        raise ProgramNotFound(program_id=program_id)
    before = settings_of(program)
    after = parse_changes(before, changes)
    changed = differences(before, after)
    if not changed:
        return before
    if "currency" in changed and await fetch_one(
        "SELECT id FROM ledger_posting WHERE program_id = {} LIMIT 1", program_id
    ):
        raise ValidationError(
            field="currency",
            reason=Reason(
                f"the program already has transactions in {before.currency}: amounts are kept in its minor units",
                f"会员方案已有 {before.currency} 交易（金额按其最小单位记账），不能更改币种",
            ),
        )
    stored = json_column(row["settings"]) or {}
    new = msgspec.to_builtins(after)
    for key in changed:
        if key in _JSON_KEYS:
            stored[key] = new[key]
    columns = {key: new[key] for key in changed if key in _COLUMNS}
    columns["settings"] = json.dumps(stored, ensure_ascii=False)
    assignments = ", ".join(f"{name} = {{}}" for name in columns)
    await fetch(f"UPDATE program SET {assignments} WHERE id = {{}}", *columns.values(), program_id)
    await audit.record(actor, "program.settings", "program", program_id, program_id, {"changes": changed})
    org.forget_program(program_id)
    return after
