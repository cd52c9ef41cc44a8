"""The ``membership`` command line (Typer)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from membership import __version__
from membership.config import DEFAULT_DATABASE_URL, Settings, config_path, load_settings, write_config
from membership.errors import JobNotFound, MembershipError, NotConfigured
from membership.org.cli import merchant_app, program_app, store_app

app = typer.Typer(
    name="membership",
    help="membership — 会员管理: members, cards, tiers, points, stored value.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(help="Loaded plugins.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs (run one by hand).", no_args_is_help=True)
api_key_app = typer.Typer(help="API keys for POS terminals and integrations.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts of the web console (员工).", no_args_is_help=True)
reader_app = typer.Typer(
    help="Card readers (读卡器): drivers, and the reader service of a counter.", no_args_is_help=True
)
app.add_typer(plugins_app, name="plugins")
app.add_typer(jobs_app, name="jobs")
app.add_typer(api_key_app, name="api-key")
app.add_typer(staff_app, name="staff")
app.add_typer(reader_app, name="reader")
app.add_typer(merchant_app, name="merchant")
app.add_typer(program_app, name="program")
app.add_typer(store_app, name="store")

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
_DEPLOYMENT_ENV = {"MEMBERSHIP_CONFIG", "MEMBERSHIP_DATABASE_URL", "MEMBERSHIP_SECRET_KEY"}  # settings kept outside


def _run(
    work: Callable[[Settings], Awaitable[T]],
    settings: Settings | None = None,
    setup: bool = False,
    check_keys: bool = True,
) -> T:
    """Open the database of the current settings, run ``work``, close it. Unless the command sets a
    deployment up (``setup``: init, migrate, demo), the folder must hold one (membership.toml, or
    its settings in the environment), so a command run in the wrong folder does not quietly make
    an empty database there; pending migrations are applied first, and the secret key must be
    the database's (``check_keys``; only ``keys rotate`` works with a key the database does not
    know yet)."""
    from membership.db import close_database, open_database

    if not setup and not (config_path().exists() or _DEPLOYMENT_ENV & set(os.environ)):
        raise NotConfigured(
            what=str(config_path()),
            hint="no deployment in this folder: run `membership init`, or run from the deployment's folder",
        )

    async def main() -> T:
        current = settings or load_settings()
        await open_database(current)
        try:
            if not setup:
                await _migrate_quietly(check_keys)
            return await work(current)
        finally:
            await close_database()

    return asyncio.run(main())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def _migrate_quietly(check_keys: bool = True) -> list[str]:
    """Apply pending migrations; then refuse a secret key that is not the database's."""
    from membership.db.migrate import migrate
    from membership.members.keyring import check_keys as check

    applied = await migrate()
    if check_keys:
        await check()
    return applied


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"membership {__version__}")


@app.command()
def init(
    database_url: Annotated[str, typer.Option(help="sqlite:///FILE or postgresql://…")] = DEFAULT_DATABASE_URL,
    merchant: Annotated[str | None, typer.Option(help="The business's name (商户), e.g. 悦享咖啡")] = None,
    program: Annotated[str | None, typer.Option(help="The program's name (会员方案), e.g. 悦享会员")] = None,
    currency: Annotated[str, typer.Option(help="ISO currency code")] = "CNY",
    time_zone: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Shanghai",
    store_code: Annotated[str | None, typer.Option(help="The first store's code, e.g. SH01")] = None,
    store_name: Annotated[str | None, typer.Option(help="The first store's name, e.g. 南京西路店")] = None,
    city: Annotated[str, typer.Option(help="The first store's city")] = "",
    no_input: Annotated[bool, typer.Option("--no-input", help="Ask nothing: take the options as given")] = False,
) -> None:
    """Create membership.toml (with a fresh secret key) and the database in this folder, then the
    business: merchant, program and first store (asked for, or given as options for scripts)."""
    from membership.org.cli import set_up_business

    path = config_path()
    if path.exists():
        console.print(f"[yellow]{path} exists; keeping it.[/]")
    else:
        write_config(path, database_url)
        console.print(f"Wrote {path} (keep its secret_key safe and backed up).")
    applied = _run(lambda s: _migrate_quietly(), setup=True)
    console.print(f"Database ready: {len(applied)} migrations applied.")
    if _run(lambda s: _has_merchant(), setup=True):
        return
    ask = not no_input and sys.stdin.isatty()
    if ask:
        merchant = merchant or typer.prompt("商户名称 Business name")
        program = program or typer.prompt("会员方案名称 Program name", default=f"{merchant}会员")
        currency = typer.prompt("币种 Currency", default=currency)
        time_zone = typer.prompt("时区 Time zone", default=time_zone)
        store_code = store_code or typer.prompt("第一家门店编码 First store's code", default="S01")
        store_name = store_name or typer.prompt("第一家门店名称 First store's name", default=f"{merchant}总店")
    if not merchant:
        if _invoked_as("init"):  # demo and serve --demo set their own business up next
            _print_setup_link(_base_url("127.0.0.1", 8000), setup=True)
            console.print("Or set it up here: `membership init --merchant NAME` (or `merchant create`).")
        return
    created, _ = _run(
        lambda s: set_up_business(
            merchant,
            program or f"{merchant}会员",
            currency,
            time_zone,
            store_code or "S01",
            store_name or f"{merchant}总店",
            city,
        ),
        setup=True,
    )
    console.print(f"商户 merchant {merchant}, 会员方案 program {created.name}, 门店 store {store_code or 'S01'}.")
    console.print("Next: `membership staff create boss --role owner`, then `membership serve`.")


