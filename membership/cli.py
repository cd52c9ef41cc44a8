"""The ``membership`` command line (Typer)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from membership import __version__
from membership.config import DEFAULT_DATABASE_URL, Settings, config_path, load_settings, write_config
from membership.errors import MembershipError

app = typer.Typer(
    name="membership",
    help="membership — 会员管理: members, cards, tiers, points, stored value.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(help="Loaded plugins.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs (run one by hand).", no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
app.add_typer(jobs_app, name="jobs")

console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[Settings], Awaitable[T]], settings: Settings | None = None) -> T:
    """Open the database of the current settings, run ``work``, close it."""
    from membership.db import close_database, open_database

    async def main() -> T:
        current = settings or load_settings()
        await open_database(current)
        try:
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


async def _migrate_quietly() -> list[str]:
    from membership.db.migrate import migrate

    return await migrate()


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"membership {__version__}")


@app.command()
def init(
    database_url: Annotated[str, typer.Option(help="sqlite:///FILE or postgresql://…")] = DEFAULT_DATABASE_URL,
) -> None:
    """Create membership.toml (with a fresh secret key) and the database in this folder."""
    path = config_path()
    if path.exists():
        console.print(f"[yellow]{path} exists; keeping it.[/]")
    else:
        write_config(path, database_url)
        console.print(f"Wrote {path} (keep its secret_key safe and backed up).")
    applied = _run(lambda s: _migrate_quietly())
    console.print(f"Database ready: {len(applied)} migrations applied.")


@app.command()
def migrate() -> None:
    """Apply the kernel's and plugins' pending migrations."""
    applied = _run(lambda s: _migrate_quietly())
    for name in applied:
        console.print(f"  applied {name}")
    console.print(f"{len(applied)} migrations applied; the schema is current.")


@app.command()
def demo(
    members: Annotated[int, typer.Option(min=1, max=100_000, help="How many members")] = 300,
    purchases: Annotated[int, typer.Option(min=0, max=1_000_000, help="How many purchases")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same names)")] = 20261123,
) -> None:
    """Fill the database with a demo chain: 3 stores, members, a year of purchases."""
    if not config_path().exists() and "MEMBERSHIP_SECRET_KEY" not in os.environ:
        init(DEFAULT_DATABASE_URL)

    async def work(settings: Settings) -> Any:
        from membership.demo.service import create_demo, existing_demo

        await _migrate_quietly()
        program = await existing_demo()
        if program is not None:
            console.print(f"[yellow]The database already has a program ({program.name}); demo data not added again.[/]")
        else:
            with _progress() as progress:
                task = progress.add_task("生成演示数据 demo data", total=members + purchases)
                summary = await create_demo(members, purchases, seed, step=lambda n: progress.advance(task, n))
            console.print(
                f"Created {summary.members} members, {summary.purchases} purchases, {summary.top_ups} top-ups, "
                f"{summary.redemptions} redemptions, {summary.refunds} refunds in 3 stores."
            )
        await _print_summary(program or (await existing_demo()))

    _run(work)


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
        table.add_row(f"余额 balance: {row['account']}", f"{row['total']:,}")
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
    """Show the registered jobs."""
    from membership.plugins import hooks

    for name, job in sorted(hooks().jobs().items()):
        console.print(f"{name:28} {job.description}")


@jobs_app.command("run")
def jobs_run(name: Annotated[str, typer.Argument(help="Job name, e.g. expire-points")]) -> None:
    """Run one job now, with a progress bar."""
    from membership.errors import JobNotFound
    from membership.plugins import hooks

    jobs = hooks().jobs()
    if name not in jobs:
        raise JobNotFound(name=name, known=", ".join(sorted(jobs)))

    async def work(settings: Settings) -> Any:
        with _progress() as progress:
            task = progress.add_task(name, total=None)
            result = await jobs[name]().run(
                dt.datetime.now(dt.UTC), lambda done, total: progress.update(task, completed=done, total=total)
            )
        console.print(result.summary)

    _run(work)


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
