"""Console page for promotions at the till (促销活动): the running and ended promotions with what
they take off, their conditions, limits, window and uses; a promotion added or changed in a form
(amounts in yuan, discounts as 折, products and categories typed as lists, errors beside their
field); a promotion ended. Conditions the form does not show (brands, labels, exclusions, a
pack's own kinds, set through the API) are kept when the form saves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
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
from membership.errors import MembershipError
from membership.ledger.conditions import compile_conditions
from membership.org.service import list_stores
from membership.promotions import service
from membership.promotions.kinds import promotion_kinds
from membership.promotions.service import Code, TillCode
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
PAGE = "/console/loyalty/promotions"
ROUTE = "/loyalty/promotions"  # under the console's router
PARAMS = "params-"
FORM_CONDITIONS = ("sku", "category", "min_quantity")  # the kinds the form shows (``any_of`` lists)
Names = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=500)]


class PromotionForm(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The promotion as the form shows it: conditions as lists of products and categories and a
    minimum quantity (the service takes them as conditions)."""

    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    skus: Names = []
    categories: Names = []
    min_quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    min_amount: Annotated[int, msgspec.Meta(ge=0, le=service.MAX_MINOR)] = 0
    stackable: bool = False
    till_code: TillCode | None = None
    member_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    total_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)] | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    store_ids: list[uuid.UUID] = []
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""


def _fields(creating: bool) -> list[str]:
    return [
        *(["code"] if creating else []),
        "name",
        "skus",
        "categories",
        "min_quantity",
        "min_amount",
        "stackable",
        "till_code",
        "member_limit",
        "total_limit",
        "valid_from",
        "valid_until",
        "store_ids",
        "description",
    ]


def _labels(stores: dict[str, str]) -> dict[str, Label]:
    """The promotion's fields and the built-in kinds' params in the staff's words (a pack's kind
    names its own fields with ``msgspec.Meta(title=…)``)."""
    return {
        "code": Label("活动编码", "Code", "字母、数字、- 或 _，如 drinks-8。", "Letters, digits, - or _."),
        "name": Label("活动名称", "Name", "小票和收银台显示的名称，如 饮品第二杯半价。", "What receipts show."),
        "skus": Label(
            "参加商品（编码）",
            "Products (SKUs)",
            "用逗号或换行分隔；留空表示不限商品。",
            "Separated by commas; empty: any product.",
        ),
        "categories": Label(
            "参加品类", "Categories", "用逗号分隔；留空表示不限品类。", "Separated by commas; empty: any category."
        ),
        "min_quantity": Label(
            "最低件数", "Minimum quantity", "参加商品至少几件；不限请留空。", "Empty: any.", suffix=("件", "items")
        ),
        "min_amount": Label(
            "最低金额（满多少）", "Minimum amount", "参加商品合计满多少可享；0 表示无门槛。", "0: any.", unit=MONEY
        ),
        "stackable": Label("可与其他活动同享", "Combines with other promotions"),
        "till_code": Label(
            "活动码", "Promotion code", "填写后须在收银台输入此码才享受；留空表示自动享受。", "Empty: automatic."
        ),
        "member_limit": Label("每人限享", "Per member", "不限请留空。", "Empty: no limit.", suffix=("次", "times")),
        "total_limit": Label("总名额", "Uses in all", "不限请留空。", "Empty: no limit.", suffix=("次", "times")),
        "valid_from": Label("开始日期", "From", "留空表示即日起。", "Empty: from today."),
        "valid_until": Label("结束日期", "Until", "留空表示长期有效。", "Empty: no end."),
        "store_ids": Label(
            "参加门店",
            "Stores",
            "都不选表示全部门店参加。",
            "None ticked: every store.",
            choices={store_id: (name, name) for store_id, name in stores.items()},
        ),
        "description": Label("活动说明", "Description", "活动规则、注意事项（纯文字）。", "Rules and notes (text)."),
        "percent_off": Label("折扣", "Discount", "8 = 八折，85 = 八五折，0 = 免费。", "Percent off.", unit=DISCOUNT),
        "max_off": Label("最多优惠", "At most off", "不封顶请留空。", "Empty: no cap.", unit=MONEY),
        "amount_off": Label(
            "立减金额", "Amount off", "参加商品合计减去的金额。", "Off the products together.", unit=MONEY
        ),
        "price": Label("每件价格", "Price a unit", "参加商品每件按此价格结算。", "What each unit costs.", unit=MONEY),
        "buy": Label("买几件", "Buy", suffix=("件", "items")),
        "get": Label(
            "送几件", "Get", "每组中最便宜的这几件享受优惠。", "The cheapest of each group.", suffix=("件", "items")
        ),
    }


