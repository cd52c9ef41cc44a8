"""A meal as the pack sees a sale: its meal period (早餐、午餐、下午茶、晚餐、夜宵), its service
mode (堂食、外带、外卖), the party size and the spend per head (人均).

The till may say all of it in the sale's ``attributes`` (``meal_period``, ``service_mode``,
``party_size``); what it does not say comes from the program's settings: the meal period from
the sale's local time, the service mode from the default. Per-head spend is what was paid
divided by the party size, rounded down to the fen; without a party size it is unknown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from membership.plugin import ProgramConfig
from membership_catering.settings import CateringSettings

MEAL_PERIODS = ("breakfast", "lunch", "afternoon_tea", "dinner", "late_night")
SERVICE_MODES = ("dine_in", "takeaway", "delivery")
MEAL_PERIOD_NAMES = {
    "breakfast": ("早餐", "Breakfast"),
    "lunch": ("午餐", "Lunch"),
    "afternoon_tea": ("下午茶", "Afternoon tea"),
    "dinner": ("晚餐", "Dinner"),
    "late_night": ("夜宵", "Late night"),
}
SERVICE_MODE_NAMES = {
    "dine_in": ("堂食", "Dine-in"),
    "takeaway": ("外带", "Takeaway"),
    "delivery": ("外卖", "Delivery"),
}
_MEAL_ALIASES = {"afternoon": "afternoon_tea", "tea": "afternoon_tea", "supper": "late_night", "night": "late_night"}
_MODE_ALIASES = {"dinein": "dine_in", "eat_in": "dine_in", "takeout": "takeaway", "take_away": "takeaway"}
MAX_PARTY = 999


@dataclasses.dataclass(frozen=True)
class Dining:
    """What the pack knows about one meal: ``per_head`` is None when the party size is unknown."""

    meal_period: str
    service_mode: str
    party_size: int | None
    total: int
    per_head: int | None


def name_of(code: str, language: str) -> str:
    """The staff's word for a meal period or a service mode in ``language`` (``zh_CN``/``en``)."""
    names = MEAL_PERIOD_NAMES.get(code) or SERVICE_MODE_NAMES.get(code)
    if names is None:
        return code
    return names[1] if language == "en" else names[0]


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def meal_period_at(settings: CateringSettings, local: dt.time) -> str:
    """The meal period a local time of day falls in; before breakfast starts it is still the
    night before's 夜宵."""
    now = local.hour * 60 + local.minute
    starts = [
        (_minutes(settings.breakfast_from), "breakfast"),
        (_minutes(settings.lunch_from), "lunch"),
        (_minutes(settings.afternoon_tea_from), "afternoon_tea"),
        (_minutes(settings.dinner_from), "dinner"),
        (_minutes(settings.late_night_from), "late_night"),
    ]
    period = "late_night"
    for start, name in starts:
        if now >= start:
            period = name
    return period


def party_size_of(attributes: Mapping[str, str]) -> int | None:
    """The ``party_size`` attribute as a whole number of diners (1–999), or None."""
    text = str(attributes.get("party_size", "")).strip()
    if not text.isdigit():
        return None
    size = int(text)
    return size if 1 <= size <= MAX_PARTY else None


def dining_of(
    program: ProgramConfig,
    settings: CateringSettings,
    attributes: Mapping[str, str],
    occurred_at: dt.datetime,
    total: int,
) -> Dining:
    """The meal a sale was: the till's attributes where it gave them, else the settings."""
    said = str(attributes.get("meal_period", "")).strip().lower()
    meal = _MEAL_ALIASES.get(said, said)
    if meal not in MEAL_PERIODS:
        meal = meal_period_at(settings, occurred_at.astimezone(program.zone).time())
    said = str(attributes.get("service_mode", "")).strip().lower()
    mode = _MODE_ALIASES.get(said, said)
    if mode not in SERVICE_MODES:
        mode = settings.default_service_mode
    party = party_size_of(attributes)
    per_head = max(total, 0) // party if party else None
    return Dining(meal, mode, party, total, per_head)