async def _has_merchant() -> bool:
    from membership.org.service import list_merchants

    return bool(await list_merchants())


def _invoked_as(command: str) -> bool:
    """Whether the command line names ``command`` (init also runs inside demo and serve --demo)."""
    return next((word for word in sys.argv[1:] if not word.startswith("-")), None) == command


def _base_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches the server at (as serve prints it)."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def _print_setup_link(base: str, setup: bool = False) -> None:
    """Issue a one-time setup token and print the wizard's link (``SetupDone`` once a business
    exists)."""
    from membership.org.setup_token import LIFETIME, issue_setup_token, setup_link

    link = setup_link(base, _run(lambda s: issue_setup_token(), setup=setup))
    hours = int(LIFETIME.total_seconds() // 3600)
    console.print(f"还没有商户。用浏览器打开下面的链接完成设置（{hours} 小时内有效，只能用一次）：")
    console.print(f"No business yet: open this link to set it up in the browser (valid {hours} hours, once):")
    console.print(Text(link, style="bold green"), soft_wrap=True)
    console.print("The server must be running (`membership serve`); `membership setup-link` prints a new link.")


@app.command("setup-link")
def setup_link_command(
    host: Annotated[str, typer.Option(help="The address the server listens on (as for serve)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The server's port (as for serve)")] = 8000,
    url: Annotated[
        str | None, typer.Option(help="The server's public address instead, e.g. https://vip.example.com")
    ] = None,
) -> None:
    """Print a fresh one-time link to set the business up in the browser (首次设置), valid for 24
    hours and for one setup, while no business exists; earlier links stay valid until they expire."""
    _print_setup_link(url.rstrip("/") if url else _base_url(host, port))


@app.command()
def migrate() -> None:
    """Apply the kernel's and plugins' pending migrations."""
    applied = _run(lambda s: _migrate_quietly(), setup=True)
    for name in applied:
        console.print(f"  applied {name}")
    console.print(f"{len(applied)} migrations applied; the schema is current.")


def _ensure_config() -> None:
    """A first run in an empty folder writes membership.toml (the demo needs a secret key)."""
    if not config_path().exists() and "MEMBERSHIP_SECRET_KEY" not in os.environ:
        init(DEFAULT_DATABASE_URL)


async def _fill_demo(members: int, purchases: int, seed: int, industry: str | None = None) -> Any:
    """Migrate, add the demo data unless a program exists (a pack's business with ``industry``);
    returns the demo program."""
    from membership.demo.service import create_demo, existing_demo

    await _migrate_quietly()
    program = await existing_demo()
    if program is not None:
        console.print(f"[yellow]The database already has a program ({program.name}); demo data not added again.[/]")
        return program
    with _progress() as progress:
        task = progress.add_task("生成演示数据 demo data", total=members + purchases)
        summary = await create_demo(
            members, purchases, seed, step=lambda n: progress.advance(task, n), industry=industry
        )
    console.print(
        f"Created {summary.members} members, {summary.purchases} purchases, {summary.top_ups} top-ups, "
        f"{summary.redemptions} redemptions, {summary.refunds} refunds in {len(summary.store_ids)} stores."
    )
    return await existing_demo()


@app.command()
def demo(
    members: Annotated[int, typer.Option(min=1, max=100_000, help="How many members")] = 300,
    purchases: Annotated[int, typer.Option(min=0, max=1_000_000, help="How many purchases")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same names)")] = 20261123,
    industry: Annotated[str | None, typer.Option(help="An installed industry pack: retail, catering…")] = None,
) -> None:
    """Fill the database with a demo chain: stores, members, a year of purchases (a pack's
    business, with the pack switched on, with --industry)."""
    _ensure_config()

    async def work(settings: Settings) -> Any:
        await _print_summary(await _fill_demo(members, purchases, seed, industry))

    _run(work, setup=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    with_demo: Annotated[
        bool, typer.Option("--demo", help="On an empty database: init, demo data and a demo API key")
    ] = False,
    industry: Annotated[
        str | None, typer.Option(help="With --demo: an installed industry pack's business (retail, catering…)")
    ] = None,
) -> None:
    """Run the API server (uvicorn); migrations are applied first."""
    import uvicorn

    if with_demo:
        _ensure_config()

    async def prepare(settings: Settings) -> tuple[str, str] | None:
        if not with_demo:
            return None  # migrated by _run
        program = await _fill_demo(300, 3000, 20261123, industry)
        return await _demo_key(program), await _demo_staff(program)

    demo_access = _run(prepare, setup=with_demo)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(Text.assemble(("后台 console:   ", "bold"), f"{base}/console"))
    console.print(Text.assemble(("API 文档 docs:  ", "bold"), f"{base}/schema"))
    console.print(Text.assemble(("API:           ", "bold"), f"{base}/api/v1"))
    if demo_access:
        secret, password = demo_access
        console.print(Text.assemble(("演示账号 demo login: ", "bold"), "demo / ", (password, "green")))
        console.print(Text.assemble(("演示密钥 demo API key: ", "bold"), (secret, "green")))
        console.print(f'  curl -H "Authorization: Bearer {secret}" {base}/api/v1/members')
    elif not _run(lambda s: _has_merchant()):  # a shop owner's first start: the wizard's link
        _print_setup_link(base)
    uvicorn.run("membership.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


async def _demo_key(program: Any) -> str:
    """A fresh demo key (admin, for trying every endpoint); earlier demo keys are revoked."""
    from membership.access.service import create_api_key, list_api_keys, revoke_api_key

    for key in await list_api_keys():
        if key["name"] == "demo" and key["revoked_at"] is None:
            await revoke_api_key(key["prefix"])
    created = await create_api_key("demo", ["read", "pos", "admin"], merchant_id=program.merchant_id)
    return created.secret


async def _demo_staff(program: Any) -> str:
    """The console's demo owner ``demo`` with a fresh password (printed, like the demo key)."""
    import secrets

    from membership.db import fetch_one
    from membership.staff.service import create_staff, set_password

    password = secrets.token_urlsafe(9)
    if await fetch_one("SELECT id FROM staff WHERE username = 'demo'"):
        await set_password("demo", password)
    else:
        await create_staff("demo", password, "owner", program.merchant_id, display_name="演示老板")
    return password


async def _print_summary(program: Any) -> None:
    from membership.plugins import hooks

    reports = hooks().reports()
    table = Table(title=f"{program.name} — 概况 summary")
    table.add_column("指标 metric")
    table.add_column("值 value", justify="right")
    summary = (await reports["members_summary"]().run(program.id, {})).as_dicts()[0]
    table.add_row("会员 members", str(summary["members"]))
    table.add_row("近30天新会员 new (30 days)", str(summary["new_members"]))
    table.add_row("近30天活跃 active (30 days)", str(summary["active_members"]))
    for row in (await reports["points_liability"]().run(program.id, {})).as_dicts():
        held = f"{row['points']:,}" if row["points"] is not None else f"¥{row['amount'] / 100:,.2f}"
        table.add_row(f"余额 balance: {row['account']}", held)
    sales = (await reports["sales_by_month"]().run(program.id, {})).as_dicts()
    table.add_row("月份 months with sales", str(len(sales)))
    table.add_row("销售额 revenue (¥)", f"{sum(r['revenue'] for r in sales) / 100:,.2f}")
    console.print(table)


@plugins_app.command("list")
def plugins_list() -> None:
    """Show every loaded plugin: name, version and the hooks it implements."""
    from membership.plugins import hooks

    table = Table(title="plugins")
    for column in ("name", "source", "version", "hooks"):
        table.add_column(column)
    for info in hooks().plugins():
        table.add_row(
            info.name, info.source, info.version, ", ".join(h.removeprefix("membership_") for h in info.hooks)
        )
    console.print(table)


@jobs_app.command("list")
def jobs_list() -> None:
    """Show the registered jobs, their schedules and their last runs."""
    from membership.jobs.runner import latest_runs
    from membership.plugins import hooks

    async def work(settings: Settings) -> Any:
        latest = await latest_runs()
        zone = ZoneInfo(settings.time_zone)
        table = Table(title="jobs 定时任务")
        table.add_column("name", no_wrap=True)  # whole, to copy into `jobs run` (other columns wrap)
        for column in ("schedule", "last run", "as of", "result", "description"):
            table.add_column(column)
        for name, job in sorted(hooks().jobs().items()):
            run = latest.get(name)
            when = run["started_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M") if run else "—"
            as_of = run["as_of"].astimezone(zone).strftime("%Y-%m-%d %H:%M") if run and run["as_of"] else "—"
            outcome = (run["error"] or run["summary"]) if run else ""
            table.add_row(name, job.schedule or "by hand", when, as_of, outcome, job.description)
        console.print(table)

    _run(work)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="Job name, e.g. expire-points")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Run as of this time instead of now, e.g. 2027-01-01T00:00 (the deployment's time zone"
            " unless it has an offset): catch up after downtime, or try a year of rules in seconds",
        ),
    ] = None,
) -> None:
    """Run one job now (or as of --at), with a progress bar (not while another worker runs it)."""
    from membership.jobs.clock import describe_as_of, parse_as_of
    from membership.jobs.runner import run_job
    from membership.plugins import hooks

    async def work(settings: Settings) -> Any:
        if name not in hooks().jobs():  # before the progress bar is drawn
            raise JobNotFound(name=name, known=", ".join(sorted(hooks().jobs())))
        as_of = parse_as_of(at, settings.time_zone) if at is not None else None
        if as_of is not None:
            console.print(f"{name}: {describe_as_of(as_of, settings.time_zone)}")
        with _progress() as progress:
            task = progress.add_task(name, total=None)
            outcome = await run_job(
                name, lambda done, total: progress.update(task, completed=done, total=total), as_of=as_of
            )
        if outcome.result is None:
            console.print(f"{name}: 正在由 {outcome.held_by} 运行，未重复运行 / already running on {outcome.held_by}")
            raise typer.Exit(3)
        console.print(outcome.result.summary)

    _run(work)


