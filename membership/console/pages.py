"""Console pages that plugins add through ``membership_register_console_pages``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class ConsolePage:
    """A page in the console menu.

    ``handler`` is a Litestar route handler serving ``/console/<path>``; ``template`` is
    namespaced by plugin (``"retail/shelf.html"``); ``roles`` may open it.
    """

    path: str
    title_zh: str
    title_en: str
    handler: Callable[..., Any]
    roles: tuple[str, ...] = ("owner", "manager")
    template: str = ""
