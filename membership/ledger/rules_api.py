"""REST routes for a program's points rules (积分规则): list, add, change, retire, and the kinds
with the params each takes. ``POST /transactions/simulate`` explains what they earn."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import FromPath, FromQuery

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import check_body_code
from membership.api.security import current_key, program_for
from membership.errors import Reason
from membership.ledger import conditions, points_rules
from membership.ledger.policy import PointsPolicy, parse_points_policy, points_policy
from membership.ledger.rule_kinds import PARAMS
from membership.ledger.rulebook import RULE_CODE, Priority
from membership.org.service import update_settings

TAGS = ["points rules"]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=RULE_CODE)]


class RuleIn(msgspec.Struct, forbid_unknown_fields=True):
    """A rule: ``kind`` (see ``GET /points-rule-kinds``) and its ``params``; ``priority`` (higher
    first), ``stacking`` (``stack``, ``best_of``, ``exclusive``), inclusive local validity dates,
    ``min_spend`` in minor units (the minimum order amount); ``conditions`` (see
    ``GET /points-rule-conditions``: which lines it counts, a minimum quantity, a code typed at the
    till…) and ``stop`` (once it applies, lower-priority rules do not run)."""

    kind: str
    name: str
    params: dict[str, Any]
    code: Code | None = None
    priority: Priority = 0
    stacking: str = "stack"
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    min_spend: int = 0
    conditions: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=20)] = []
    stop: bool = False


class RuleOut(msgspec.Struct):
    """A rule as stored, with whether it earns now."""

    code: str
    kind: str
    name: str
    priority: int
    stacking: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    min_spend: int
    params: dict[str, Any]
    active: bool
    updated_at: dt.datetime
    conditions: list[dict[str, Any]] = []
    stop: bool = False


class ConditionKindOut(msgspec.Struct):
    """A kind of rule condition: ``line`` (which lines a rule counts) or ``order`` (whether the
    purchase qualifies), its names, and the JSON schema of its fields besides ``kind``."""

    kind: str
    scope: str
    label_zh: str
    label_en: str
    description: str
    params_schema: dict[str, Any]


class RuleKindOut(msgspec.Struct):
    """A kind of rule: what it does and the JSON schema of its params."""

    kind: str
    description: str
    params_schema: dict[str, Any]


RULE_EXAMPLE = {
    "code": "member-day",
    "kind": "member_day",
    "name": "周三会员日双倍积分",
    "params": {"weekdays": [3], "multiplier_pct": 200},
    "priority": 10,
    "stacking": "best_of",
    "starts_on": "2026-12-01",
    "ends_on": None,
    "min_spend": 0,
    "conditions": [{"kind": "category", "none_of": ["烟酒"]}],
    "stop": False,
}
RULE_OUT_EXAMPLE = {**RULE_EXAMPLE, "active": True, "updated_at": "2026-11-30T04:30:00Z"}


def _data(rule: RuleIn) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(rule).items() if v is not None or k in ("starts_on", "ends_on")}


@get(
    "/programs/{program_id:uuid}/points-rules",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's points rules",
    responses=answers(200, list[RuleOut], [RULE_OUT_EXAMPLE], 403, 404),
)
async def list_rules(
    request: Request, program_id: FromPath[uuid.UUID], include_retired: FromQuery[bool] = False
) -> list[RuleOut]:
    """Active rules by priority (higher first), then code; retired ones too when asked."""
    program = await program_for(current_key(request), program_id)
    rows = await points_rules.list_rules(program.id, include_retired)
    return [msgspec.convert(row, RuleOut) for row in rows]


@get(
    "/programs/{program_id:uuid}/points-rules/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One points rule",
    responses=answers(200, RuleOut, RULE_OUT_EXAMPLE, 403, 404),
)
async def get_rule(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> RuleOut:
    """The rule, active or retired."""
    program = await program_for(current_key(request), program_id)
    return msgspec.convert(await points_rules.get_rule(program.id, code), RuleOut)


@post(
    "/programs/{program_id:uuid}/points-rules",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a points rule",
    responses=answers(201, RuleOut, RULE_OUT_EXAMPLE, 403, 404, 422),
)
async def add_rule(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[RuleIn, body(RULE_EXAMPLE)],
) -> RuleOut:
    """Add a rule; it earns from the next purchase (``code`` must be new in the program)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    rule = await points_rules.create_rule(program.id, _data(data), key.actor)
    return msgspec.convert(await points_rules.get_rule(program.id, rule.code), RuleOut)


