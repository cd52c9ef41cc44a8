"""Console pages that plugins add through ``membership_register_console_pages``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class ConsolePage:
    """A page in the console menu.

    ``handler`` is a Litestar route handler (``@get("/retail/shelf")``) served under ``/console``;
    ``path`` is that path, linked from the menu for the ``roles`` that may open it (the server
    refuses everyone else). Templates in the ``templates`` folder are addressed with the
    plugin's ``namespace`` in front (``"retail/shelf.html"``), so plugins cannot shadow the
    kernel's templates or each other's; they may extend ``"console/base.html"``.
    """

    path: str
    title_zh: str
    title_en: str
    handler: Any
    roles: tuple[str, ...] = ("owner", "manager")
    namespace: str = ""
    templates: Path | None = None

    def title(self, language: str) -> str:
        """The menu title in ``language``."""
        return self.title_en if language == "en" else self.title_zh
