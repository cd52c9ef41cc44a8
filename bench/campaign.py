"""Campaign benchmark: a one-off campaign (定时发送) to every member of a 1M-member program, with a
control group and a message through the inbox and e-mail, on SQLite and PostgreSQL.

    python bench/campaign.py --quick              # 100k members, both databases
    python bench/campaign.py                      # 1M members (--db sqlite|postgres|both)

Per database it migrates, creates a merchant, stores and a program through the services, loads
the members (and some sales) set-based as bench/rfm.py does, sets up the inbox and e-mail channels,
a message template and a campaign due now (10% control group), then times
:func:`membership.crm.campaigns.run_campaign`: what the ``run-campaigns`` job runs for it —
finding the audience, claiming each member once, choosing the control group, queueing the
messages in the delivery outbox, chunk by chunk, each chunk a transaction. Then it runs it again
as a retry after a crash would (the campaign's last run forgotten): everyone is claimed already and
nothing is queued twice. It counts what landed. Sending is not timed: it is paced by the channels
(rate limits, quiet hours) and happens later, message by message. It prints figures and never
asserts them; the last line per database is::

    RESULT db=sqlite members=1000000 enqueue_s=… messages=… again_s=…
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
import time

from cluster import NoPostgres, bench_database  # bench/ is on the path as python bench/campaign.py
from jobs import POSTGRES_SETTINGS
from rfm import BASE, load, prepare

from membership.config import Settings
from membership.db import close_database, open_database

TEMPLATE = {
    "name": "会员日",
    "purpose": "marketing",
    "subject_zh": "会员日",
    "body_zh": "{{ member.name }}，本周六会员日全场双倍积分。",
    "subject_en": "Members' day",
    "body_en": "{{ member.name }}, double points this Saturday.",
}


async def set_up(settings: Settings, program_id) -> None:
    """Channels, the message and coupon templates, the campaign (through the services)."""
    import msgspec

    from membership.crm.campaigns import parse_terms, save_campaign
    from membership.notifications.config import configure_channel
    from membership.notifications.templates import TemplateTerms, save_template

    await open_database(settings)
    try:
        await configure_channel(program_id, "inbox", {}, True, "bench")
        smtp = {"host": "127.0.0.1", "port": 2525, "sender": "crm@example.com"}
        await configure_channel(program_id, "email", smtp, True, "bench")
        await save_template(program_id, "members-day", msgspec.convert(TEMPLATE, TemplateTerms), "bench", True)
        terms = {
            "name": "会员日",
            "when": {"kind": "once", "at": (BASE - dt.timedelta(minutes=1)).isoformat()},
            "template": "members-day",
            "channels": ["inbox", "email"],
            "control_pct": 10,
        }
        await save_campaign(program_id, "members-day", parse_terms(terms), "bench", True)
    finally:
        await close_database()


async def timed_run(settings: Settings, program_id) -> dict:
    """The campaign run as of BASE, then again a minute later; what landed."""
    from membership.crm.campaigns import campaign_row, run_campaign
    from membership.db import execute, fetch_one
    from membership.org.service import get_program

    found = {}
    await open_database(settings)
    try:
        program = await get_program(program_id)
        for label, at in (("first", BASE), ("again", BASE + dt.timedelta(minutes=1))):
            if label == "again":  # as after a crash before the run was recorded
                await execute("UPDATE campaign SET last_run_at = NULL")
            campaign = await campaign_row(program_id, "members-day")
            started = time.perf_counter()
            served, held = await run_campaign(program, campaign, at)
            found[label] = time.perf_counter() - started
            print(f"  run ({label}): {found[label]:.1f} s; {served:,} served, {held:,} held back", flush=True)
        for name, sql in (
            ("claimed", "SELECT COUNT(*) AS n FROM campaign_member"),
            ("messages", "SELECT COUNT(*) AS n FROM notification"),
        ):
            found[name] = int((await fetch_one(sql))["n"])
        print(f"  {found['claimed']:,} claimed, {found['messages']:,} messages", flush=True)
    finally:
        await close_database()
    return found


async def bench(settings: Settings, args: argparse.Namespace) -> dict:
    ids = await prepare(settings)
    print(f"  loading {args.members:,} members and {args.members:,} sales", flush=True)
    print(f"  loaded in {await load(settings, ids, args.members, args.members):.1f} s", flush=True)
    await set_up(settings, ids["program"])
    return await timed_run(settings, ids["program"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100k members")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    if args.quick:
        args.members = min(args.members, 100_000)
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        print(f"\n### {db}", flush=True)
        try:
            with bench_database(db, "campaign", POSTGRES_SETTINGS) as (settings, _):
                found = asyncio.run(bench(settings, args))
        except NoPostgres as exc:
            print(f"!!! {exc}")
            return 2
        print(
            f"RESULT db={db} members={args.members} enqueue_s={found['first']:.1f} messages={found['messages']}"
            f" again_s={found['again']:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
