{%- set family = cookiecutter.hook_family -%}
{%- set tables = cookiecutter.with_tables == "yes" -%}
{%- set camel = cookiecutter.underscored.title().replace("_", "") -%}
"""{{ cookiecutter.label_zh }} ({{ cookiecutter.hyphenated }}): {{ cookiecutter.description }}.

The kernel loads this module through the ``membership`` entry point in pyproject.toml; the entry
point's name, ``{{ cookiecutter.hyphenated }}``, is the plugin's name everywhere (settings, the
console's plugins page, ``MEMBERSHIP_PLUGINS``). Import from ``membership.plugin`` only: the rest
of the kernel may change in any release.
{%- if family != "reader_driver" %}

The plugin is *per program*: installed is not enabled. An owner turns it on for a program (the
console's plugins page, or ``PUT /api/v1/programs/{id}/plugins/{{ cookiecutter.hyphenated }}``) and
sets its :class:`Settings` there.
{%- else %}

A reader driver serves every program of the deployment (the reader is plugged into a machine,
not into a program): ``membership reader listen --driver {{ cookiecutter.hyphenated }} --port …``.
{%- endif %}
"""

from __future__ import annotations
{% if family == "points_rule" %}
import msgspec
from membership.plugin import Award, EarnContext, PluginMeta, hookimpl, plugin_settings
{%- elif family == "event_listener" %}
import msgspec

{%- if tables %}
from membership.plugin import (
    Event,
    PluginMeta,
    PurchaseRecorded,
    execute,
    get_program,
    hookimpl,
    new_id,
    payload_of,
    plugin_settings,
    use_case,
)
{%- else %}
from membership.plugin import Event, PluginMeta, PurchaseRecorded, get_program, hookimpl, payload_of, plugin_settings
{%- endif %}
{%- elif family == "reader_driver" %}
from membership.plugin import CredentialRead, ReaderDriver, ReaderEvent, ReadFault, SerialSettings, hookimpl
{%- elif family == "report" %}
import uuid
from typing import Any

import msgspec
from membership.plugin import (
    PluginMeta,
    Reason,
    Report,
    ReportResult,
    ValidationError,
    fetch,
    get_program,
    hookimpl,
    plugin_enabled,
    plugin_settings,
)
{%- endif %}

NAME = "{{ cookiecutter.hyphenated }}"
{%- if family != "reader_driver" %}


class Settings(msgspec.Struct, kw_only=True):
    """What an owner sets per program; every field has a default (the console shows a form)."""
{% if family == "points_rule" %}
    extra_points: int = 5
    """Points added to a purchase with one of the products below (加送积分)."""
    skus: list[str] = []
    """The products (SKU) that earn the extra points (参与商品)."""
{%- elif family == "event_listener" %}
    min_total: int = 0
    """Purchases of at least this amount, in fen, are handled (起始金额，单位：分)."""
{%- elif family == "report" %}
    top: int = 10
    """How many members the report lists (显示人数)."""
{%- endif %}


@hookimpl
def membership_plugin_meta() -> PluginMeta:
    """This plugin is enabled per program, with :class:`Settings`."""
    return PluginMeta(
        "{{ cookiecutter.label_zh }}",
        "{{ cookiecutter.plugin_name.title() }}",
        "{{ cookiecutter.description_zh }}",
        "{{ cookiecutter.description }}",
        Settings,
    )
{%- endif %}
{%- if tables %}


@hookimpl
def membership_piccolo_apps() -> list[str]:
    """The plugin's own tables; ``membership migrate`` applies their migrations."""
    return ["membership_{{ cookiecutter.underscored }}.piccolo_app"]
{%- endif %}
{%- if family == "points_rule" %}


@hookimpl
def membership_points_awards(context: EarnContext) -> list[Award] | None:
    """Extra points for a purchase with one of the program's chosen products."""
    settings = plugin_settings(context.program, NAME, Settings)
    if settings.extra_points and any(line.sku in settings.skus for line in context.lines):
        return [Award(NAME, settings.extra_points, "{{ cookiecutter.label_zh }}加送")]
    return None
{%- elif family == "event_listener" %}
{%- if not tables %}


