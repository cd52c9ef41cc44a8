"""Commands that set a business up: ``membership merchant|program|store …``, and the setup
``membership init`` runs (merchant, program, first store) from options or questions."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from membership.config import Settings
from membership.db import use_case

merchant_app = typer.Typer(help="Merchants (商户): the businesses this deployment serves.", no_args_is_help=True)
program_app = typer.Typer(help="Programs (会员方案) and every setting of one.", no_args_is_help=True)
store_app = typer.Typer(help="Stores (门店).", no_args_is_help=True)

MerchantOption = Annotated[str | None, typer.Option("--merchant", help="Merchant id or name (default: the only one)")]


def _cli() -> Any:
    """The main CLI module (imported late: it registers these commands)."""
    from membership import cli

    return cli


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs as settings: a value that reads as JSON (``100``, ``true``, ``null``,
    ``{"expiry": "never"}``) is taken as such, anything else as text."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r}: write setting=value, e.g. min_redeem_points=100")
        try:
            changes[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            changes[key.strip()] = value
    return changes


# --- merchants -------------------------------------------------------------------------------------


@merchant_app.command("create")
def merchant_create(name: Annotated[str, typer.Argument(help="The business's name, e.g. 悦享咖啡")]) -> None:
    """Create a merchant."""
    from membership.org.service import create_merchant

    merchant_id = _cli()._run(lambda s: create_merchant(name))
    _cli().console.print(f"商户 merchant {name}: {merchant_id}")


@merchant_app.command("list")
def merchant_list() -> None:
    """Every merchant."""
    from membership.org.service import list_merchants

    rows = _cli()._run(lambda s: list_merchants())
    table = Table(title="商户 merchants")
    for column in ("名称 name", "编号 id", "创建 created"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], str(row["id"]), row["created_at"].isoformat(timespec="seconds"))
    _cli().console.print(table)


# --- programs --------------------------------------------------------------------------------------


@program_app.command("create")
def program_create(
    name: Annotated[str, typer.Argument(help="The program's name, e.g. 悦享会员")],
    merchant: MerchantOption = None,
    currency: Annotated[str, typer.Option(help="ISO code: CNY, HKD, USD…")] = "CNY",
    time_zone: Annotated[str, typer.Option(help="IANA zone, e.g. Asia/Shanghai")] = "Asia/Shanghai",
    setting: Annotated[list[str] | None, typer.Option("--set", help="setting=value (repeatable)")] = None,
) -> None:
    """Create a program of a merchant, with settings (see `membership program show`)."""
    from membership.org.service import create_program, find_merchant
    from membership.org.settings import change_settings

    changes = parse_assignments(setting or [])

    async def work(settings: Settings) -> Any:
        program = await create_program(await find_merchant(merchant), name.strip(), currency, time_zone)
        if changes:
            await change_settings(program.id, changes, "cli")
        return program

    program = _cli()._run(work)
    _cli().console.print(f"会员方案 program {program.name}: {program.id}")


@program_app.command("list")
def program_list() -> None:
    """Every program, with its merchant."""
    from membership.org.service import list_merchants, list_programs

    async def work(settings: Settings) -> Any:
        return await list_programs(), {m["id"]: m["name"] for m in await list_merchants()}

    programs, merchants = _cli()._run(work)
    table = Table(title="会员方案 programs")
    for column in ("名称 name", "商户 merchant", "币种 currency", "时区 zone", "编号 id"):
        table.add_column(column)
    for program in programs:
        table.add_row(
            program.name, merchants.get(program.merchant_id, "?"), program.currency, program.time_zone, str(program.id)
        )
    _cli().console.print(table)


def _print_settings(settings: Any) -> None:
    import msgspec

    from membership.org.settings import HELP

    table = Table(title=f"{settings.name} — 设置 settings")
    for column in ("设置 setting", "值 value", "说明 meaning"):
        table.add_column(column, overflow="fold")
    for key, value in msgspec.to_builtins(settings).items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) or value is None else str(value)
        meaning = HELP[key]
        table.add_row(f"{meaning.label_zh}\n{key}", shown, meaning.help_zh)
    _cli().console.print(table)


@program_app.command("show")
def program_show(
    program: Annotated[str | None, typer.Argument(help="Program id or name (default: the only one)")] = None,
) -> None:
    """Every setting of a program, with what it means."""
    from membership.org.service import find_program
    from membership.org.settings import settings_of

    async def work(settings: Settings) -> Any:
        return settings_of(await find_program(program))

    _print_settings(_cli()._run(work))


@program_app.command("set")
def program_set(
    assignments: Annotated[list[str], typer.Argument(help="setting=value …, e.g. min_redeem_points=100")],
    program: Annotated[str | None, typer.Option(help="Program id or name (default: the only one)")] = None,
) -> None:
    """Change settings of a program (audited; the currency only while nothing is booked in it)."""
    from membership.org.service import find_program
    from membership.org.settings import change_settings

    changes = parse_assignments(assignments)

    async def work(settings: Settings) -> Any:
        return await change_settings((await find_program(program)).id, changes, "cli")

    _print_settings(_cli()._run(work))


@program_app.command("export")
def program_export(
    program: Annotated[str | None, typer.Argument(help="Program id or name (default: the only one)")] = None,
) -> None:
    """The program's whole configuration as program.toml (settings, stores, tiers, points rules,
    coupon templates, paid and top-up plans): `membership program export > program.toml`."""
    import sys

    from membership.org.program_file import export_document, to_toml
    from membership.org.service import find_program

    async def work(settings: Settings) -> Any:
        return await export_document((await find_program(program)).id)

    sys.stdout.write(to_toml(_cli()._run(work)))


@program_app.command("apply")
def program_apply(
    file: Annotated[str, typer.Argument(help="A program.toml (as `program export` writes)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing")] = False,
) -> None:
    """Create or update a program from program.toml so it matches the file; prints each change
    (nothing on a second run). Lists in the file replace what is there: rules and coupon
    templates it leaves out are retired."""
    from pathlib import Path

    from membership.org.program_file import apply_document, from_toml

    document = from_toml(Path(file).read_text(encoding="utf-8"))
    applied = _cli()._run(lambda s: apply_document(document, "cli", dry_run))
    for line in applied.changes:
        _cli().console.print(line, markup=False)
    if not applied.changes:
        _cli().console.print("无变化 nothing to change: the program matches the file.")
    elif dry_run:
        _cli().console.print(f"(dry run: {len(applied.changes)} changes, none made)")
    else:
        _cli().console.print(f"已应用 applied {len(applied.changes)} changes to program {applied.program_id}.")


# --- stores ----------------------------------------------------------------------------------------


@store_app.command("create")
def store_create(
    code: Annotated[str, typer.Argument(help="Short code tills and keys use, e.g. SH01")],
    name: Annotated[str, typer.Argument(help="The store's name, e.g. 南京西路店")],
    city: Annotated[str, typer.Option(help="City")] = "",
    address: Annotated[str, typer.Option(help="Address")] = "",
    merchant: MerchantOption = None,
) -> None:
    """Open a store of a merchant."""
    from membership.org.service import create_store, find_merchant

    async def work(settings: Settings) -> Any:
        return await create_store(await find_merchant(merchant), code, name, city, address)

    store_id = _cli()._run(work)
    _cli().console.print(f"门店 store {code} {name}: {store_id}")


@store_app.command("list")
def store_list(merchant: MerchantOption = None) -> None:
    """The merchant's stores, open and closed."""
    from membership.org.service import find_merchant, list_stores

    async def work(settings: Settings) -> Any:
        return await list_stores(await find_merchant(merchant))

    table = Table(title="门店 stores")
    for column in ("编码 code", "名称 name", "城市 city", "地址 address", "状态 state"):
        table.add_column(column)
    for row in _cli()._run(work):
        table.add_row(
            row["code"], row["name"], row["city"], row["address"], "营业 open" if row["active"] else "闭店 closed"
        )
    _cli().console.print(table)