@jobs_app.command("tick")
def jobs_tick() -> None:
    """Run every scheduled job whose time has come and has not run yet (what `serve` does every
    half minute; for deployments that drive jobs from cron instead)."""
    from membership.jobs.scheduler import tick

    async def work(settings: Settings) -> Any:
        for outcome in await tick(settings.time_zone):
            if outcome.result:
                console.print(f"{outcome.name}: {outcome.result.summary}")
            elif outcome.held_by:
                console.print(f"{outcome.name}: running on {outcome.held_by}")

    _run(work)


async def _resolve_binding(merchant: str | None, store: str | None) -> tuple[Any, Any]:
    """Merchant and store ids from ids, names or store codes."""
    from membership.org.service import find_merchant, find_store

    merchant_id = await find_merchant(merchant) if merchant is not None else None
    store_id = (await find_store(store, merchant_id))["id"] if store is not None else None
    return merchant_id, store_id


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Option(help="Who uses it, e.g. till-1")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, pos, admin")] = "pos",
    merchant: Annotated[str | None, typer.Option(help="Merchant id or name the key is bound to")] = None,
    store: Annotated[str | None, typer.Option(help="Store id or code the key is bound to")] = None,
    rate_limit: Annotated[int, typer.Option(min=1, max=100_000, help="Requests per second")] = 100,
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    from membership.access.service import create_api_key

    async def work(settings: Settings) -> Any:
        merchant_id, store_id = await _resolve_binding(merchant, store)
        if merchant_id is None and store_id is None:
            from membership.db import fetch

            merchants = await fetch("SELECT id FROM merchant")
            if len(merchants) == 1 and "admin" not in scopes.split(","):
                merchant_id = merchants[0]["id"]
        return await create_api_key(name, scopes.split(","), merchant_id, store_id, rate_limit)

    created = _run(work)
    console.print(Text.assemble("API key ", (created.info.name, "bold"), " (shown once, keep it safe):"))
    console.print(Text(created.secret, style="green"), soft_wrap=True)
    console.print(f"scopes: {', '.join(sorted(created.info.scopes))}")


