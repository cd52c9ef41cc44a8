"""REST routes of the CRM (会员营销): segments with their live count, uploads to static segments,
the rule fields, members' RFM scores and lifecycle stages, the CRM settings, member tags and tag
rules."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.params import FromPath

from membership.access.service import Scope
from membership.api.docs import answers, body
from membership.api.schemas import Page, PageSize
from membership.api.security import current_key, member_for, program_for
from membership.crm import rules, scores, segments, tags
from membership.crm.errors import MemberNotScored
from membership.crm.settings import CrmSettings, change_crm_settings, crm_settings

TAGS = ["crm"]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Definition = Annotated[
    dict[str, Any],
    msgspec.Meta(description="The rule tree: {match: all|any|none, conditions: [...]} (GET …/segment-fields)"),
]
Line = Annotated[str, msgspec.Meta(max_length=64)]

DEFINITION_EXAMPLE = {
    "match": "all",
    "conditions": [
        {"field": "spend", "op": "gte", "value": 50000, "days": 90},
        {"field": "stage", "op": "in", "value": ["active"]},
    ],
}
SEGMENT_EXAMPLE = {
    "code": "big-spenders",
    "name": "近三月高消费",
    "kind": "rules",
    "definition": DEFINITION_EXAMPLE,
    "description_zh": "消费金额（近 90 天） ≥ ¥500.00 且 生命周期 是 活跃",
    "description_en": "Spend (last 90 days) ≥ ¥500.00 and Lifecycle stage is active",
    "created_at": "2026-12-08T09:00:00Z",
    "updated_at": "2026-12-08T09:00:00Z",
}


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new segment (人群): ``kind`` ``rules`` (members its ``definition`` selects whenever it is
    used) or ``static`` (the members uploads list; no definition)."""

    code: Code
    name: Name
    kind: Literal["rules", "static"] = "rules"
    definition: Definition = {}


class SegmentChange(msgspec.Struct, forbid_unknown_fields=True):
    """A segment's new name and, for a rule segment, its new rules."""

    name: Name
    definition: Definition = {}


class SegmentOut(msgspec.Struct):
    """A segment with its rules read out in Chinese and English."""

    code: str
    name: str
    kind: str
    definition: dict[str, Any]
    description_zh: str
    description_en: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, view: segments.SegmentView) -> SegmentOut:
        """From the service's view."""
        return cls(**{name: getattr(view, name) for name in cls.__struct_fields__})


class SegmentPageOut(msgspec.Struct):
    """One page of segments, by code."""

    items: list[SegmentOut]
    page: int
    page_size: int
    total: int


class CountIn(msgspec.Struct, forbid_unknown_fields=True):
    """Rules being edited: how many members would they select now?"""

    definition: Definition


class CountOut(msgspec.Struct):
    """How many active members the rules select now, and the rules read out."""

    count: int
    description_zh: str
    description_en: str


class SegmentMemberOut(msgspec.Struct):
    """A member of a segment with their tier, lifecycle stage and RFM scores (None before the
    first refresh covered them)."""

    member_id: uuid.UUID
    member_no: str
    name: str
    tier: str | None
    stage: str | None
    r: int | None
    f: int | None
    m: int | None


class SegmentMemberPageOut(msgspec.Struct):
    """One page of a segment's members (newest first) and how many it holds now."""

    items: list[SegmentMemberOut]
    page: int
    page_size: int
    total: int


class UploadIn(msgspec.Struct, forbid_unknown_fields=True):
    """Members for a static segment: one member number or phone number a line (a header line is
    skipped). ``replace``: in place of its members; else beside them."""

    lines: Annotated[list[Line], msgspec.Meta(min_length=1, max_length=segments.UPLOAD_LIMIT)]
    replace: bool = False


class UnknownLine(msgspec.Struct):
    """A line that named no active member, and why."""

    line: int
    text: str
    reason_zh: str
    reason_en: str


class UploadOut(msgspec.Struct):
    """What the upload did: the members the segment holds now, those it added, lines that named
    nobody."""

    members: int
    added: int
    unknown: list[UnknownLine]


