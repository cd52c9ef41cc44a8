"""Built-in, per program: after-purchase satisfaction surveys (售后满意度调查). Reacts to
``purchase.recorded`` as any plugin would (through the event outbox, after the sale committed),
inviting the member to the program's active purchase surveys (:mod:`membership.care.surveys`).
Saving an active purchase survey turns it on for the program."""

from __future__ import annotations

from membership.care import surveys
from membership.events import Event
from membership.hookspecs import hookimpl
from membership.org.program_plugins import PluginMeta


@hookimpl
def membership_plugin_meta() -> PluginMeta:
    """Per program: on where a purchase survey is."""
    return PluginMeta(
        "售后满意度调查",
        "After-purchase surveys",
        "消费后按设定的延迟与抽样比例邀请会员为本次消费打分（NPS / CSAT）。",
        "Invites members to rate their purchase (NPS / CSAT) after the delay and sampling rate set.",
    )


@hookimpl
async def membership_event(event: Event) -> None:
    """A purchase: the invitations of the program's purchase surveys (once per sale and survey,
    however often the event is delivered)."""
    if event.name == "purchase.recorded":
        await surveys.after_purchase(event)
