"""The console's languages: Babel catalogs (zh_CN first, en) and locale-aware formatting.

Templates mark text with ``{{ _("…") }}``; the message ids are English. The catalogs live in
``membership/console/locale/<lang>/LC_MESSAGES/messages.po`` and are compiled by Babel: the
wheel build writes ``messages.mo`` (see ``hatch_build.py``), and a source checkout without one
compiles the ``.po`` in memory at start-up, so an edited catalog shows without a build step.
Each request renders in its staff member's language (:func:`use_language`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import io
import zoneinfo
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("console_language", default=DEFAULT_LANGUAGE)


@functools.cache
def translations(language: str) -> Translations:
    """The compiled catalog of ``language`` (``.mo`` when built, else the ``.po`` compiled now)."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    mo = folder / "messages.mo"
    if mo.exists():
        with mo.open("rb") as handle:
            return Translations(handle)
    with (folder / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def use_language(language: str) -> None:
    """Render the rest of this request in ``language`` (an unknown one falls back to zh_CN)."""
    _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the request being rendered."""
    return _language.get()


def gettext(message: str, **variables: object) -> str:
    """``message`` in the current language, with ``%(name)s`` variables filled in."""
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language (templates fill in ``%(num)s``)."""
    return translations(current_language()).ngettext(singular, plural, n)


def money(minor: int, currency: str = "CNY") -> str:
    """An amount in minor units (fen) as the current locale writes it: ``¥1,234.50``."""
    amount = Decimal(minor).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale=Locale.parse(current_language()))


def number(value: int) -> str:
    """An integer with the locale's grouping: ``12,345``."""
    return format_decimal(value, locale=Locale.parse(current_language()))


def when(moment: dt.datetime | None, time_zone: str = "Asia/Shanghai", style: str = "medium") -> str:
    """A UTC moment in the program's time zone, as the current locale writes it."""
    if moment is None:
        return ""
    local = moment.astimezone(zoneinfo.ZoneInfo(time_zone))
    return format_datetime(local, format=style, locale=Locale.parse(current_language()))
