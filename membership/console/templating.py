"""The console's Jinja2 environment: templates from every business area, i18n, formatting.

Each area keeps its templates beside its code, in a folder named for it
(``membership/sales/templates/counter/…``, ``membership/members/templates/members/…``), so a
template is addressed as ``"counter/page.html"`` whichever package holds it; plugins add their
pages' folders under their namespace (:class:`membership.console.pages.ConsolePage`).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from litestar.plugins.jinja import JinjaTemplateEngine

from membership.console import i18n, wording
from membership.console.pages import ConsolePage
from membership.console.struct_forms import discount_text
from membership.staff.roles import Permission, allows

KERNEL = Path(__file__).parent.parent
TEMPLATE_DIRS = sorted(KERNEL.glob("*/templates"))


def environment(pages: list[ConsolePage] | None = None) -> jinja2.Environment:
    """An autoescaping environment over the kernel's template folders and the plugin pages'
    folders, each under its plugin's namespace."""
    pages = pages or []
    namespaced = {page.namespace: jinja2.FileSystemLoader(page.templates) for page in pages if page.templates}
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(TEMPLATE_DIRS), jinja2.PrefixLoader(namespaced)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=i18n.money,
        number=i18n.number,
        when=i18n.when,
        discount=discount_text,
        bilingual=wording.bilingual,
        actor=wording.actor_name,
        purpose=wording.purpose_name,
        source=wording.source_name,
    )
    env.globals.update(
        languages=i18n.LANGUAGES,
        current_language=i18n.current_language,
        Permission=Permission,
        allows=allows,
        plugin_pages=pages,
    )
    return env


def template_engine(pages: list[ConsolePage] | None = None) -> JinjaTemplateEngine:
    """The Litestar template engine over :func:`environment`."""
    return JinjaTemplateEngine.from_environment(environment(pages))
