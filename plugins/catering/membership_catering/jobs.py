"""The pack's daily job: stamp cards that ran out are ended (their stamps lost), and full cards
whose reward coupon could not be issued yet are tried again."""

from __future__ import annotations

import datetime as dt
import uuid

from membership.plugin import Job, JobResult, get_program, plugin_enabled
from membership_catering.settings import NAME
from membership_catering.stamps import due_cards, tend_cards

CHUNK = 200


class StampCardsJob(Job):
    """集点卡：到期作废、补发待发的奖励 (expire stamp cards, issue waiting rewards)."""

    name = "catering-stamp-cards"
    description = "集点卡到期作废、补发待发奖励 / end expired stamp cards, issue waiting rewards"
    schedule = "20 0 * * *"  # daily at 00:20

    async def run(self, now: dt.datetime, progress) -> JobResult:
        """End the cards that ran out by ``now`` and issue waiting rewards, in chunks, only in
        programs the pack is on for; safe to run twice."""
        after: uuid.UUID | None = None
        ended = rewarded = seen = 0
        on: dict[uuid.UUID, bool] = {}
        while True:
            due = await due_cards(now, after, CHUNK)
            if not due:
                break
            after = due[-1]["id"]
            for card in due:
                program_id = uuid.UUID(str(card["program_id"]))
                if program_id not in on:
                    on[program_id] = plugin_enabled(await get_program(program_id), NAME)
            mine = [card for card in due if on[uuid.UUID(str(card["program_id"]))]]
            done = await tend_cards(mine, now) if mine else (0, 0)
            ended, rewarded, seen = ended + done[0], rewarded + done[1], seen + len(due)
            progress(seen, seen)
        summary = f"{ended} 张集点卡到期，补发 {rewarded} 张奖励券 / {ended} cards ended, {rewarded} rewards issued"
        return JobResult(ended + rewarded, summary)
