"""REST routes for the program's money side: top-up plans (储值方案) and the settlement report
between stores (财务清算, JSON or CSV)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Request, Response, get, put
from litestar.params import FromPath, FromQuery

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.security import current_key, program_for
from membership.errors import Reason, ValidationError
from membership.ledger import settlement
from membership.ledger.top_up_plans import TopUpPlan, parse_top_up_plans, top_up_plans
from membership.org.service import update_settings

TAGS = ["stored value"]
PLANS_EXAMPLE = [
    {"code": "100-20", "name": "充100送20", "pay": 10000, "bonus": 2000, "starts_on": None, "ends_on": None}
]


@get(
    "/programs/{program_id:uuid}/top-up-plans",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's top-up plans",
    responses=answers(200, list[TopUpPlan], PLANS_EXAMPLE, 403, 404),
)
async def get_top_up_plans(request: Request, program_id: FromPath[uuid.UUID]) -> list[TopUpPlan]:
    """Each plan: what is paid and the bonus it adds, on which days."""
    program = await program_for(current_key(request), program_id)
    return top_up_plans(program.settings)


@put(
    "/programs/{program_id:uuid}/top-up-plans",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Set a program's top-up plans",
    responses=answers(200, list[TopUpPlan], PLANS_EXAMPLE, 403, 404, 422),
)
async def set_top_up_plans(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[list[TopUpPlan], body(PLANS_EXAMPLE)]
) -> list[TopUpPlan]:
    """Replace the plans (top-ups already made keep their bonus)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    plans = parse_top_up_plans([msgspec.to_builtins(plan) for plan in data])
    await update_settings(program.id, {"top_up_plans": msgspec.to_builtins(plans)}, key.actor)
    return plans


class SettlementLineOut(msgspec.Struct):
    """``issuer`` store owes ``redeemer`` store ``value`` (minor units) for ``units`` of ``kind``."""

    issuer_store_id: uuid.UUID
    issuer_code: str
    redeemer_store_id: uuid.UUID
    redeemer_code: str
    kind: str
    units: int
    value: int


class SettlementOut(msgspec.Struct):
    """The period's lines and their total value."""

    start: dt.date
    end: dt.date
    lines: list[SettlementLineOut]
    total_value: int


SETTLEMENT_EXAMPLE = {
    "start": "2026-11-01",
    "end": "2026-11-30",
    "lines": [
        {
            "issuer_store_id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
            "issuer_code": "SH01",
            "redeemer_store_id": "8b2c3d4e-0000-4a8e-9d7e-1f2a3b4c5d6e",
            "redeemer_code": "HZ01",
            "kind": "points",
            "units": 1200,
            "value": 1200,
        }
    ],
    "total_value": 1200,
}


def _period(start: dt.date, end: dt.date) -> None:
    if end < start or (end - start).days > 366:
        raise ValidationError(
            field="end",
            reason=Reason("on or after start, at most 366 days later", "不能早于 start，且最多比 start 晚 366 天"),
        )


@get(
    "/programs/{program_id:uuid}/settlement",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Settlement between stores (财务清算)",
    responses=answers(200, SettlementOut, SETTLEMENT_EXAMPLE, 403, 404, 422),
)
async def settlement_report(
    request: Request, program_id: FromPath[uuid.UUID], start: FromQuery[dt.date], end: FromQuery[dt.date]
) -> SettlementOut:
    """What each store owes each other store for points and stored value spent there, for local
    dates ``start``..``end`` (inclusive; at most a year)."""
    program = await program_for(current_key(request), program_id)
    _period(start, end)
    lines = await settlement.report(program, start, end)
    out = [SettlementLineOut(**{f: getattr(line, f) for f in SettlementLineOut.__struct_fields__}) for line in lines]
    return SettlementOut(start, end, out, sum(line.value for line in lines))


@get(
    "/programs/{program_id:uuid}/settlement.csv",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Settlement between stores as CSV",
    responses=answers(
        200,
        str,
        "issuer_store,redeemer_store,kind,units,value_minor\nSH01,HZ01,points,1200,1200\n",
        403,
        404,
        422,
        media_type="text/csv",
    ),
)
async def settlement_csv(
    request: Request, program_id: FromPath[uuid.UUID], start: FromQuery[dt.date], end: FromQuery[dt.date]
) -> Response[str]:
    """The same lines for a spreadsheet (UTF-8, amounts in minor units)."""
    program = await program_for(current_key(request), program_id)
    _period(start, end)
    text = settlement.as_csv(await settlement.report(program, start, end))
    headers = {"Content-Disposition": f'attachment; filename="settlement-{start}-{end}.csv"'}
    return Response(text, media_type="text/csv", headers=headers)


ROUTES = [get_top_up_plans, set_top_up_plans, settlement_report, settlement_csv]