RECEIVED: list[tuple[Event, PurchaseRecorded]] = []
"""What the listener handled (a real one calls a service, or writes to its own tables)."""
_handled: set[object] = set()
{%- endif %}


@hookimpl
async def membership_event(event: Event) -> None:
    """Handle a recorded purchase of at least the program's ``min_total``.

    Runs after the purchase committed, never inside the till's transaction. Delivery is at least
    once (a retry after a crash may repeat an event): act once per ``event.id``."""
    if event.name != "purchase.recorded":
        return
    sale = payload_of(event)
    settings = plugin_settings(await get_program(event.program_id), NAME, Settings)
    if sale.total < settings.min_total:
        return
{%- if tables %}
    await _remember(event, sale)


@use_case
async def _remember(event: Event, sale: PurchaseRecorded) -> None:
    """Keep the purchase in the plugin's table, once per event id (a repeat changes nothing)."""
    await execute(
        "INSERT INTO {{ cookiecutter.underscored }}_record (id, event_id, program_id, member_id, amount, created_at)"
        " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (event_id) DO NOTHING",
        new_id(),
        event.id,
        event.program_id,
        event.member_id,
        sale.total,
        event.occurred_at,
    )
{%- else %}
    if event.id in _handled:
        return
    _handled.add(event.id)
    RECEIVED.append((event, sale))
{%- endif %}
{%- elif family == "reader_driver" %}


class {{ camel }}Driver(ReaderDriver):
    """A reader that prints each card as hex digits ending in CR LF (``04A1B2C3\\r\\n``).

    Sans-I/O: the kernel's reader service owns the port and feeds the bytes that arrived; the
    driver returns the reads they completed, so it is tested without hardware."""

    name = NAME
    description = "{{ cookiecutter.description }}"
    serial = SerialSettings(baudrate=9600)
    options = {"kind": "credential kind of a read (default card_uid)"}

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.kind = self.option("kind", "card_uid")
        self._buffer = b""

    def feed(self, data: bytes, now: float) -> list[ReaderEvent]:
        """Every complete line in ``data`` as a card read; a line that is not hex is a fault."""
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        events: list[ReaderEvent] = []
        for raw in lines:
            text = raw.strip().decode("ascii", "replace").upper()
            if not text:
                continue
            if len(text) < 4 or any(c not in "0123456789ABCDEF" for c in text):
                events.append(ReadFault("not a hex card number", raw))
            else:
                events.append(CredentialRead(self.kind, text))
        return events

    def reset(self) -> None:
        """Forget a partial line (the port was reopened)."""
        self._buffer = b""


@hookimpl
def membership_register_reader_drivers() -> list[type[ReaderDriver]]:
    """The driver of this package."""
    return [{{ camel }}Driver]
{%- elif family == "report" %}


class {{ camel }}Report(Report):
    """The program's members who spent most (set-based SQL in the database).

    Reports read the kernel's ``sale`` table directly (its ``program_id``, ``member_id``,
    ``total`` and ``status`` columns); everything else comes through ``membership.plugin``."""

    name = NAME
    title_zh = "{{ cookiecutter.label_zh }}"
    title_en = "{{ cookiecutter.plugin_name.title() }}"

    async def run(self, program_id: uuid.UUID, params: dict[str, Any]) -> ReportResult:
        """The top members by what they paid, as many as the program's settings say."""
        program = await get_program(program_id)
        if not plugin_enabled(program, NAME):
            raise ValidationError(
                field="report", reason=Reason("this report is off for the program", "该会员方案未启用此报表")
            )
        settings = plugin_settings(program, NAME, Settings)
        rows = await fetch(
            "SELECT member_id, COUNT(*) AS sales, SUM(total) AS spent FROM sale"
            " WHERE program_id = {} AND status = 'completed' GROUP BY member_id ORDER BY spent DESC LIMIT {}",
            program_id,
            settings.top,
        )
        return ReportResult(["member_id", "sales", "spent"], [[r["member_id"], r["sales"], r["spent"]] for r in rows])


@hookimpl
def membership_register_reports() -> list[type[Report]]:
    """The report of this package."""
    return [{{ camel }}Report]
{%- endif %}