class FieldOut(msgspec.Struct):
    """A field a condition may name: its operators, the kind of value and whether it takes
    ``days`` (counted over the last N days); ``unit`` says what numbers count (fen, times…)."""

    field: str
    label_zh: str
    label_en: str
    ops: list[str]
    value: str
    window: bool
    unit: str


class ScoreOut(msgspec.Struct):
    """A member's RFM and lifecycle stage as of the last refresh (``computed_at``): last purchase,
    purchases and net spend in the RFM window, scores 1-5 (None: no purchase in the window)."""

    member_id: uuid.UUID
    stage: str
    stage_since: dt.datetime
    last_purchase_at: dt.datetime | None
    frequency: int
    monetary: int
    r: int | None
    f: int | None
    m: int | None
    computed_at: dt.datetime | None


class LifecycleOut(msgspec.Struct):
    """Members per lifecycle stage as of the last refresh (``computed_at``; None before it), and
    how many bought in the RFM window."""

    new: int
    active: int
    dormant: int
    churned: int
    buyers: int
    computed_at: dt.datetime | None


class CrmSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """CRM settings to change; the others keep their values."""

    rfm_window_days: int | msgspec.UnsetType = msgspec.UNSET
    new_days: int | msgspec.UnsetType = msgspec.UNSET
    dormant_after_days: int | msgspec.UnsetType = msgspec.UNSET
    churned_after_days: int | msgspec.UnsetType = msgspec.UNSET


class TagsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Tags to give the member and tags to take (its other tags stay)."""

    add: Annotated[list[Tag], msgspec.Meta(max_length=50)] = []
    remove: Annotated[list[Tag], msgspec.Meta(max_length=50)] = []


class TagsOut(msgspec.Struct):
    """The member's tags after the change."""

    tags: list[str]


class TagCountOut(msgspec.Struct):
    """A tag active members carry, and how many carry it."""

    tag: str
    members: int


class TagRuleIn(msgspec.Struct, forbid_unknown_fields=True):
    """Members of ``segment`` carry ``tag`` (given and taken at each refresh)."""

    tag: Tag
    segment: Code


class TagRuleOut(msgspec.Struct):
    """A tag rule."""

    tag: str
    segment: str
    created_at: dt.datetime


class TagRulePageOut(msgspec.Struct):
    """One page of tag rules, by tag."""

    items: list[TagRuleOut]
    page: int
    page_size: int
    total: int


async def _program(request: Request, program_id: uuid.UUID):
    return await program_for(current_key(request), program_id)


