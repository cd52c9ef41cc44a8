"""REST routes for setting a business up: merchants (商户), programs (会员方案) with every
setting, and stores (门店). Reading needs ``read``; creating and changing needs ``admin``. A key
bound to a merchant sees and changes only that merchant; only a key bound to none creates
merchants."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, patch, post, put
from litestar.params import FromPath, FromQuery, QueryParameter

from membership.access.service import ApiKeyInfo, Scope
from membership.api.docs import answers, body
from membership.api.security import current_key, program_for
from membership.errors import Forbidden, MerchantNotFound, Reason, StoreNotFound, ValidationError
from membership.org import service
from membership.org.program_file import apply_document, export_document
from membership.org.program_plugins import ProgramPlugin, program_plugins, set_program_plugin
from membership.org.settings import ProgramSettings, change_settings, settings_of

TAGS = ["setup"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
City = Annotated[str, msgspec.Meta(max_length=100)]
Address = Annotated[str, msgspec.Meta(max_length=500)]
MERCHANT_ID = "3c2b1a00-0000-4a8e-9d7e-1f2a3b4c5d6e"
PROGRAM_ID = "5f0e2d1c-0000-4a8e-9d7e-1f2a3b4c5d6e"


class StoreOut(msgspec.Struct):
    """A store (门店) of the merchant; a closed one (``active`` false) takes no more business."""

    id: uuid.UUID
    code: str
    name: str
    city: str
    address: str
    active: bool


STORE_EXAMPLE = {
    "id": "7a1b2c3d-0000-4a8e-9d7e-1f2a3b4c5d6e",
    "code": "SH01",
    "name": "南京西路店",
    "city": "上海",
    "address": "南京西路 1266 号",
    "active": True,
}


class StoreIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new store: ``code`` is unique in the merchant and never changes (tills and keys name it)."""

    code: Code
    name: Name
    city: City = ""
    address: Address = ""
    merchant_id: uuid.UUID | None = None


class StorePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Store changes: only the fields present change; ``active: false`` closes the store."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    city: City | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class MerchantIn(msgspec.Struct, forbid_unknown_fields=True):
    """A merchant (商户): a shop, a chain, a scenic area, a bank."""

    name: Name


class MerchantOut(msgspec.Struct):
    """A merchant."""

    id: uuid.UUID
    name: str
    created_at: dt.datetime


class ProgramOut(msgspec.Struct):
    """A program and all its settings."""

    id: uuid.UUID
    merchant_id: uuid.UUID
    settings: ProgramSettings


def _patch_type() -> type[msgspec.Struct]:
    """``ProgramSettings`` with every field optional: what ``PATCH …/settings`` accepts."""
    fields = [(f.name, f.type | msgspec.UnsetType, msgspec.UNSET) for f in msgspec.structs.fields(ProgramSettings)]
    patch_type = msgspec.defstruct(
        "ProgramSettingsPatch", fields, forbid_unknown_fields=True, kw_only=True, module=__name__
    )
    patch_type.__doc__ = (
        "Settings to change: only those present change (points_policy and tier_policy are replaced"
        " whole). ProgramSettings says what each means."
    )
    return patch_type


ProgramSettingsPatch = _patch_type()


class ProgramIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new program: its name, currency and zone; other settings may follow in ``settings``
    (the rest take their defaults). ``merchant_id`` is needed only by a key bound to none."""

    name: Name
    merchant_id: uuid.UUID | None = None
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{3}$")] = "CNY"
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "Asia/Shanghai"
    settings: dict[str, Any] = {}


SETTINGS_EXAMPLE = msgspec.to_builtins(ProgramSettings(name="悦享会员"))
PROGRAM_EXAMPLE = {"id": PROGRAM_ID, "merchant_id": MERCHANT_ID, "settings": SETTINGS_EXAMPLE}
MERCHANT_EXAMPLE = {"id": MERCHANT_ID, "name": "悦享咖啡", "created_at": "2026-12-01T08:00:00Z"}


async def _merchant_for(key: ApiKeyInfo, merchant_id: uuid.UUID | None) -> uuid.UUID:
    """The merchant a request is about: the key's own (another answers 404), or for a key bound
    to none the one named, else the only one."""
    if key.merchant_id is not None:
        if merchant_id not in (None, key.merchant_id):
            raise MerchantNotFound(merchant_id=merchant_id)
        return key.merchant_id
    if merchant_id is not None:
        return (await service.merchant_row(merchant_id))["id"]
    merchants = await service.list_merchants()
    if len(merchants) != 1:
        raise ValidationError(
            field="merchant_id",
            reason=Reason("required: name the merchant", "必填：请指明商户")
            if merchants
            else Reason("no merchant yet: create one first", "还没有商户：请先创建"),
        )
    return merchants[0]["id"]


async def _store_for(key: ApiKeyInfo, store_id: uuid.UUID) -> dict[str, Any]:
    """A store of the key's merchant (another merchant's answers 404)."""
    row = await service.store_row(store_id)
    if key.merchant_id not in (None, row["merchant_id"]) or key.store_id not in (None, store_id):
        raise StoreNotFound(store_id=store_id)
    return row


@get(
    "/merchants",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Merchants (商户)",
    responses=answers(200, list[MerchantOut], [MERCHANT_EXAMPLE], 403),
)
async def list_merchants(request: Request) -> list[MerchantOut]:
    """The key's merchant, or every merchant for a key bound to none."""
    key = current_key(request)
    rows = await service.list_merchants()
    return [msgspec.convert(row, MerchantOut) for row in rows if key.merchant_id in (None, row["id"])]


@post(
    "/merchants",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Create a merchant (keys bound to no merchant)",
    responses=answers(201, MerchantOut, MERCHANT_EXAMPLE, 403, description="Created"),
)
async def create_merchant(request: Request, data: Annotated[MerchantIn, body({"name": "悦享咖啡"})]) -> MerchantOut:
    """A new merchant; a key bound to a merchant may not create others (403)."""
    key = current_key(request)
    if key.merchant_id is not None:
        raise Forbidden(action="create merchants", action_zh="创建商户")
    merchant_id = await service.create_merchant(data.name)
    return msgspec.convert(await service.merchant_row(merchant_id), MerchantOut)


@patch(
    "/merchants/{merchant_id:uuid}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Rename a merchant",
    responses=answers(200, MerchantOut, MERCHANT_EXAMPLE, 403, 404),
)
async def update_merchant(
    request: Request, merchant_id: FromPath[uuid.UUID], data: Annotated[MerchantIn, body({"name": "悦享咖啡连锁"})]
) -> MerchantOut:
    """Change the merchant's name; audited."""
    key = current_key(request)
    merchant = await _merchant_for(key, merchant_id)
    await service.rename_merchant(merchant, data.name, key.actor)
    return msgspec.convert(await service.merchant_row(merchant), MerchantOut)


def _program_out(program: service.ProgramConfig) -> ProgramOut:
    return ProgramOut(program.id, program.merchant_id, settings_of(program))


@get(
    "/programs",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="Programs (会员方案) with their settings",
    responses=answers(200, list[ProgramOut], [PROGRAM_EXAMPLE], 403),
)
async def list_programs(request: Request) -> list[ProgramOut]:
    """The programs the key may see."""
    key = current_key(request)
    return [_program_out(p) for p in await service.list_programs() if key.merchant_id in (None, p.merchant_id)]


@post(
    "/programs",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Create a program",
    responses=answers(201, ProgramOut, PROGRAM_EXAMPLE, 403, 404, description="Created"),
)
async def create_program(
    request: Request,
    data: Annotated[
        ProgramIn, body({"name": "悦享会员", "settings": {"point_value_minor": 1, "min_redeem_points": 100}})
    ],
) -> ProgramOut:
    """A program of the merchant, with the settings given (checked as ``PATCH …/settings``
    checks them) and the defaults for the rest."""
    key = current_key(request)
    merchant = await _merchant_for(key, data.merchant_id)
    program = await service.create_program(merchant, data.name.strip(), data.currency, data.time_zone)
    if data.settings:
        await change_settings(program.id, data.settings, key.actor)
    return _program_out(await service.get_program(program.id))


@get(
    "/programs/{program_id:uuid}",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="A program and its settings",
    responses=answers(200, ProgramOut, PROGRAM_EXAMPLE, 403, 404),
)
async def get_program(request: Request, program_id: FromPath[uuid.UUID]) -> ProgramOut:
    """The program with every setting as it applies now (defaults included)."""
    return _program_out(await program_for(current_key(request), program_id))


