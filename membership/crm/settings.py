"""A program's CRM settings (``settings["crm"]``): the RFM window and the days that draw the
lifecycle stages. Read with :func:`crm_settings`, changed (checked, audited) with
:func:`change_crm_settings`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from membership.errors import Reason, ValidationError
from membership.org import service as org

Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]


class CrmSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``rfm_window_days``: the purchases RFM scores look at (default a year). Lifecycle stages:
    **new** — enrolled within ``new_days``; else **active** — bought within ``dormant_after_days``;
    else **dormant** — bought (or, never having bought, enrolled) within ``churned_after_days``;
    else **churned**."""

    rfm_window_days: Days = 365
    new_days: Days = 30
    dormant_after_days: Days = 90
    churned_after_days: Days = 180

    def __post_init__(self) -> None:
        if self.churned_after_days <= self.dormant_after_days:
            raise ValueError("churned_after_days must be more than dormant_after_days")

    @property
    def horizon_days(self) -> int:
        """How far back the refresh reads purchases: the RFM window or the churn line."""
        return max(self.rfm_window_days, self.churned_after_days)


def crm_settings(program: org.ProgramConfig) -> CrmSettings:
    """The program's CRM settings (defaults where nothing was set)."""
    return msgspec.convert(program.settings.get("crm") or {}, CrmSettings)


def parse_crm_settings(values: dict[str, Any]) -> CrmSettings:
    """``values`` checked; ``ValidationError`` names the field at fault, in both languages."""
    try:
        return msgspec.convert(values, CrmSettings)
    except msgspec.ValidationError as exc:
        text, _, path = str(exc).partition(" - at `$")
        field = path.rstrip("`").lstrip(".") or "crm"
        if "churned_after_days must be" in text:
            field = "churned_after_days"
            text = Reason("must be more than dormant_after_days", "须大于“沉睡天数”（dormant_after_days）")
        raise ValidationError(field=field, reason=text) from None


async def change_crm_settings(program_id: uuid.UUID, changes: dict[str, Any], actor: str) -> CrmSettings:
    """Apply ``changes`` to the program's CRM settings (checked together; audited)."""
    program = await org.get_program(program_id)
    merged = {**msgspec.to_builtins(crm_settings(program)), **changes}
    parsed = parse_crm_settings(merged)
    await org.update_settings(program_id, {"crm": msgspec.to_builtins(parsed)}, actor)
    return parsed