@api_key_app.command("list")
def api_key_list() -> None:
    """Show the API keys (never their secrets)."""
    from membership.access.service import list_api_keys

    table = Table(title="API keys")
    for column in ("prefix", "name", "scopes", "merchant", "store", "rate/s", "created", "revoked"):
        table.add_column(column)
    for key in _run(lambda s: list_api_keys()):
        table.add_row(
            key["prefix"],
            key["name"],
            ",".join(key["scopes"]),
            key["merchant"] or "*",
            key["store"] or "*",
            str(key["rate_limit"]),
            f"{key['created_at']:%Y-%m-%d %H:%M}",
            f"{key['revoked_at']:%Y-%m-%d %H:%M}" if key["revoked_at"] else "",
        )
    console.print(table)


@api_key_app.command("revoke")
def api_key_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (see `api-key list`)")]) -> None:
    """Revoke a key; requests with it are refused from now on."""
    from membership.access.service import revoke_api_key

    _run(lambda s: revoke_api_key(prefix))
    console.print(f"Revoked {prefix}.")


@staff_app.command("create")
def staff_create(
    username: Annotated[str, typer.Argument(help="Login name, e.g. wang.fang")],
    role: Annotated[str, typer.Option(help="owner, manager, clerk or analyst")],
    merchant: Annotated[str | None, typer.Option(help="Merchant id or name (default: the only one)")] = None,
    store: Annotated[str | None, typer.Option(help="Store id or code a clerk works at")] = None,
    name: Annotated[str, typer.Option(help="Name shown in the console (default: the login name)")] = "",
    language: Annotated[str, typer.Option(help="zh_CN or en")] = "zh_CN",
    password: Annotated[
        str | None, typer.Option(help="The password (default: asked for, hidden)", show_default=False)
    ] = None,
) -> None:
    """Create a console account; the password is asked for unless given."""
    from membership.staff.service import check_password, create_staff

    if password is None:
        password = typer.prompt("Password 密码", hide_input=True, confirmation_prompt=True)
    check_password(password)

    async def work(settings: Settings) -> Any:
        merchant_id, store_id = await _resolve_binding(merchant, store)
        return await create_staff(username, password, role, merchant_id, store_id, name, language)

    created = _run(work)
    console.print(f"Staff {created.username} ({created.role}) can log in at /console.")


@staff_app.command("list")
def staff_list(
    merchant: Annotated[str | None, typer.Option(help="Merchant id or name (default: the only one)")] = None,
) -> None:
    """Show a merchant's console accounts."""
    from membership.staff.service import list_staff, merchant_of

    async def work(settings: Settings) -> Any:
        merchant_id, _ = await _resolve_binding(merchant, None)
        return await list_staff(await merchant_of(merchant_id, None))

    table = Table(title="staff 员工")
    for column in ("username", "name", "role", "store", "language", "created", "disabled"):
        table.add_column(column)
    for row in _run(work):
        table.add_row(
            row["username"],
            row["display_name"],
            row["role"],
            row["store"] or "*",
            row["language"],
            f"{row['created_at']:%Y-%m-%d %H:%M}",
            f"{row['disabled_at']:%Y-%m-%d %H:%M}" if row["disabled_at"] else "",
        )
    console.print(table)


@staff_app.command("unlock")
def staff_unlock(username: Annotated[str, typer.Argument(help="Login name of the account to unlock")]) -> None:
    """Unlock an account (解锁): forget its failed logins and the waits they set, also for the
    addresses they came from, so it logs in at once; the audit log records it."""
    from membership.staff.service import unlock_staff

    addresses = _run(lambda settings: unlock_staff(username, actor="cli"))
    where = f" (waits cleared for {', '.join(addresses)})" if addresses else " (it had no failed logins)"
    console.print(f"Unlocked {username}{where}. 已解锁。")


@reader_app.command("list")
def reader_list() -> None:
    """Show the reader drivers plugins registered, their serial settings and options."""
    from membership.plugins import hooks

    table = Table(title="reader drivers 读卡器驱动")
    for column in ("name", "serial", "description", "options (--option key=value)"):
        table.add_column(column)
    for name, driver in sorted(hooks().reader_drivers().items()):
        line = driver.serial
        table.add_row(
            name,
            f"{line.baudrate} {line.bytesize}{line.parity}{line.stopbits:g}",
            driver.description,
            "\n".join(f"{key}: {text}" for key, text in driver.options.items()),
        )
    if not table.row_count:
        console.print("No reader drivers: pip install membership-readers-serial")
        return
    console.print(table)