@put(
    "/programs/{program_id:uuid}/points-rules/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a points rule",
    responses=answers(200, RuleOut, RULE_OUT_EXAMPLE, 403, 404, 422),
)
async def change_rule(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[RuleIn, body(RULE_EXAMPLE)],
) -> RuleOut:
    """Replace the rule's definition (``code`` in the body, when given, must be the path's); a
    retired rule earns again."""
    check_body_code(data.code, code, Reason("rule", "积分规则"))
    key = current_key(request)
    program = await program_for(key, program_id)
    await points_rules.change_rule(program.id, code, _data(data), key.actor)
    return msgspec.convert(await points_rules.get_rule(program.id, code), RuleOut)


@delete(
    "/programs/{program_id:uuid}/points-rules/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Retire a points rule",
    status_code=204,
    responses=answers(204, None, None, 403, 404),
)
async def retire_rule(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> None:
    """Stop the rule from earning; it stays listed with ``include_retired`` (the ledger names it)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await points_rules.retire_rule(program.id, code, key.actor)


@get(
    "/points-rule-kinds",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The kinds of points rules and their params",
    responses=answers(
        200,
        list[RuleKindOut],
        [{"kind": "base_rate", "description": "points per per_amount minor units", "params_schema": {}}],
        403,
    ),
)
async def rule_kinds() -> list[RuleKindOut]:
    """Every kind with the JSON schema of its ``params`` (for forms and integrations)."""
    kinds = []
    for kind, params in PARAMS.items():
        schema = msgspec.json.schema(params)
        definition = schema.get("$defs", {}).get(params.__name__, schema)
        description = (params.__doc__ or "").strip()
        kinds.append(RuleKindOut(kind, description, definition))
    return kinds


@get(
    "/points-rule-conditions",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The kinds of conditions a points rule may have",
    responses=answers(
        200,
        list[ConditionKindOut],
        [
            {
                "kind": "category",
                "scope": "line",
                "label_zh": "品类",
                "label_en": "category",
                "description": "Lines by category (品类).",
                "params_schema": {},
            }
        ],
        403,
    ),
)
async def condition_kinds() -> list[ConditionKindOut]:
    """Every registered condition kind (built-in and plugins') with the JSON schema of its fields."""
    kinds = []
    for name, kind in conditions.condition_kinds().items():
        schema = msgspec.json.schema(kind.Params)
        definition = schema.get("$defs", {}).get(kind.Params.__name__, schema)
        scope = "line" if issubclass(kind, conditions.LineCondition) else "order"
        description = (kind.__doc__ or "").strip()
        kinds.append(ConditionKindOut(name, scope, kind.label_zh, kind.label_en, description, definition))
    return kinds


POLICY_EXAMPLE = {
    "pending_days": 7,
    "expiry": "end_of_year",
    "expiry_days": None,
    "expiry_months": 12,
    "warn_days": 30,
}


@get(
    "/programs/{program_id:uuid}/points-policy",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's points policy (pending window, expiry, warnings)",
    responses=answers(200, PointsPolicy, POLICY_EXAMPLE, 403, 404),
)
async def get_points_policy(request: Request, program_id: FromPath[uuid.UUID]) -> PointsPolicy:
    """How long purchase points wait, when points expire, how early members hear of it."""
    program = await program_for(current_key(request), program_id)
    return points_policy(program.settings, program.points_expiry_days)


@put(
    "/programs/{program_id:uuid}/points-policy",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Set a program's points policy",
    responses=answers(200, PointsPolicy, POLICY_EXAMPLE, 403, 404, 422),
)
async def set_points_policy(
    request: Request, program_id: FromPath[uuid.UUID], data: Annotated[PointsPolicy, body(POLICY_EXAMPLE)]
) -> PointsPolicy:
    """Applies to points earned from now on (lots keep the expiry they were given)."""
    key = current_key(request)
    program = await program_for(key, program_id)
    policy = parse_points_policy(msgspec.to_builtins(data))
    await update_settings(program.id, {"points_policy": msgspec.to_builtins(policy)}, key.actor)
    return policy


ROUTES = [
    list_rules,
    get_rule,
    add_rule,
    change_rule,
    retire_rule,
    rule_kinds,
    condition_kinds,
    get_points_policy,
    set_points_policy,
]
