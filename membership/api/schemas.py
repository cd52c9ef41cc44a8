"""Bodies several areas of the API share, and their checks. Amounts and points are integers
(minor units)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.params import QueryParameter

from membership.errors import Reason as ErrorReason
from membership.errors import ValidationError
from membership.ledger.service import MAX_AMOUNT, Balances, NextExpiry

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema
    from litestar.typing import FieldDefinition

# query parameters of paged lists (a bare msgspec.Meta bound is not checked on a query parameter)
Page = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="Page number, from 1")]
PageSize = Annotated[int, QueryParameter(ge=1, le=200, description="Items per page")]
Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="Minor units (fen)")]
PositiveAmount = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT, description="Minor units (fen)")]
Points = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT, description="Whole points")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class BalancesOut(msgspec.Struct):
    """A member's balances: spendable points, points debt (≤ 0), stored value principal (minor
    units), growth (成长值); points pending their return window (待生效), and stored-value bonus
    (赠送金额: spent after the principal, never refunded as cash)."""

    points: int
    points_debt: int
    stored_value: int
    growth: int
    points_pending: int
    stored_value_bonus: int

    @classmethod
    def of(cls, balances: Balances) -> BalancesOut:
        """From the ledger's value."""
        return cls(
            balances.points,
            balances.points_debt,
            balances.stored_value,
            balances.growth,
            balances.points_pending,
            balances.stored_value_bonus,
        )


class NextExpiryOut(msgspec.Struct):
    """The member's next-expiring points (最近到期积分): ``points`` that expire on the local day
    of the next expiry, ``at`` the moment the first of them expires, ``last_day`` the last date
    (program's time zone) they can be spent."""

    points: int
    at: dt.datetime
    last_day: dt.date

    @classmethod
    def of(cls, found: NextExpiry | None) -> NextExpiryOut | None:
        """From the ledger's value (None when no points will expire)."""
        return None if found is None else cls(found.points, found.at, found.last_day)


NEXT_EXPIRY_EXAMPLE = {"points": 320, "at": "2027-03-01T16:00:00Z", "last_day": "2027-03-01"}


class AwardOut(msgspec.Struct):
    """Points one rule granted, and why."""

    rule: str
    points: int
    reason: str


BALANCES_EXAMPLE = {
    "points": 1280,
    "points_debt": 0,
    "stored_value": 5000,
    "growth": 1280,
    "points_pending": 120,
    "stored_value_bonus": 1000,
}


def check_body_code(given: str | None, code: str, thing: ErrorReason) -> None:
    """A PUT's body may repeat the ``code`` of its path (a rule's, a template's: ``thing``), but
    naming another one is refused (422) rather than ignored."""
    if given not in (None, code):
        raise ValidationError(
            field="code",
            reason=ErrorReason(
                f"{given!r} is not the {thing.en} {code!r} of the path",
                f"{given!r} 与路径中的{thing.zh} {code!r} 不一致",
            ),
        )


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """The OpenAPI schema of a msgspec Struct, saying ``additionalProperties: false`` when the
    Struct refuses unknown fields (``forbid_unknown_fields=True``), as request bodies do: a
    client (or a generator like schemathesis) then knows an extra field is an error, not ignored."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """Litestar's schema for the Struct, closed when the Struct is."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if getattr(field_definition.type_, "__struct_config__", None) is not None:
            if field_definition.type_.__struct_config__.forbid_unknown_fields:
                schema.additional_properties = False
        return schema
