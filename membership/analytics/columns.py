"""The kernel's vocabulary of report columns: what a column named ``revenue`` or ``visits`` holds,
how it is headed in Chinese and English, its unit, and whether a total of it means something.
A report's own :attr:`~membership.analytics.interface.Report.headings` come first; a key in
neither is shown as it is (and a test lists the registered reports' columns to keep that rare)."""

from __future__ import annotations

from membership.analytics.interface import Report, ReportColumn

ACCOUNTS = {
    "points": ("积分", "Points"),
    "points_pending": ("冻结中的积分", "Points pending"),
    "points_debt": ("积分欠款", "Points debt"),
    "stored_value": ("储值", "Stored value"),
    "stored_value_bonus": ("赠送储值", "Stored value bonus"),
    "growth": ("成长值", "Growth"),
    "gift_card": ("礼品卡", "Gift card"),
}


def _columns(*columns: ReportColumn) -> dict[str, ReportColumn]:
    return {column.key: column for column in columns}


def _money(key: str, zh: str, en: str, total: bool = True) -> ReportColumn:
    return ReportColumn(key, zh, en, "money", total)


def _count(key: str, zh: str, en: str, total: bool = True) -> ReportColumn:
    return ReportColumn(key, zh, en, "count", total)


COMMON: dict[str, ReportColumn] = _columns(
    ReportColumn("month", "月份", "Month", "month"),
    ReportColumn("day", "日期", "Day", "date"),
    ReportColumn("hour", "时段", "Hour"),
    ReportColumn("store", "门店", "Store"),
    ReportColumn("store_name", "门店名称", "Store name"),
    ReportColumn("issuer_store", "发卡门店", "Issuing store"),
    ReportColumn("redeemer_store", "使用门店", "Store where spent"),
    ReportColumn("tier", "等级", "Tier"),
    ReportColumn("account", "账户", "Account", values=ACCOUNTS),
    ReportColumn("kind", "类型", "Kind", values=ACCOUNTS),
    ReportColumn("member_no", "会员号", "Member no."),
    ReportColumn("name", "名称", "Name"),
    ReportColumn("sku", "商品编码", "SKU"),
    ReportColumn("rank", "排名", "Rank"),
    ReportColumn("meal_period", "餐段", "Meal"),
    ReportColumn("service_mode", "就餐方式", "Service"),
    ReportColumn("format", "业态", "Format"),
    ReportColumn("plan", "套餐", "Plan"),
    ReportColumn("period", "期间", "Period"),
    ReportColumn("gate", "闸口", "Gate"),
    ReportColumn("gate_name", "闸口名称", "Gate name"),
    ReportColumn("antecedent", "买了", "Bought"),
    ReportColumn("consequent", "常一起买", "Also bought"),
    ReportColumn("first_visit", "首次到店", "First visit", "date"),
    ReportColumn("last_visit", "最近到店", "Last visit", "date"),
    _count("sales", "消费笔数", "Sales"),
    _count("members", "会员数", "Members"),
    _count("new_members", "新会员", "New members"),
    _count("active_members", "消费会员", "Buying members"),
    _count("repeat_buyers", "复购会员", "Repeat buyers"),
    _count("new_buyers", "新顾客", "New buyers"),
    _count("returning_buyers", "老顾客", "Returning buyers"),
    _count("visits", "到店次数", "Visits"),
    _count("visitors", "到访人数", "Visitors"),
    _count("visit_days", "到访人天", "Visit days"),
    _count("repeat_visitors", "重游人数", "Repeat visitors"),
    _count("returning_visitors", "回头客", "Returning visitors"),
    _count("spending_visits", "有消费的到访", "Visits with spending"),
    _count("diners", "就餐人数", "Diners"),
    _count("quantity", "数量", "Quantity"),
    _count("entries", "入园次数", "Entries"),
    _count("refused", "拒绝次数", "Refused"),
    _count("days", "天数", "Days", total=False),
    _count("days_between_visits", "平均间隔天数", "Days between visits", total=False),
    _count("sold", "售出", "Sold"),
    _count("new_passes", "新办", "New passes"),
    _count("renewals", "续费", "Renewals"),
    _count("ended", "到期", "Ended"),
    _count("renewed", "已续", "Renewed"),
    _count("cross_members", "跨店会员", "Members at other venues"),
    _count("baskets_together", "同单次数", "Baskets together"),
    _money("revenue", "销售额", "Revenue"),
    _money("spend", "消费金额", "Spend"),
    _money("amount", "金额", "Amount"),
    _money("value", "结算金额", "Value"),
    _money("stored_value", "储值金额", "Stored value"),
    _money("avg_ticket", "客单价", "Average ticket", total=False),
    _money("per_head", "人均消费", "Per head", total=False),
    _money("spend_per_visit", "每次消费", "Spend per visit", total=False),
    ReportColumn("points", "积分", "Points", "points", True),
    ReportColumn("points_earned", "发放积分", "Points earned", "points", True),
    ReportColumn("points_redeemed", "使用积分", "Points redeemed", "points", True),
    ReportColumn("visits_per_member", "人均到店次数", "Visits per member", "ratio"),
    ReportColumn("entries_per_day", "日均入园", "Entries a day", "ratio"),
    ReportColumn("lift", "提升度", "Lift", "ratio"),
    ReportColumn("revisit_rate", "重游率", "Revisit rate", "percent"),
    ReportColumn("secondary_rate", "二次消费率", "Secondary spending rate", "percent"),
    ReportColumn("renewal_rate", "续费率", "Renewal rate", "percent"),
    ReportColumn("support_pct", "支持度", "Support", "percent"),
    ReportColumn("confidence_pct", "置信度", "Confidence", "percent"),
)


def columns_of(report: type[Report], keys: list[str]) -> list[ReportColumn]:
    """What each of ``keys`` holds in ``report``: its own heading, else the kernel's, else the
    key itself as text."""
    own = {column.key: column for column in report.headings}
    return [own.get(key) or COMMON.get(key) or ReportColumn(key, key, key) for key in keys]
