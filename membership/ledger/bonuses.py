"""Points that come without a purchase: the sign-up bonus, the referral reward to both members,
and the daily sign-in with its streak (注册礼、推荐有礼、每日签到). The program's rules decide how
many (:mod:`membership.ledger.rulebook`); every award is a ledger entry naming its rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from membership.coupons.service import issue_by_trigger
from membership.db import emit, fetch, fetch_one, new_id, use_case
from membership.events import Event
from membership.ledger.accounts import Kind
from membership.ledger.points_rules import active_rules
from membership.ledger.rulebook import referral_awards, sign_in_awards, sign_up_awards
from membership.ledger.rules import Award
from membership.ledger.service import Balances, MemberAccounts, PostingWriter, credit_points, member_accounts
from membership.org.service import ProgramConfig


async def _credit(
    program: ProgramConfig,
    member_id: uuid.UUID,
    awards: list[Award],
    reason: str,
    now: dt.datetime,
    store_id: uuid.UUID | None,
    actor: str,
) -> MemberAccounts:
    accounts = await MemberAccounts.load(program, member_id)
    if awards:
        writer = await PostingWriter(program, "bonus", member_id, now, store_id, operator=actor, reason=reason).open()
        await credit_points(writer, accounts, awards, Kind.POINTS_ISSUED)
        await writer.close()
    return accounts


async def welcome(
    program: ProgramConfig,
    member_id: uuid.UUID,
    referrer_id: uuid.UUID | None,
    store_id: uuid.UUID | None,
    now: dt.datetime,
    actor: str,
) -> list[Award]:
    """Inside the enrolment's transaction: the new member's sign-up bonus (and, when a member
    referred them, the welcome bonus), and the referrer's reward — points from the rules, coupons
    from the templates issued on ``sign_up`` and ``referral``. The new member's points awards."""
    rules = await active_rules(program.id)
    today = now.astimezone(program.zone).date()
    mine = sign_up_awards(rules, today)
    if referrer_id is not None:
        theirs, welcome_awards = referral_awards(rules, today)
        mine += welcome_awards
        await _credit(program, referrer_id, theirs, "推荐新会员 / referral", now, store_id, actor)
        await issue_by_trigger(program.id, referrer_id, "referral", referred_member_id=member_id, actor=actor, now=now)
        if theirs:
            emit(Event("referral.rewarded", program.id, referrer_id, {"referee": member_id}))
    await _credit(program, member_id, mine, "入会礼 / welcome", now, store_id, actor)
    await issue_by_trigger(program.id, member_id, "sign_up", actor=actor, now=now)
    return mine


@dataclasses.dataclass(frozen=True)
class SignInResult:
    """A day's sign-in: the local ``day``, the ``streak`` it makes, what it earned, and whether
    the member had already signed in that day (then nothing more is earned)."""

    member_id: uuid.UUID
    day: dt.date
    streak: int
    points: int
    awards: list[Award]
    balances: Balances
    already_signed_in: bool


@use_case
async def sign_in(member_id: uuid.UUID, actor: str = "app", now: dt.datetime | None = None) -> SignInResult:
    """Sign the member in for today (local to the program): once a day, the streak continues
    from yesterday's sign-in or starts again at 1."""
    accounts = await member_accounts(member_id)
    program = accounts.program
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(program.zone).date()
    done = await fetch_one("SELECT streak, points FROM sign_in WHERE member_id = {} AND day = {}", member_id, today)
    if done is not None:
        return SignInResult(member_id, today, done["streak"], 0, [], accounts.balances(), True)
    before = await fetch_one(
        "SELECT streak FROM sign_in WHERE member_id = {} AND day = {}", member_id, today - dt.timedelta(days=1)
    )
    streak = before["streak"] + 1 if before else 1
    awards = sign_in_awards(await active_rules(program.id), today, streak)
    inserted = await fetch(
        "INSERT INTO sign_in (id, program_id, member_id, day, streak, points, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (member_id, day, program_id) DO NOTHING RETURNING id",
        new_id(),
        program.id,
        member_id,
        today,
        streak,
        sum(award.points for award in awards),
        now,
    )
    if not inserted:  # a concurrent sign-in of the same member won
        return SignInResult(member_id, today, streak, 0, [], accounts.balances(), True)
    accounts = await _credit(program, member_id, awards, f"签到 {today} / sign-in", now, None, actor)
    emit(Event("member.signed_in", program.id, member_id, {"day": today.isoformat(), "streak": streak}))
    return SignInResult(member_id, today, streak, sum(a.points for a in awards), awards, accounts.balances(), False)