def kind_name(kind: str) -> str:
    """A promotion kind's name in the page's language."""
    found = promotion_kinds().get(kind)
    if found is None:
        return kind
    return found.label_zh if is_zh() else found.label_en


def _names(conditions: list[dict[str, Any]], kind: str) -> list[str]:
    """The ``any_of`` list of the first condition of ``kind`` that only lists names."""
    for condition in conditions:
        if (
            condition["kind"] == kind
            and set(condition) <= {"kind", "any_of", "none_of"}
            and not condition.get("none_of")
        ):
            return list(condition.get("any_of", []))
    return []


def _shown_by_form(condition: dict[str, Any]) -> bool:
    if condition["kind"] in ("sku", "category"):
        return not condition.get("none_of")
    return condition["kind"] == "min_quantity"


def conditions_text(promotion: dict[str, Any]) -> str:
    """The promotion's conditions in the page's language (``商品编码为 A、B，至少 2 件``)."""
    compiled = compile_conditions(promotion["conditions"])
    if not isinstance(compiled, list):
        return compiled.zh if is_zh() else compiled.en
    said = [c.describe() for c in compiled]
    if is_zh():
        return "，".join(r.zh for r in said) or "全部商品"
    return "; ".join(r.en for r in said) or "every product"


@dataclasses.dataclass
class Draft:
    """The promotion form as shown: its kind, values (stored) or text (as posted), errors."""

    kind: str = "percent_off"
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    typed: dict[str, list[str]] | None = None
    typed_params: dict[str, list[str]] | None = None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    param_errors: dict[str, str] = dataclasses.field(default_factory=dict)


async def _store_names(request: Request) -> dict[str, str]:
    return {str(s["id"]): s["name"] for s in await list_stores(current_staff(request).merchant_id)}


async def _page(
    request: Request, status: int = 200, *, draft: Draft | None = None, editing: str = "", **context: Any
) -> Template:
    staff = current_staff(request)
    program = await staff_program(staff)
    kinds = promotion_kinds()
    draft = draft or Draft()
    kind = kinds.get(draft.kind) or kinds.get("percent_off") or next(iter(kinds.values()))
    labels = _labels(await _store_names(request))
    promotions, _ = await service.list_promotions(program.id, include_ended=True, page_size=200)
    fields = form_fields(
        PromotionForm,
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
        "promotions/promotions.html",
        "loyalty",
        status,
        program=program,
        promotions=promotions,
        kinds=list(kinds),
        kind=kind.name,
        kind_name=kind_name,
        conditions_text=conditions_text,
        gives=lambda promotion: promotion["gives_zh"] if is_zh() else promotion["gives_en"],
        fields=fields,
        params=params,
        editing=editing,
        **context,
    )


@get(ROUTE, opt=CONFIGURE)
async def promotions_page(
    request: Request, done: FromQuery[str] = "", edit: FromQuery[str] = "", kind: FromQuery[str] = ""
) -> Template:
    """Every promotion with what it takes off, its conditions, limits, window and uses; a form for
    a new promotion of ``kind`` or, with ``edit``, that promotion's terms."""
    if edit:
        program = await staff_program(current_staff(request))
        try:
            found = await service.get_promotion(program.id, edit)
        except MembershipError as exc:
            return await _page(request, 404, error=forms.error_text(exc))
        values = {key: found[key] for key in _fields(creating=False) if key in found}
        values["skus"] = _names(found["conditions"], "sku")
        values["categories"] = _names(found["conditions"], "category")
        values["min_quantity"] = next((c["quantity"] for c in found["conditions"] if c["kind"] == "min_quantity"), None)
        values["store_ids"] = [str(store_id) for store_id in found["store_ids"]]
        chosen = kind or found["kind"]
        params = found["params"] if chosen == found["kind"] else {}
        return await _page(request, draft=Draft(kind=chosen, values=values, params=params), editing=edit)
    notices = {
        "added": i18n.gettext("Promotion added: sales get it from now on."),
        "changed": i18n.gettext("Promotion changed."),
        "ended": i18n.gettext("Promotion ended: no sale gets it any more."),
    }
    return await _page(request, draft=Draft(kind=kind or "percent_off"), notice=notices.get(done, ""))


