"""Wheel build hook: compile the console's Babel catalogs (``messages.po`` → ``messages.mo``).

The compiled catalogs go into the wheel only; a source checkout compiles the ``.po`` files in
memory when the console starts (:mod:`membership.console.i18n`). A catalog with errors fails the
build.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LOCALE = Path("membership") / "console" / "locale"


class CompileCatalogs(BuildHookInterface):
    """Adds ``membership/console/locale/<lang>/LC_MESSAGES/messages.mo`` to the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        """Compile every catalog into a temporary folder and force-include the results."""
        if self.target_name != "wheel" or version == "editable":
            return
        out = Path(tempfile.mkdtemp(prefix="membership-mo-"))
        for po in sorted((Path(self.root) / LOCALE).glob("*/LC_MESSAGES/messages.po")):
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=po.parent.parent.name, abort_invalid=True)
            errors = [(message.id, errors) for message, errors in catalog.check()]
            if errors:
                raise ValueError(f"{po}: {errors}")
            target = out / po.parent.parent.name / "messages.mo"
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as handle:
                write_mo(handle, catalog)
            build_data["force_include"][str(target)] = str(po.relative_to(self.root).with_suffix(".mo"))