def _driver_options(pairs: list[str]) -> dict[str, str]:
    from membership.errors import Reason, ValidationError

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                field="option", reason=Reason(f"{pair!r} is not key=value", f"{pair!r} 不是 key=value 格式")
            )
        options[key.strip()] = value
    return options


async def _program_at(program: str | None, store_id: Any) -> Any:
    """The program a counter works for: the one named, else the only one of the store's merchant."""
    from membership.db import fetch_one
    from membership.errors import ProgramNotFound, Reason, ValidationError
    from membership.org.service import list_programs

    programs = await list_programs()
    if store_id is not None:
        merchant = (await fetch_one("SELECT merchant_id FROM store WHERE id = {}", store_id))["merchant_id"]
        programs = [p for p in programs if p.merchant_id == merchant]
    if program is not None:
        programs = [p for p in programs if program in (str(p.id), p.name)]
    if len(programs) > 1:
        raise ValidationError(
            field="program",
            reason=Reason("several programs: name one with --program", "有多个会员方案：请用 --program 指定一个"),
        )
    if not programs:
        raise ProgramNotFound(program_id=program or "-")
    return programs[0]


@reader_app.command("listen")
def reader_listen(
    driver: Annotated[str, typer.Option(help="Driver name (see `membership reader list`)")],
    port: Annotated[str, typer.Option(help="/dev/ttyUSB0, COM3, socket://HOST:PORT (serial server) or loop://")],
    store: Annotated[str | None, typer.Option(help="Store id or code of this counter")] = None,
    program: Annotated[str | None, typer.Option(help="Program id or name (when the merchant has several)")] = None,
    baud: Annotated[int | None, typer.Option(min=300, max=4_000_000, help="Override the driver's baud rate")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Driver option key=value")] = None,
    station: Annotated[str | None, typer.Option(help="Name of this reader on counter screens")] = None,
) -> None:
    """Read cards at a counter: identify each one, print a line, publish it to counter screens.

    Runs until Ctrl-C; reconnects when the reader is unplugged."""
    import dataclasses
    import signal

    from membership.readers.listener import PortStatus, listen
    from membership.readers.service import driver_class, record_read

    driver_type = driver_class(driver)
    instance = driver_type(**_driver_options(option or []))
    serial_settings = dataclasses.replace(driver_type.serial, baudrate=baud) if baud else driver_type.serial
    name = station or f"{store or '-'} {port}"
    language = os.environ.get("MEMBERSHIP_LANGUAGE", "zh")

    async def work(settings: Settings) -> None:
        _, store_id = await _resolve_binding(None, store)
        chosen = await _program_at(program, store_id)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        err.print(f"{chosen.name}: listening on {port} with {driver} ({serial_settings.baudrate} baud); Ctrl-C stops")

        async def handle(event: Any) -> None:
            if isinstance(event, PortStatus):
                style = "green" if event.state == "connected" else "red"
                err.print(Text(f"reader {event.state} {event.reason}".rstrip(), style=style))
                return
            try:
                read = await record_read(chosen.id, store_id, name, driver, event)
            except MembershipError as exc:
                err.print(Text(f"错误 error [{exc.code}] {exc.detail(language)}"), style="red")
                return
            value = getattr(event, "value", "")
            who = {"member": read.member_no, "unknown": "unknown", "refused": f"refused {read.message}"}
            at = read.occurred_at.astimezone(chosen.zone).isoformat(timespec="seconds")
            if read.outcome == "fault":
                print(f"{at} fault {read.message} [{read.detail}]", flush=True)
            else:
                print(f"{at} {read.kind} {value} {who[read.outcome]}", flush=True)

        await listen(port, instance, handle, stop, serial_settings)

    _run(work)


def _deployment() -> Settings:
    """The settings of the deployment in this folder, refused as ``_run`` refuses, without opening
    (or migrating) its database: a backup taken before an upgrade must copy the old schema."""
    if not (config_path().exists() or _DEPLOYMENT_ENV & set(os.environ)):
        raise NotConfigured(
            what=str(config_path()),
            hint="no deployment in this folder: run `membership init`, or run from the deployment's folder",
        )
    return load_settings()


@app.command()
def backup(
    path: Annotated[
        str | None,
        typer.Argument(help="File to write (default: membership-YYYYMMDD-HHMM.db or .dump here)", show_default=False),
    ] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Check the backup once written")] = True,
) -> None:
    """Back the database up (备份) while the server keeps running, then check the backup: its
    integrity, the ledger invariants (balances equal their entries, postings sum to zero) and that
    personal data opens with the secret key.

    SQLite: SQLite's online backup API, page by page, on one snapshot; tills keep committing.
    PostgreSQL: pg_dump, custom format; checked in a scratch database (the user needs CREATEDB).
    Check a backup again: membership restore --verify-only FILE
    Personal data stays encrypted; the secret key (membership.toml) is NOT in the backup: keep it apart.
    """
    from pathlib import Path

    from rich.filesize import decimal

    from membership.backup import backup as take_backup
    from membership.backup import backup_target, verify_backup

    settings = _deployment()
    target = backup_target(settings, Path(path) if path else None)  # refusals come before the bar
    with _progress() as progress:
        task = progress.add_task("备份 backup", total=None)
        done = asyncio.run(
            take_backup(
                settings,
                target,
                verify=False,
                progress=lambda copied, total: progress.update(task, completed=copied, total=total),
            )
        )
    if verify:
        console.print(asyncio.run(verify_backup(settings, done.path)).summary())
    console.print(f"备份 backup: {done.path} ({decimal(done.size)}, {done.seconds:.1f} s)")


@app.command()
def restore(
    file: Annotated[str, typer.Argument(help="A backup made by `membership backup` (.db or .dump)")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data")] = False,
    verify_only: Annotated[bool, typer.Option("--verify-only", help="Only check FILE; change nothing")] = False,
) -> None:
    """Restore a backup (恢复) into the configured database and check it, or (--verify-only) only
    check a backup: its integrity, the ledger invariants, and that personal data opens with this
    deployment's secret key (it must be the key the backup was made with).

    A database that already holds data is replaced only with --force.
    SQLite: stop the server first (one in use is refused); a copy is checked, then renamed into place.
    PostgreSQL: pg_restore --clean --if-exists in one transaction, checked afterwards.
    """
    from pathlib import Path

    from membership.backup import check_restore, verify_backup
    from membership.backup import restore as restore_backup

    if verify_only:  # a SQLite file needs no deployment; a deployment's secret key is checked too
        console.print(asyncio.run(verify_backup(load_settings(), Path(file))).summary())
        return
    settings = _deployment()
    asyncio.run(check_restore(settings, Path(file), force))  # refusals come before the bar
    with _progress() as progress:
        task = progress.add_task("恢复 restore", total=None)
        verified = asyncio.run(
            restore_backup(
                settings,
                Path(file),
                force,
                progress=lambda copied, total: progress.update(task, completed=copied, total=total),
            )
        )
    console.print(verified.summary())
    console.print(f"恢复 restored: {file} → {verified.file}")


keys_app = typer.Typer(
    help="The secret key that seals personal data (密钥): status and rotation.", no_args_is_help=True
)
member_app = typer.Typer(
    help="A member's personal-data rights (export, erasure: 个人信息权利) and member merges (会员合并).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
app.add_typer(member_app, name="member")


@keys_app.command("status")
def keys_status() -> None:
    """The keys this database knows by fingerprint, and whether a rotation is under way."""
    from membership.members.keyring import known_keys
    from membership.members.rotation import rotation_state

    async def work(settings: Settings) -> None:
        table = Table(title="密钥 keys")
        for column in ("指纹 fingerprint", "状态 state", "启用 since", "停用 retired"):
            table.add_column(column)
        for key in await known_keys():
            retired = key["retired_at"].isoformat(timespec="seconds") if key["retired_at"] else ""
            table.add_row(key["fingerprint"], key["state"], key["created_at"].isoformat(timespec="seconds"), retired)
        console.print(table)
        state = await rotation_state()
        if state.retiring:
            console.print(
                f"轮换进行中 rotation under way: {state.remaining} members left; run `membership keys rotate`"
            )

    _run(work)


def _rewrite_config_keys(path: Any, current: str, old: list[str]) -> None:
    """Set ``secret_key`` and ``old_secret_keys`` in membership.toml, keeping the rest as it is."""
    import re

    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^old_secret_keys\s*=.*\n", "", text)
    listed = ", ".join(f'"{key}"' for key in old)
    replacement = f'secret_key = "{current}"\n' + (f"old_secret_keys = [{listed}]\n" if old else "")
    text, found = re.subn(r"(?m)^secret_key\s*=.*\n", lambda _: replacement, text)
    if not found:
        raise NotConfigured(what=str(path), hint="it has no secret_key line to replace")
    path.write_text(text, encoding="utf-8")


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        str | None, typer.Option(help="The new key (base64url of 32 bytes); default: a fresh random one")
    ] = None,
    chunk: Annotated[int, typer.Option(min=10, max=10_000, help="Members re-sealed per transaction")] = 500,
) -> None:
    """Move all personal data to a new secret key (换密钥), resumable; the old key keeps working
    until it ends. With the key in membership.toml, it writes the new one there (the old one under
    old_secret_keys), then re-seals every member; run it again after an interruption to carry on.
    Restart the servers with the new file as soon as it starts: they need both keys meanwhile."""
    from membership.config import decode_key, new_secret_key
    from membership.members.rotation import rotate

    settings = load_settings()
    path = config_path()
    from_file = path.exists() and "MEMBERSHIP_SECRET_KEY" not in os.environ
    if not settings.old_secret_keys:  # not begun: choose the new key and keep it before anything else
        settings.master_key()
        fresh = new_key or new_secret_key()
        decode_key("new_key", fresh)
        if not from_file:
            raise NotConfigured(
                what="MEMBERSHIP_SECRET_KEY",
                hint="the key comes from the environment: set MEMBERSHIP_SECRET_KEY to the new key and"
                " MEMBERSHIP_OLD_SECRET_KEYS to the old one in every process, then run this again",
            )
        _rewrite_config_keys(path, fresh, [settings.secret_key or ""])
        console.print(
            f"新密钥已写入 new key written to {path}; back it up now. The old key stays under old_secret_keys."
        )
        settings = load_settings()

    def run_rotation(current: Settings) -> Any:
        async def work(_: Settings) -> Any:
            with _progress() as progress:
                task = progress.add_task("重新加密 re-sealing", total=None)
                return await rotate(lambda done, total: progress.update(task, completed=done, total=total), chunk)

        return _run(work, current, check_keys=False)

    state = run_rotation(settings)
    console.print(f"完成 done: personal data is sealed under key {state.current}; the old key is retired.")
    if from_file:
        _rewrite_config_keys(path, settings.secret_key or "", [])
        console.print(f"旧密钥已从 {path} 移除 the old key was removed from {path}.")
    else:
        console.print("MEMBERSHIP_OLD_SECRET_KEYS is no longer needed: remove it.")


def _member_id(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter(f"not a member id: {value!r}") from None


@member_app.command("export")
def member_export(
    member: Annotated[str, typer.Argument(help="The member's id")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="File to write (default: standard output)")] = None,
) -> None:
    """Everything held about a member, as JSON (个人信息副本, on the member's request); audited."""
    from membership.members.rights import export_json, export_member

    member_id = _member_id(member)
    data = _run(lambda s: export_member(member_id, actor="cli"))
    text = export_json(data)
    if out:
        from pathlib import Path

        Path(out).write_text(text, encoding="utf-8")
        Path(out).chmod(0o600)
        err.print(f"已导出 exported to {out}")
    else:
        sys.stdout.write(text + "\n")


@member_app.command("erase")
def member_erase(
    member: Annotated[str, typer.Argument(help="The member's id")],
    reason: Annotated[str, typer.Option(help="Why (e.g. 本人申请注销)")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase a member's personal data (注销): it cannot be undone. Amounts stay in the ledger."""
    from membership.members.rights import erase_member

    member_id = _member_id(member)
    if not yes and not typer.confirm(f"注销会员 {member_id}？此操作不可撤销 / erase, cannot be undone?"):
        raise typer.Exit(1)
    _run(lambda s: erase_member(member_id, actor="cli", reason=reason))
    console.print(f"已注销 erased: {member_id}")


@member_app.command("merge")
def member_merge(
    survivor: Annotated[str, typer.Argument(help="The id of the member who stays")],
    merged: Annotated[list[str], typer.Argument(help="The ids of the members merged into it")],
    reason: Annotated[str, typer.Option(help="Why (e.g. 同一顾客办了两张卡)")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Merge members into one (会员合并): cards, points and stored value with their expiry, sales,
    coupons and tier history move to the survivor; audited. Undo within a day with undo-merge."""
    from membership.members.merge import merge_members

    survivor_id, merged_ids = _member_id(survivor), [_member_id(m) for m in merged]
    if not yes and not typer.confirm(f"把 {len(merged_ids)} 位会员合并到 {survivor_id}？/ merge into it?"):
        raise typer.Exit(1)
    result = _run(lambda s: merge_members(survivor_id, merged_ids, reason, actor="cli"))
    console.print(
        f"已合并 merged {len(result.merged)} → {result.survivor_id}: {result.balances.points} 积分 points;"
        f" merge {result.id}, 可撤销至 undo until {result.undo_until.isoformat(timespec='minutes')}"
    )


@member_app.command("undo-merge")
def member_undo_merge(
    merge: Annotated[str, typer.Argument(help="The merge's id (printed by merge)")],
    reason: Annotated[str, typer.Option(help="Why it is undone")],
) -> None:
    """Undo a member merge within a day of it: every member gets back what they brought."""
    import uuid

    from membership.members.merge import undo_merge

    try:
        merge_id = uuid.UUID(merge)
    except ValueError:
        raise typer.BadParameter(f"not a merge id: {merge!r}") from None
    result = _run(lambda s: undo_merge(merge_id, reason, actor="cli"))
    console.print(f"已撤销合并 undone: {', '.join(str(m) for m in result.merged)} are members of their own again")


import_app = typer.Typer(help="Bring members in from a CSV or Excel file (导入).", no_args_is_help=True)
export_app = typer.Typer(
    help="Members, the ledger and sales as CSV or Excel files (导出); every export is audited.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


@import_app.command("members")
def import_members(
    file: Annotated[str, typer.Argument(help="A .csv or .xlsx file: a header row, then a member a row")],
    program: Annotated[str | None, typer.Option(help="Program id or name (when there are several)")] = None,
    map_: Annotated[
        str | None, typer.Option("--map", help='Columns by hand: "手机=phone,姓名=name,备注=" (empty: leave out)')
    ] = None,
    errors: Annotated[
        str | None, typer.Option("--errors", help="Where the rows left out go (default: FILE.errors.csv)")
    ] = None,
    store: Annotated[str | None, typer.Option(help="Store id or code members joined at (unless a row says)")] = None,
    card_kind: Annotated[
        str, typer.Option(help="The kind of the card numbers: card_uid, magstripe, barcode or a plugin's kind")
    ] = "card_uid",
) -> None:
    """Import members (会员导入): phone, name, gender, birthday (solar, or lunar with 农历), tags,
    card numbers, opening points, stored value (yuan) and growth, tier.

    Headers are recognised in Chinese or English (手机/手机号/phone, 姓名/name, 性别, 生日, 历法,
    标签, 卡号/card, 积分/points, 储值/stored value, 成长值/growth, 等级/tier, 邮箱, 证件号, 地址,
    门店, 入会时间); --map changes what they say. Duplicates (same phone or card, in the file or
    already members) and bad rows go to the error file with the row number and why; the good rows
    still land. Running the same file again adds nothing.
    """
    from decimal import Decimal
    from pathlib import Path

    from membership.transfer import columns as transfer_columns
    from membership.transfer.importing import default_error_file, read_headers
    from membership.transfer.importing import import_members as run_import

    path = Path(file)
    explicit = transfer_columns.parse_map(map_) if map_ else None
    headers = read_headers(path)  # refusals (no file, no header, a mapping that cannot work) come before the bar
    mapping = transfer_columns.resolve(headers, explicit)
    errors_to = Path(errors) if errors else None

    async def work(settings: Settings) -> Any:
        from membership.org.service import find_program, find_store

        chosen = await find_program(program)
        store_id = (await find_store(store, chosen.merchant_id))["id"] if store else None
        console.print(f"{chosen.name}: {transfer_columns.describe(mapping, headers)}", soft_wrap=True)
        with _progress() as progress:
            task = progress.add_task("导入 import", total=None)
            return await run_import(
                path,
                chosen.id,
                mapping=explicit,
                errors_to=errors_to,
                store_id=store_id,
                card_kind=card_kind,
                actor="cli",
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )

    summary = _run(work)
    console.print(
        f"导入 imported {summary.imported:,} members of {summary.rows:,} rows in {summary.seconds:.1f} s"
        f" ({summary.cards:,} cards; opening balances: {summary.points:,} points,"
        f" ¥{Decimal(summary.stored_value).scaleb(-2):,.2f} stored value, {summary.growth:,} growth)."
    )
    if summary.left_out:
        console.print(
            f"未导入 left out {summary.left_out:,}: {summary.already_imported:,} already imported,"
            f" {summary.duplicates_in_file:,} duplicates in the file, {summary.errors:,} errors"
            f" → {summary.error_file or errors_to or default_error_file(path)}"
        )
    else:
        console.print("没有错误 no rows left out.")


def _export_command(
    kind: str,
    fmt: str,
    out: str | None,
    reveal: bool,
    header: str,
    program: str | None,
    since: str | None = None,
    until: str | None = None,
) -> None:
    import datetime as dt
    from pathlib import Path

    from membership.errors import Reason, ValidationError
    from membership.transfer.exporting import check_request, export

    check_request(kind, fmt, header)
    days = {}
    for name, text in (("since", since), ("until", until)):
        try:
            days[name] = dt.date.fromisoformat(text) if text else None
        except ValueError:
            reason = Reason("write it as 2026-01-31", "请写成 2026-01-31 的格式")
            raise ValidationError(field=name, reason=reason) from None
    target = Path(out or f"{kind}-{dt.datetime.now():%Y%m%d-%H%M}.{fmt}")

    async def work(settings: Settings) -> Any:
        from membership.org.service import find_program

        chosen = await find_program(program)
        with _progress() as progress:
            task = progress.add_task(f"导出 export {kind}", total=None)
            return await export(
                kind,
                chosen.id,
                target,
                fmt=fmt,
                header=header,
                reveal=reveal,
                actor="cli",
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                **days,
            )

    summary = _run(work)
    shown = "未脱敏 revealed (audited)" if reveal else "已脱敏 masked"
    console.print(f"已导出 exported {summary.rows:,} rows to {target} ({shown}, {summary.seconds:.1f} s).")


_FORMAT = Annotated[str, typer.Option("--format", help="csv or xlsx")]
_OUT = Annotated[str | None, typer.Option("--out", "-o", help="File to write (default: KIND-YYYYMMDD-HHMM.FORMAT)")]
_REVEAL = Annotated[bool, typer.Option("--reveal", help="Personal data unmasked (written to the audit log)")]
_HEADER = Annotated[str, typer.Option(help="zh-en (姓名 name), zh, en, or two-rows (Chinese, then English)")]
_PROGRAM = Annotated[str | None, typer.Option(help="Program id or name (when there are several)")]
_SINCE = Annotated[str | None, typer.Option(help="From this local day (2026-01-01)")]
_UNTIL = Annotated[str | None, typer.Option(help="Through this local day (2026-12-31)")]


@export_app.command("members")
def export_members(
    fmt: _FORMAT = "csv",
    out: _OUT = None,
    reveal: _REVEAL = False,
    header: _HEADER = "zh-en",
    program: _PROGRAM = None,
) -> None:
    """Every member with cards, tier and balances (yuan with two decimals); masked unless --reveal."""
    _export_command("members", fmt, out, reveal, header, program)


@export_app.command("ledger")
def export_ledger(
    fmt: _FORMAT = "csv",
    out: _OUT = None,
    reveal: _REVEAL = False,
    header: _HEADER = "zh-en",
    program: _PROGRAM = None,
    since: _SINCE = None,
    until: _UNTIL = None,
) -> None:
    """Every ledger entry (points, stored value in yuan, growth) with its reason; names masked unless --reveal."""
    _export_command("ledger", fmt, out, reveal, header, program, since, until)


@export_app.command("sales")
def export_sales(
    fmt: _FORMAT = "csv",
    out: _OUT = None,
    reveal: _REVEAL = False,
    header: _HEADER = "zh-en",
    program: _PROGRAM = None,
    since: _SINCE = None,
    until: _UNTIL = None,
) -> None:
    """Every sale: store, receipt, member, amounts in yuan, points; names masked unless --reveal."""
    _export_command("sales", fmt, out, reveal, header, program, since, until)


def main() -> None:
    """Entry point: run the CLI, turning errors into one clear line and a non-zero exit."""
    from membership.plugins import hooks

    language = os.environ.get("MEMBERSHIP_LANGUAGE", "zh")
    try:
        hooks().register_commands(app)
        app()
    except MembershipError as exc:
        err.print(Text.assemble(("错误 error ", "red"), f"[{exc.code}] {exc.detail(language)}"), soft_wrap=True)
        sys.exit(1)
    except (OSError, ConnectionError) as exc:
        err.print(Text.assemble(("错误 error ", "red"), f"{type(exc).__name__}: {exc}"), soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