def _conditions(values: dict[str, Any], kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conditions the form says, then those it does not show (kept as they were)."""
    said: list[dict[str, Any]] = []
    if values.get("skus"):
        said.append({"kind": "sku", "any_of": values["skus"]})
    if values.get("categories"):
        said.append({"kind": "category", "any_of": values["categories"]})
    if values.get("min_quantity"):
        said.append({"kind": "min_quantity", "quantity": values["min_quantity"]})
    return [*said, *(c for c in kept if not _shown_by_form(c))]


async def _save(request: Request, code: str = "") -> Any:
    staff = current_staff(request)
    program = await staff_program(staff)
    form = posted(await request.form())
    kinds = promotion_kinds()
    chosen = (form.get("kind") or ["percent_off"])[-1]
    kind = kinds.get(chosen) or kinds["percent_off"]
    fields = _fields(creating=not code)
    param_keys = [field.name for field in msgspec.structs.fields(kind.Params)]
    labels = _labels(await _store_names(request))
    values, errors = read_form(PromotionForm, form, labels, currency=program.currency, only=fields)
    params, param_errors = read_form(kind.Params, form, labels, prefix=PARAMS, currency=program.currency)
    draft = Draft(
        kind=kind.name,
        typed=typed_values(form, fields),
        typed_params=typed_values(form, param_keys, PARAMS),
        errors=errors,
        param_errors=param_errors,
    )
    if not errors and not param_errors:
        try:
            kept = (await service.get_promotion(program.id, code))["conditions"] if code else []
            data = {
                **{k: v for k, v in values.items() if k not in ("skus", "categories", "min_quantity", "code")},
                "kind": kind.name,
                "params": params,
                "conditions": _conditions(values, kept),
            }
            if code:
                await service.change_promotion(program.id, code, data, staff.actor)
            else:
                await service.create_promotion(program.id, {**data, "code": values.get("code", "")}, staff.actor)
        except MembershipError as exc:
            key, text = error_for(exc, [*fields, *param_keys], labels, program.currency)
            if key.startswith("conditions"):
                key = ""
            if not key:
                return await _page(request, 422, draft=draft, editing=code, error=text)
            (draft.param_errors if key in param_keys else draft.errors)[key] = text
        else:
            return forms.done(PAGE, "changed" if code else "added")
    error = i18n.gettext("Please correct the marked fields.")
    return await _page(request, 422, draft=draft, editing=code, error=error)


@post(ROUTE, opt=CONFIGURE, status_code=303)
async def add_promotion(request: Request) -> Any:
    """Add a promotion from the form (its code must be new)."""
    return await _save(request)


@post(ROUTE + "/{code:str}", opt=CONFIGURE, status_code=303)
async def change_promotion(request: Request, code: FromPath[str]) -> Any:
    """Change a promotion's terms from the form (its code and uses stay; an ended one runs again)."""
    return await _save(request, code)


@post(ROUTE + "/{code:str}/end", opt=CONFIGURE, status_code=303)
async def end_promotion(
    request: Request,
    code: FromPath[str],
    data: Annotated[forms.ConfirmForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Any:
    """End a promotion once confirmed: no sale gets it any more."""
    staff = current_staff(request)
    program = await staff_program(staff)
    if not data.confirmed:
        return await _page(request, 422, error=forms.not_confirmed())
    try:
        await service.end_promotion(program.id, code, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, error=forms.error_text(exc))
    return forms.done(PAGE, "ended")


ROUTES = [promotions_page, add_promotion, change_promotion, end_promotion]