@store_app.command("update")
def store_update(
    store: Annotated[str, typer.Argument(help="Store code or id")],
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    city: Annotated[str | None, typer.Option(help="New city")] = None,
    address: Annotated[str | None, typer.Option(help="New address")] = None,
    merchant: MerchantOption = None,
) -> None:
    """Change a store's name, city or address (its code stays); audited."""
    from membership.org.service import find_merchant, find_store, update_store

    async def work(settings: Settings) -> Any:
        merchant_id = await find_merchant(merchant) if merchant else None
        row = await find_store(store, merchant_id)
        return await update_store(row["id"], name, city, address, actor="cli")

    row = _cli()._run(work)
    _cli().console.print(f"门店 store {row['code']}: {row['name']}, {row['city']} {row['address']}")


def _set_open(store: str, merchant: str | None, open_: bool) -> dict[str, Any]:
    from membership.org.service import find_merchant, find_store, set_store_open

    async def work(settings: Settings) -> Any:
        merchant_id = await find_merchant(merchant) if merchant else None
        return await set_store_open((await find_store(store, merchant_id))["id"], open_, actor="cli")

    return _cli()._run(work)


@store_app.command("close")
def store_close(
    store: Annotated[str, typer.Argument(help="Store code or id")], merchant: MerchantOption = None
) -> None:
    """Close a store (闭店): no more sales, redemptions or top-ups there; its history stays."""
    row = _set_open(store, merchant, False)
    _cli().console.print(f"门店 store {row['code']} 已闭店 closed")


@store_app.command("open")
def store_open(store: Annotated[str, typer.Argument(help="Store code or id")], merchant: MerchantOption = None) -> None:
    """Open a closed store again."""
    row = _set_open(store, merchant, True)
    _cli().console.print(f"门店 store {row['code']} 已恢复营业 open")


# --- the setup `membership init` runs -------------------------------------------------------------------


@use_case
async def set_up_business(
    merchant: str, program: str, currency: str, time_zone: str, store_code: str, store_name: str, city: str
) -> tuple[Any, Any]:
    """Create the first merchant, its program and its first store, all or none (one
    transaction); the program and the store's id."""
    from membership.org.service import create_merchant, create_program, create_store

    merchant_id = await create_merchant(merchant)
    created = await create_program(merchant_id, program.strip(), currency, time_zone)
    store_id = await create_store(merchant_id, store_code, store_name, city)
    return created, store_id
