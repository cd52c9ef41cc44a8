"""Console page for the points mall (积分商城): the rewards with their price in points, stock,
per-member limit, window and how often they were redeemed; a reward added or changed in a form
(points as whole numbers, amounts in yuan, discounts as 折, the kind's own fields beside the
rest, errors beside their field); a reward taken off the catalogue; and a reward redeemed for a
member named by number, phone or card (the coupon it gives is shown to hand over)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.struct_forms import (
    DISCOUNT,
    MONEY,
    Label,
    error_for,
    form_fields,
    is_zh,
    posted,
    read_form,
    typed_values,
)
from membership.console.workplace import staff_program
from membership.coupons.batch import named_members
from membership.db import fetch
from membership.errors import MembershipError
from membership.org.service import ProgramConfig, list_stores
from membership.rewards import redeeming, service
from membership.rewards.kinds import reward_kinds
from membership.rewards.service import PERIOD_WORDS, RewardDef
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
COUNTER = {"permission": Permission.USE_COUNTER}
PAGE = "/console/loyalty/rewards"
ROUTE = "/loyalty/rewards"  # under the console's router
PARAMS = "params-"
PERIODS = {period: (zh, en) for period, (en, zh) in PERIOD_WORDS.items()}  # as choices: (Chinese, English)


def _fields(creating: bool) -> list[str]:
    return [
        *(["code"] if creating else []),
        "name",
        "points",
        "stock",
        "member_limit",
        "limit_period",
        "available_from",
        "available_until",
        "store_ids",
        "coupon_days",
        "stackable",
        "description",
    ]


def _labels(stores: dict[str, str]) -> dict[str, Label]:
    """The reward's fields and the built-in kinds' params, in the staff's words (a pack's kind
    names its own fields with ``msgspec.Meta(title=…)``)."""
    return {
        "code": Label("兑换品编码", "Code", "字母、数字、- 或 _，如 drink-300。", "Letters, digits, - or _."),
        "name": Label("名称", "Name", "顾客看到的名称，如 300积分换饮品。", "What members read."),
        "points": Label(
            "所需积分", "Points", "兑换一次扣的积分。", "What one redemption costs.", suffix=("积分", "points")
        ),
        "stock": Label("库存", "Stock", "不限量请留空。", "Empty: unlimited.", suffix=("件", "units")),
        "member_limit": Label("每人限兑", "Per member", "不限请留空。", "Empty: no limit.", suffix=("次", "times")),
        "limit_period": Label("限兑周期", "Limit counted", choices=PERIODS),
        "available_from": Label("开始兑换日期", "Redeemable from", "留空表示即日起。", "Empty: from today."),
        "available_until": Label("截止兑换日期", "Redeemable until", "留空表示长期有效。", "Empty: no end."),
        "store_ids": Label(
            "可兑换门店",
            "Stores",
            "都不选表示全部门店可兑换。",
            "None ticked: every store.",
            choices={store_id: (name, name) for store_id, name in stores.items()},
        ),
        "coupon_days": Label(
            "券有效天数",
            "Coupon valid for",
            "单独兑换时发出的券从兑换当天起的有效天数。",
            "Days the coupon of a redemption on its own stays valid.",
            suffix=("天", "days"),
        ),
        "stackable": Label("可与其他优惠券同时使用", "Combines with other coupons"),
        "description": Label("兑换说明", "Description", "兑换规则、注意事项（纯文字）。", "Rules and notes (text)."),
        "sku": Label(
            "赠送商品编码", "Free item SKU", "收银系统里的商品编码，本单须有该商品。", "The SKU as the till knows it."
        ),
        "percent_off": Label(
            "折扣", "Discount", "8 = 八折，85 = 八五折；与减免金额二选一。", "Or an amount off.", unit=DISCOUNT
        ),
        "amount_off": Label("减免金额", "Amount off", "与折扣二选一。", "Or a discount.", unit=MONEY),
        "max_off": Label("最多减免", "At most off", "仅用于折扣；不封顶请留空。", "Empty: no cap.", unit=MONEY),
        "min_spend": Label("使用门槛（满多少可用）", "Minimum spend", "0 表示无门槛。", "0: any amount.", unit=MONEY),
    }


def kind_name(kind: str) -> str:
    """A reward kind's name in the page's language."""
    found = reward_kinds().get(kind)
    if found is None:
        return kind
    return found.label_zh if is_zh() else found.label_en


def limit_text(reward: dict[str, Any]) -> str:
    """``每月 2 次`` / ``2 per month``; empty when there is no limit."""
    if reward["member_limit"] is None:
        return ""
    zh, en = PERIODS[reward["limit_period"]]
    return f"{zh} {reward['member_limit']} 次" if is_zh() else f"{reward['member_limit']} {en}"


@dataclasses.dataclass
class Draft:
    """The reward form as shown: its kind, values (stored) or text (as posted), errors."""

    kind: str = "gift"
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    typed: dict[str, list[str]] | None = None
    typed_params: dict[str, list[str]] | None = None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    param_errors: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class RedeemForm:
    """A reward to redeem for the member a number, phone or card names."""

    reward: str = ""
    member: str = ""


async def _store_names(request: Request) -> dict[str, str]:
    return {str(s["id"]): s["name"] for s in await list_stores(current_staff(request).merchant_id)}


async def _redeemed_counts(program: ProgramConfig) -> dict[str, int]:
    rows = await fetch(
        "SELECT r.code, COUNT(rr.id) AS n FROM reward r JOIN reward_redemption rr ON rr.program_id = r.program_id"
        " AND rr.reward_id = r.id"
        " WHERE r.program_id = {} AND rr.state = 'redeemed' GROUP BY r.code",
        program.id,
    )
    return {row["code"]: int(row["n"]) for row in rows}


async def _page(
    request: Request,
    status: int = 200,
    *,
    draft: Draft | None = None,
    editing: str = "",
    redeem_form: RedeemForm | None = None,
    **context: Any,
) -> Template:
    staff = current_staff(request)
    program = await staff_program(staff)
    kinds = reward_kinds()
    draft = draft or Draft()
    kind = kinds.get(draft.kind) or kinds.get("gift") or next(iter(kinds.values()))
    labels = _labels(await _store_names(request))
    rewards, _ = await service.list_rewards(program.id, include_retired=True, page_size=200)
    fields = form_fields(
        RewardDef,
        draft.values,
        labels,
        errors=draft.errors,
        currency=program.currency,
        only=_fields(creating=not editing),
        typed=draft.typed,
    )
    params = form_fields(
        kind.Params,
        draft.params,
        labels,
        prefix=PARAMS,
        errors=draft.param_errors,
        currency=program.currency,
        typed=draft.typed_params,
    )
    return forms.page(
        request,
        "rewards/rewards.html",
        "loyalty",
        status,
        program=program,
        rewards=rewards,
        redeemed=await _redeemed_counts(program),
        kinds=list(kinds),
        kind=kind.name,
        kind_name=kind_name,
        limit_text=limit_text,
        gives=lambda reward: reward["gives_zh"] if is_zh() else reward["gives_en"],
        fields=fields,
        params=params,
        editing=editing,
        can_configure=staff.can(Permission.CONFIGURE_PROGRAM),
        redeem_form=redeem_form or RedeemForm(),
        **context,
    )


@get(ROUTE, opt=COUNTER)
async def rewards_page(
    request: Request,
    done: FromQuery[str] = "",
    edit: FromQuery[str] = "",
    kind: FromQuery[str] = "",
    reward: FromQuery[str] = "",
    coupon: FromQuery[str] = "",
    until: FromQuery[str] = "",
    points: FromQuery[int] = 0,
    member: FromQuery[str] = "",
) -> Template:
    """The points mall: every reward with its price, stock, limit, window and redemptions; a form
    for a new reward of ``kind`` or, with ``edit``, that reward's terms (managers and owners); a
    form to redeem one for a member (``member``: filled in, from the counter); after a
    redemption, the coupon to hand over."""
    if edit:
        program = await staff_program(current_staff(request))
        try:
            found = await service.get_reward(program.id, edit)
        except MembershipError as exc:
            return await _page(request, 404, error=forms.error_text(exc))
        values = {key: value for key, value in found.items() if key not in ("params", "created_at", "updated_at")}
        values["store_ids"] = [str(store_id) for store_id in values["store_ids"]]
        chosen = kind or found["kind"]
        params = found["params"] if chosen == found["kind"] else {}
        return await _page(request, draft=Draft(kind=chosen, values=values, params=params), editing=edit)
    notices = {
        "added": i18n.gettext("Reward added to the points mall."),
        "changed": i18n.gettext("Reward changed."),
        "retired": i18n.gettext("Reward taken off the points mall: it can no longer be redeemed."),
        "redeemed": i18n.gettext(
            "Redeemed “%(reward)s” for %(points)s points: coupon %(coupon)s, valid until %(until)s.",
            reward=reward,
            points=points,
            coupon=coupon,
            until=until,
        ),
    }
    draft = Draft(kind=kind or "gift", values={"coupon_days": 30, "limit_period": "month"})
    return await _page(request, draft=draft, redeem_form=RedeemForm(member=member), notice=notices.get(done, ""))


async def _save(request: Request, code: str = "") -> Any:
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    kinds = reward_kinds()
    chosen = (form.get("kind") or ["gift"])[-1]
    kind = kinds.get(chosen) or kinds["gift"]
    fields = _fields(creating=not code)
    param_keys = [field.name for field in msgspec.structs.fields(kind.Params)]
    labels = _labels(await _store_names(request))
    values, errors = read_form(RewardDef, form, labels, currency=program.currency, only=fields)
    params, param_errors = read_form(kind.Params, form, labels, prefix=PARAMS, currency=program.currency)
    draft = Draft(
        kind=kind.name,
        typed=typed_values(form, fields),
        typed_params=typed_values(form, param_keys, PARAMS),
        errors=errors,
        param_errors=param_errors,
    )
    if not errors and not param_errors:
        data = {**values, "kind": kind.name, "params": params, "code": code or values.get("code", "")}
        try:
            if code:
                await service.change_reward(
                    program.id, code, {k: v for k, v in data.items() if k != "code"}, staff.actor
                )
            else:
                await service.create_reward(program.id, data, staff.actor)
        except MembershipError as exc:
            key, text = error_for(exc, [*fields, *param_keys], labels, program.currency)
            if not key:
                return await _page(request, 422, draft=draft, editing=code, error=text)
            (draft.param_errors if key in param_keys else draft.errors)[key] = text
        else:
            return forms.done(PAGE, "changed" if code else "added")
    error = i18n.gettext("Please correct the marked fields.")
    return await _page(request, 422, draft=draft, editing=code, error=error)


@post(ROUTE, opt=CONFIGURE, status_code=303)
async def add_reward(request: Request) -> Any:
    """Add a reward from the form (its code must be new)."""
    return await _save(request)


@post(ROUTE + "/{code:str}", opt=CONFIGURE, status_code=303)
async def change_reward(request: Request, code: FromPath[str]) -> Any:
    """Change a reward's terms from the form (its code stays; one taken off comes back)."""
    return await _save(request, code)


