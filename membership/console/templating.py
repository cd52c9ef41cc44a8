"""The console's Jinja2 environment: templates from every business area, i18n, formatting.

Each area keeps its templates beside its code, in a folder named for it
(``membership/sales/templates/counter/…``, ``membership/members/templates/members/…``), so a
template is addressed as ``"counter/page.html"`` whichever package holds it; plugins add their
folders the same way, namespaced by plugin.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from litestar.plugins.jinja import JinjaTemplateEngine

from membership.console import i18n
from membership.staff.roles import Permission, allows

KERNEL = Path(__file__).parent.parent
TEMPLATE_DIRS = sorted(KERNEL.glob("*/templates"))


def environment(extra_dirs: list[Path] | None = None) -> jinja2.Environment:
    """An autoescaping environment over the kernel's template folders and ``extra_dirs``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*TEMPLATE_DIRS, *(extra_dirs or [])]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(money=i18n.money, number=i18n.number, when=i18n.when)
    env.globals.update(
        languages=i18n.LANGUAGES,
        current_language=i18n.current_language,
        Permission=Permission,
        allows=allows,
    )
    return env


def template_engine(extra_dirs: list[Path] | None = None) -> JinjaTemplateEngine:
    """The Litestar template engine over :func:`environment`."""
    return JinjaTemplateEngine.from_environment(environment(extra_dirs))
