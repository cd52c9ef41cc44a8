"""Every event the kernel emits has a documented payload type listing exactly its keys
(membership.event_payloads), and real events convert to their types."""

from __future__ import annotations

import ast
import dataclasses
import uuid
from pathlib import Path

import msgspec
import pytest

from membership import event_payloads
from membership.event_payloads import PAYLOADS, payload_fields, payload_of
from membership.events import Event
from membership.hookspecs import hookimpl
from membership.ledger import service as ledger
from membership.ledger.rules import LineInput
from membership.members import service as members
from membership.sales import service as sales
from membership.testing import deliver_events
from tests.helpers import make_shop

KERNEL = Path(event_payloads.__file__).parent


@dataclasses.dataclass
class Emission:
    where: str
    name: str | None
    keys: set[str] | None  # None: not a literal the scan can read


def _dict_keys(node: ast.AST) -> set[str] | None:
    if not isinstance(node, ast.Dict) or any(not isinstance(k, ast.Constant) for k in node.keys):
        return None  # a ** spread or computed keys: write the keys out
    return {k.value for k in node.keys}


def _data_keys(call: ast.Call, function: ast.AST | None) -> set[str] | None:
    """The keys of the event's ``data``: a dict literal, or a name bound to one earlier in the function."""
    data = call.args[3] if len(call.args) > 3 else next((k.value for k in call.keywords if k.arg == "data"), None)
    if data is None:
        return set()
    if isinstance(data, ast.Name) and function is not None:
        bound = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and node.lineno < call.lineno
            and any(isinstance(t, ast.Name) and t.id == data.id for t in node.targets)
        ]
        return _dict_keys(bound[-1]) if bound else None
    return _dict_keys(data)


def emissions() -> list[Emission]:
    """Every ``emit(...)`` call in the kernel, with the event name and data keys it writes."""
    found = []
    for path in sorted(KERNEL.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "emit"):
                continue
            where = f"{path.relative_to(KERNEL.parent)}:{node.lineno}"
            event = node.args[0] if node.args else None
            if not (isinstance(event, ast.Call) and getattr(event.func, "id", None) == "Event" and event.args):
                found.append(Emission(where, None, None))
                continue
            name = event.args[0].value if isinstance(event.args[0], ast.Constant) else None
            inside = [f for f in functions if f.lineno <= node.lineno <= (f.end_lineno or f.lineno)]
            found.append(Emission(where, name, _data_keys(event, inside[-1] if inside else None)))
    return found


def test_the_scan_finds_the_kernels_events():
    names = {e.name for e in emissions()}
    assert {"purchase.recorded", "tier.changed", "stored_value.topped_up", "member.erased"} <= names
    assert len(emissions()) >= 20


def test_every_emitted_event_has_a_payload_type_with_exactly_its_keys():
    problems = []
    for emission in emissions():
        if emission.name is None:
            problems.append(f"{emission.where}: emit(Event('literal.name', …)) so the payload can be checked")
        elif emission.name not in PAYLOADS:
            problems.append(f"{emission.where}: {emission.name} has no payload type in membership/event_payloads.py")
        elif emission.keys is None:
            problems.append(f"{emission.where}: {emission.name}'s data is not a dict literal the check can read")
        elif emission.keys != set(payload_fields(PAYLOADS[emission.name])):
            fields = set(payload_fields(PAYLOADS[emission.name]))
            problems.append(
                f"{emission.where}: {emission.name} writes {sorted(emission.keys - fields)} not in its type,"
                f" its type lists {sorted(fields - emission.keys)} not written"
            )
    assert not problems, "\n".join(problems)


def test_every_payload_type_is_emitted_documented_and_public():
    from membership import plugin

    emitted = {e.name for e in emissions()}
    assert set(PAYLOADS) == emitted, "a payload type for an event nothing emits"
    for name, schema in PAYLOADS.items():
        assert schema.event == name and (schema.__doc__ or "").startswith(f"``{name}``")
        assert getattr(plugin, schema.__name__) is schema and schema.__name__ in plugin.__all__


def test_a_payload_of_unknown_keys_or_names_is_refused():
    program = uuid.uuid4()
    with pytest.raises(LookupError):
        payload_of(Event("brandday.greeted", program, None, {}))
    with pytest.raises(msgspec.ValidationError):
        payload_of(Event("points.expired", program, None, {"lots": 1, "points": 5, "extra": 1}))


class Recorder:
    """A listener that keeps every event it receives."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def membership_event(self, event: Event) -> None:
        self.events.append(event)


async def test_events_as_listeners_receive_them_convert_to_their_types(db, register_plugin):
    recorder = Recorder()
    register_plugin(recorder)
    shop = await make_shop()
    member = shop.member_id
    sale = await sales.record_purchase(shop.program.id, shop.store_id, member, [LineInput("6901", 1, 9_900)])
    await ledger.top_up(member, 10_000, shop.store_id)
    await ledger.redeem_points(member, 10, shop.store_id)
    card = await members.issue_credential(member, "card_uid", "04A1B2C3")
    await members.block_credential(card["id"], lost=True)
    await sales.refund(sale.id)
    await deliver_events()
    received = {event.name: payload_of(event) for event in recorder.events}
    assert {"purchase.recorded", "stored_value.topped_up", "points.redeemed", "credential.issued"} <= set(received)
    assert {"credential.blocked", "sale.refunded"} <= set(received)
    assert received["purchase.recorded"].sale_id == sale.id and received["purchase.recorded"].total == 9_900
    assert received["credential.blocked"].state == "lost"