@patch(
    "/programs/{program_id:uuid}/settings",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Change a program's settings (设置)",
    responses=answers(200, ProgramSettings, SETTINGS_EXAMPLE, 403, 404),
)
async def update_settings(
    request: Request,
    program_id: FromPath[uuid.UUID],
    data: Annotated[ProgramSettingsPatch, body({"min_redeem_points": 100, "points_rounding": "half_up"})],  # type: ignore[valid-type]
) -> ProgramSettings:
    """Change the settings present; each is checked (the currency only while nothing is booked
    in it) and the change audited with the old and new values."""
    key = current_key(request)
    program = await program_for(key, program_id)
    changes = {name: value for name, value in msgspec.structs.asdict(data).items() if value is not msgspec.UNSET}
    return await change_settings(program.id, msgspec.to_builtins(changes), key.actor)


class AppliedOut(msgspec.Struct):
    """What applying a program document changed (or would change, in a dry run): one line each;
    none when the program already matches."""

    program_id: uuid.UUID | None
    changes: list[str]
    dry_run: bool


DOCUMENT_EXAMPLE = {
    "program": {"name": "悦享会员", "merchant": "悦享咖啡"},
    "settings": {"min_redeem_points": 100, "points_policy": {"expiry": "end_of_year", "expiry_months": 12}},
    "stores": [{"code": "SH01", "name": "南京西路店", "city": "上海", "address": "", "open": True}],
    "tiers": [{"code": "silver", "name": "银卡", "threshold": 1000}],
    "points_rules": [
        {"code": "base", "kind": "base_rate", "name": "每元 1 分", "params": {"points": 1, "per_amount": 100}}
    ],
}


@get(
    "/programs/{program_id:uuid}/document",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="The program's whole configuration (program as code)",
    responses=answers(200, dict[str, Any], DOCUMENT_EXAMPLE, 403, 404),
)
async def export_program(request: Request, program_id: FromPath[uuid.UUID]) -> dict[str, Any]:
    """Settings, stores, tiers, points rules, coupon templates, paid and top-up plans as one
    document: what ``membership program export`` writes as TOML, here as JSON."""
    program = await program_for(current_key(request), program_id)
    return await export_document(program.id)


@post(
    "/programs/apply",
    status_code=200,
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Create or update a program from its document",
    responses=answers(
        200,
        AppliedOut,
        {"program_id": PROGRAM_ID, "changes": ["~ settings.min_redeem_points: 0 → 100"], "dry_run": True},
        403,
        404,
    ),
)
async def apply_program(
    request: Request,
    data: Annotated[dict[str, Any], body(DOCUMENT_EXAMPLE)],
    dry_run: Annotated[bool, QueryParameter(description="Say what would change; change nothing")] = False,
) -> AppliedOut:
    """Make the program the document names (by merchant and program name) match it, in one
    transaction: settings, stores, tiers, rules, coupon templates and plans; lists replace what
    is there. A key bound to a merchant applies only documents of its merchant."""
    key = current_key(request)
    applied = await apply_document(data, key.actor, dry_run, merchant_id=key.merchant_id)
    return AppliedOut(applied.program_id, applied.changes, applied.dry_run)


class ProgramPluginOut(msgspec.Struct):
    """A per-program plugin as the program has it: on or off, its settings and their schema."""

    name: str
    label_zh: str
    label_en: str
    description_zh: str
    description_en: str
    enabled: bool
    settings: dict[str, Any]
    settings_schema: dict[str, Any]


class ProgramPluginIn(msgspec.Struct, forbid_unknown_fields=True):
    """Turn a plugin on or off, and/or change some of its settings (checked by its schema)."""

    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    settings: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


def _plugin_out(plugin: ProgramPlugin) -> ProgramPluginOut:
    meta = plugin.meta
    schema = msgspec.json.schema(meta.settings) if meta.settings else {}
    return ProgramPluginOut(
        plugin.name,
        meta.label_zh,
        meta.label_en,
        meta.description_zh,
        meta.description_en,
        plugin.enabled,
        plugin.settings,
        schema,
    )


PLUGIN_EXAMPLE = {
    "name": "membership_catering",
    "label_zh": "餐饮",
    "label_en": "Catering",
    "description_zh": "集点卡、餐段与就餐方式、口味与忌口",
    "description_en": "Stamp cards, meal periods, tastes and allergies",
    "enabled": True,
    "settings": {"stamps_for_a_reward": 10},
    "settings_schema": {"type": "object", "properties": {"stamps_for_a_reward": {"type": "integer"}}},
}