@get(
    "/programs/{program_id:uuid}/segments",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program's segments (人群)",
    responses=answers(
        200, SegmentPageOut, {"items": [SEGMENT_EXAMPLE], "page": 1, "page_size": 50, "total": 1}, 403, 404
    ),
)
async def list_segments(
    request: Request, program_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> SegmentPageOut:
    """Segments by code, with their rules read out (counts: ``…/count``)."""
    program = await _program(request, program_id)
    views, total = await segments.list_segments(program.id, page, page_size)
    return SegmentPageOut([SegmentOut.of(v) for v in views], page, page_size, total)


@post(
    "/programs/{program_id:uuid}/segments",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a segment",
    responses=answers(201, SegmentOut, SEGMENT_EXAMPLE, 403, 404, 409, 422, description="Created"),
)
async def add_segment(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[
        SegmentIn, body({"code": "big-spenders", "name": "近三月高消费", "definition": DEFINITION_EXAMPLE})
    ],
) -> SegmentOut:
    """A rule segment's rules are checked (fields, values, tiers, stores and segments of the
    program, no segment naming itself); audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    view = await segments.create_segment(program.id, data.code, data.name, data.kind, data.definition, key.actor)
    return SegmentOut.of(view)


@get(
    "/programs/{program_id:uuid}/segments/{code:str}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="One segment",
    responses=answers(200, SegmentOut, SEGMENT_EXAMPLE, 403, 404),
)
async def get_segment(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> SegmentOut:
    """The segment and its rules."""
    program = await _program(request, program_id)
    return SegmentOut.of(await segments.get_segment(program.id, code))


@put(
    "/programs/{program_id:uuid}/segments/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a segment",
    responses=answers(200, SegmentOut, SEGMENT_EXAMPLE, 403, 404, 422),
)
async def change_segment(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[SegmentChange, body({"name": "近三月高消费", "definition": DEFINITION_EXAMPLE})],
) -> SegmentOut:
    """Rename the segment and, for a rule segment, replace its rules (checked); audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    return SegmentOut.of(await segments.change_segment(program.id, code, data.name, data.definition, key.actor))


@delete(
    "/programs/{program_id:uuid}/segments/{code:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    status_code=204,
    summary="Remove a segment",
    responses=answers(204, None, None, 403, 404, 409, description="Removed"),
)
async def remove_segment(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> None:
    """Refused (409 ``segment_in_use``) while a tag rule or another segment names it; audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await segments.delete_segment(program.id, code, key.actor)


@post(
    "/programs/{program_id:uuid}/segment-counts",
    opt={"scope": Scope.READ},
    tags=TAGS,
    status_code=200,
    summary="How many members would these rules select? (live count)",
    responses=answers(
        200,
        CountOut,
        {"count": 1204, "description_zh": SEGMENT_EXAMPLE["description_zh"], "description_en": "…"},
        403,
        404,
        422,
    ),
)
async def count_rules(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[CountIn, body({"definition": DEFINITION_EXAMPLE})],
) -> CountOut:
    """The active members the rules select now (what the console shows while staff edit a
    segment); nothing is saved. Bad rules are 422 naming the place."""
    program = await _program(request, program_id)
    group = rules.parse_definition(data.definition)
    await segments.check_definition(program, group)
    count = await segments.count_definition(program, group)
    return CountOut(count, rules.describe(group, "zh"), rules.describe(group, "en"))


@get(
    "/programs/{program_id:uuid}/segments/{code:str}/count",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="How many members a segment holds now",
    responses=answers(200, CountOut, {"count": 1204, "description_zh": "…", "description_en": "…"}, 403, 404),
)
async def count_segment(request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str]) -> CountOut:
    """The segment's active members now."""
    program = await _program(request, program_id)
    view = await segments.get_segment(program.id, code)
    return CountOut(await segments.count_segment(program, code), view.description_zh, view.description_en)


@get(
    "/programs/{program_id:uuid}/segments/{code:str}/members",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A segment's members",
    responses=answers(
        200,
        SegmentMemberPageOut,
        {
            "items": [
                {
                    "member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
                    "member_no": "620000123457",
                    "name": "王芳",
                    "tier": "gold",
                    "stage": "active",
                    "r": 5,
                    "f": 4,
                    "m": 5,
                }
            ],
            "page": 1,
            "page_size": 50,
            "total": 1,
        },
        403,
        404,
    ),
)
async def list_segment_members(
    request: Request, program_id: FromPath[uuid.UUID], code: FromPath[str], page: Page = 1, page_size: PageSize = 50
) -> SegmentMemberPageOut:
    """One page of the members the segment holds now, newest first."""
    program = await _program(request, program_id)
    rows, total = await segments.segment_members(program, code, page, page_size)
    items = [
        SegmentMemberOut(
            row["id"], row["member_no"], row["name"], row["tier"], row["stage"], row["r"], row["f"], row["m"]
        )
        for row in rows
    ]
    return SegmentMemberPageOut(items, page, page_size, total)


@post(
    "/programs/{program_id:uuid}/segments/{code:str}/members",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    status_code=200,
    summary="Upload the members of a static segment",
    responses=answers(
        200,
        UploadOut,
        {
            "members": 2,
            "added": 2,
            "unknown": [{"line": 3, "text": "abc", "reason_zh": "不是会员号也不是手机号", "reason_en": "…"}],
        },
        403,
        404,
        409,
        422,
    ),
)
async def upload_segment_members(
    request: Request,
    program_id: FromPath[uuid.UUID],
    code: FromPath[str],
    data: Annotated[UploadIn, body({"lines": ["620000123457", "13812345678"], "replace": True})],
) -> UploadOut:
    """Member numbers and phone numbers (matched by their keyed hash), one a line; lines naming
    no active member are reported and the rest kept. A rule segment refuses it (409). Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    done = await segments.upload_members(program.id, code, data.lines, data.replace, key.actor)
    unknown = [UnknownLine(n, text, reason.zh, reason.en) for n, text, reason in done.unknown]
    return UploadOut(done.members, done.added, unknown)


@get(
    "/segment-fields",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The fields segment rules may name",
    responses=answers(
        200,
        list[FieldOut],
        [
            {
                "field": "spend",
                "label_zh": "消费金额",
                "label_en": "Spend",
                "ops": ["gte", "lte", "between"],
                "value": "range",
                "window": True,
                "unit": "fen",
            }
        ],
        403,
    ),
)
async def segment_fields() -> list[FieldOut]:
    """Every field with its operators and the kind of its value (``range``: a number for ``gte``
    / ``lte``, ``[from, to]`` for ``between``; ``strings``, ``tiers``, ``stores``, ``stages``,
    ``segments``: lists; ``months``: 1-12; ``scores``: 1-5; ``days``: a number of days;
    ``purpose``: a consent purpose)."""
    return [
        FieldOut(spec.name, spec.label_zh, spec.label_en, list(spec.ops), spec.value, spec.window, spec.unit)
        for spec in rules.FIELDS.values()
    ]


@get(
    "/members/{member_id:uuid}/score",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A member's RFM scores and lifecycle stage",
    responses=answers(
        200,
        ScoreOut,
        {
            "member_id": "0b7c6a52-3c1e-4a8e-9d7e-1f2a3b4c5d6e",
            "stage": "active",
            "stage_since": "2026-11-02T18:40:00Z",
            "last_purchase_at": "2026-12-01T11:20:00Z",
            "frequency": 14,
            "monetary": 356000,
            "r": 5,
            "f": 4,
            "m": 5,
            "computed_at": "2026-12-08T18:40:00Z",
        },
        403,
        404,
    ),
)
async def get_score(request: Request, member_id: FromPath[uuid.UUID]) -> ScoreOut:
    """As of the last ``refresh-member-scores``; 404 ``member_not_scored`` before it reached the
    member."""
    await member_for(current_key(request), member_id)
    row = await scores.member_score(member_id)
    if row is None:
        raise MemberNotScored(member_id=member_id)
    return ScoreOut(member_id=member_id, **row)


@get(
    "/programs/{program_id:uuid}/lifecycle",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Members per lifecycle stage",
    responses=answers(
        200,
        LifecycleOut,
        {"new": 120, "active": 3400, "dormant": 980, "churned": 2100, "buyers": 4200, "computed_at": None},
        403,
        404,
    ),
)
async def lifecycle(request: Request, program_id: FromPath[uuid.UUID]) -> LifecycleOut:
    """As of the last refresh."""
    program = await _program(request, program_id)
    counts = await scores.stage_counts(program.id)
    last = await scores.last_refresh(program.id)
    return LifecycleOut(
        *(counts.get(stage, 0) for stage in rules.STAGES),
        buyers=int(last["buyers"]) if last else 0,
        computed_at=last["computed_at"] if last else None,
    )


@get(
    "/programs/{program_id:uuid}/crm-settings",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The CRM settings: RFM window, lifecycle days",
    responses=answers(
        200,
        CrmSettings,
        {"rfm_window_days": 365, "new_days": 30, "dormant_after_days": 90, "churned_after_days": 180},
        403,
        404,
    ),
)
async def get_crm_settings(request: Request, program_id: FromPath[uuid.UUID]) -> CrmSettings:
    """The settings the next refresh uses."""
    return crm_settings(await _program(request, program_id))


@patch(
    "/programs/{program_id:uuid}/crm-settings",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change the CRM settings",
    responses=answers(
        200,
        CrmSettings,
        {"rfm_window_days": 180, "new_days": 30, "dormant_after_days": 60, "churned_after_days": 120},
        403,
        404,
        422,
    ),
)
async def change_settings(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[CrmSettingsPatch, body({"rfm_window_days": 180, "dormant_after_days": 60})],
) -> CrmSettings:
    """Checked together (days from 1 to 3650; churned after more days than dormant); audited.
    The next refresh applies them."""
    key = current_key(request)
    program = await program_for(key, program_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return await change_crm_settings(program.id, changes, key.actor)


@post(
    "/members/{member_id:uuid}/tags",
    opt={"scope": Scope.POS},
    tags=TAGS,
    status_code=200,
    summary="Give and take a member's tags (会员标签)",
    responses=answers(200, TagsOut, {"tags": ["VIP", "咖啡"]}, 403, 404, 409, 422),
)
async def change_member_tags(
    request: Request,
    member_id: FromPath[uuid.UUID],
    data: Annotated[TagsIn, body({"add": ["咖啡"], "remove": ["新客"]})],
) -> TagsOut:
    """The member's other tags stay; audited as a profile change."""
    key = current_key(request)
    await member_for(key, member_id)
    return TagsOut(await tags.change_member_tags(member_id, data.add, data.remove, key.actor))


@get(
    "/programs/{program_id:uuid}/tags",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The tags members carry",
    responses=answers(200, list[TagCountOut], [{"tag": "咖啡", "members": 830}], 403, 404),
)
async def tags_in_use(request: Request, program_id: FromPath[uuid.UUID]) -> list[TagCountOut]:
    """The 200 tags most carried by active members, with how many carry each."""
    program = await _program(request, program_id)
    return [TagCountOut(tag, n) for tag, n in await tags.tags_in_use(program.id)]


@get(
    "/programs/{program_id:uuid}/tag-rules",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Tag rules (自动标签)",
    responses=answers(
        200,
        TagRulePageOut,
        {
            "items": [{"tag": "高价值", "segment": "big-spenders", "created_at": "2026-12-08T09:00:00Z"}],
            "page": 1,
            "page_size": 50,
            "total": 1,
        },
        403,
        404,
    ),
)
async def list_tag_rules(
    request: Request, program_id: FromPath[uuid.UUID], page: Page = 1, page_size: PageSize = 50
) -> TagRulePageOut:
    """Which segment gives which tag, by tag."""
    program = await _program(request, program_id)
    views, total = await tags.list_tag_rules(program.id, page, page_size)
    return TagRulePageOut([TagRuleOut(v.tag, v.segment, v.created_at) for v in views], page, page_size, total)


@post(
    "/programs/{program_id:uuid}/tag-rules",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Add a tag rule",
    responses=answers(
        201,
        TagRuleOut,
        {"tag": "高价值", "segment": "big-spenders", "created_at": "2026-12-08T09:00:00Z"},
        403,
        404,
        409,
        422,
        description="Created",
    ),
)
async def add_tag_rule(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[TagRuleIn, body({"tag": "高价值", "segment": "big-spenders"})],
) -> TagRuleOut:
    """Members of the segment carry the tag from the next refresh on (and lose it when they
    leave); one rule per tag. Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    view = await tags.add_tag_rule(program.id, data.tag, data.segment, key.actor)
    return TagRuleOut(view.tag, view.segment, view.created_at)


@delete(
    "/programs/{program_id:uuid}/tag-rules/{tag:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    status_code=204,
    summary="Remove a tag rule",
    responses=answers(204, None, None, 403, 404, description="Removed"),
)
async def remove_tag_rule(request: Request, program_id: FromPath[uuid.UUID], tag: FromPath[str]) -> None:
    """Members keep the tag until it is taken by hand. Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    await tags.remove_tag_rule(program.id, tag, key.actor)


ROUTES = [
    list_segments,
    add_segment,
    get_segment,
    change_segment,
    remove_segment,
    count_rules,
    count_segment,
    list_segment_members,
    upload_segment_members,
    segment_fields,
    get_score,
    lifecycle,
    get_crm_settings,
    change_settings,
    change_member_tags,
    tags_in_use,
    list_tag_rules,
    add_tag_rule,
    remove_tag_rule,
]