@post(ROUTE + "/{code:str}/retire", opt=CONFIGURE, status_code=303)
async def retire_reward(
    request: Request,
    code: FromPath[str],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """Take a reward off the points mall once confirmed; coupons already given stay usable."""
    staff = current_staff(request)
    program = await staff_program(staff)
    if not data.confirmed:
        return await _page(request, 422, error=forms.not_confirmed())
    try:
        await service.retire_reward(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, error=forms.error_text(exc))
    return forms.done(PAGE, "retired")


@post(ROUTE + "/redeem", opt=COUNTER, status_code=303)
async def redeem(
    request: Request, data: Annotated[RedeemForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Any:
    """Redeem a reward for the member the text names (会员号, phone or card), at the staff
    member's store: the points are spent and the coupon to hand over is shown. A refusal (too few
    points, out of stock, over the limit, outside the window) is said on the page."""
    staff = current_staff(request)
    program = await staff_program(staff)
    audience = await named_members(program.id, data.member)
    if len(audience.member_ids) != 1 or audience.bad:
        if audience.bad:
            reason = audience.bad[0].reason
            error = reason.zh if is_zh() else reason.en
        else:
            error = i18n.gettext("Name one member: a member number, a phone or a card.")
        return await _page(request, 422, redeem_form=data, error=error)
    try:
        result = await redeeming.redeem_reward(
            program.id, data.reward, audience.member_ids[0], staff.store_id, actor=staff.actor
        )
    except MembershipError as exc:
        return await _page(request, 422, redeem_form=data, error=forms.error_text(exc))
    shown = {"reward": result.name, "points": result.points, "coupon": result.coupon, "until": result.valid_until}
    return forms.done_with(PAGE, "redeemed", **shown)


ROUTES = [rewards_page, add_reward, change_reward, retire_reward, redeem]