@get(
    "/programs/{program_id:uuid}/plugins",
    opt={"scope": Scope.READ},
    tags=TAGS,
    summary="The program's per-program plugins (on or off, settings)",
    responses=answers(200, list[ProgramPluginOut], [PLUGIN_EXAMPLE], 403, 404),
)
async def list_program_plugins(request: Request, program_id: FromPath[uuid.UUID]) -> list[ProgramPluginOut]:
    """Every installed plugin that is enabled per program, as this program has it."""
    program = await program_for(current_key(request), program_id)
    return [_plugin_out(plugin) for plugin in await program_plugins(program.id)]


@put(
    "/programs/{program_id:uuid}/plugins/{name:str}",
    opt={"scope": Scope.ADMIN},
    tags=TAGS,
    summary="Turn a plugin on or off for the program, and set it",
    responses=answers(200, ProgramPluginOut, PLUGIN_EXAMPLE, 403, 404),
)
async def set_program_plugin_route(
    request: Request,
    program_id: FromPath[uuid.UUID],
    name: FromPath[str],
    data: Annotated[ProgramPluginIn, body({"enabled": True, "settings": {"stamps_for_a_reward": 10}})],
) -> ProgramPluginOut:
    """A plugin off for a program runs none of its hooks for it; its settings are checked by its
    schema (422 naming the field). Audited."""
    key = current_key(request)
    program = await program_for(key, program_id)
    enabled = None if data.enabled is msgspec.UNSET else data.enabled
    settings = None if data.settings is msgspec.UNSET else data.settings
    return _plugin_out(await set_program_plugin(program.id, name, enabled, settings, key.actor))


@get(
    "/stores",
    opt={"scope": Scope.READ},
    tags=["stores"],
    summary="The merchant's stores",
    responses=answers(200, list[StoreOut], [STORE_EXAMPLE], 403, 404),
)
async def list_stores(request: Request, program_id: FromQuery[uuid.UUID | None] = None) -> list[StoreOut]:
    """Every store of the key's merchant (a key for all merchants names a ``program_id``)."""
    key = current_key(request)
    merchant_id = key.merchant_id or (await program_for(key, program_id)).merchant_id
    return [msgspec.convert(row, StoreOut) for row in await service.list_stores(merchant_id)]


@post(
    "/stores",
    status_code=201,
    opt={"scope": Scope.ADMIN},
    tags=["stores"],
    summary="Open a store (新增门店)",
    responses=answers(201, StoreOut, STORE_EXAMPLE, 403, 404, description="Created"),
)
async def create_store(
    request: Request, data: Annotated[StoreIn, body({"code": "SH01", "name": "南京西路店", "city": "上海"})]
) -> StoreOut:
    """A store of the key's merchant (or, for a key bound to none, the one named)."""
    key = current_key(request)
    if key.store_id is not None:
        raise Forbidden(action="open stores", action_zh="新增门店")
    merchant = await _merchant_for(key, data.merchant_id)
    store_id = await service.create_store(merchant, data.code, data.name, data.city, data.address)
    return msgspec.convert(await service.store_row(store_id), StoreOut)


@patch(
    "/stores/{store_id:uuid}",
    opt={"scope": Scope.ADMIN},
    tags=["stores"],
    summary="Change or close a store",
    responses=answers(200, StoreOut, STORE_EXAMPLE, 403, 404),
)
async def update_store(
    request: Request, store_id: FromPath[uuid.UUID], data: Annotated[StorePatch, body({"address": "南京西路 1288 号"})]
) -> StoreOut:
    """Change the fields present; ``active: false`` closes the store (no more business there;
    its history stays), ``true`` opens it again. Audited."""
    key = current_key(request)
    row = await _store_for(key, store_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET and k != "active"}
    if changes:
        row = await service.update_store(store_id, actor=key.actor, **changes)
    if data.active is not msgspec.UNSET and data.active != row["active"]:
        row = await service.set_store_open(store_id, data.active, key.actor)
    return msgspec.convert(row, StoreOut)


ROUTES = [
    list_merchants,
    create_merchant,
    update_merchant,
    list_programs,
    create_program,
    get_program,
    update_settings,
    export_program,
    apply_program,
    list_program_plugins,
    set_program_plugin_route,
    list_stores,
    create_store,
    update_store,
]
