"""Console page for the plugins of the staff member's program (插件): each per-program plugin
with a switch and a settings form generated from its schema."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.struct_forms import form_fields, parse_form
from membership.console.workplace import staff_program
from membership.errors import MembershipError
from membership.org.program_plugins import ProgramPlugin, program_plugins, set_program_plugin
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}


def _view(plugin: ProgramPlugin, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plugin as the page shows it: its words in the staff's language, its form's fields."""
    zh = i18n.current_language().startswith("zh")
    meta = plugin.meta
    return {
        "name": plugin.name,
        "label": meta.label_zh if zh else meta.label_en,
        "description": meta.description_zh if zh else meta.description_en,
        "enabled": plugin.enabled,
        "fields": form_fields(meta.settings, values if values is not None else plugin.settings)
        if meta.settings
        else [],
    }


async def _page(request: Request, status: int = 200, failed: str = "", error: str = "", values: Any = None) -> Template:
    program = await staff_program(current_staff(request))
    plugins = [_view(p, values if p.name == failed else None) for p in await program_plugins(program.id)]
    return forms.page(
        request,
        "org/program_plugins.html",
        "plugins",
        status,
        program=program,
        plugins=plugins,
        failed=failed,
        error=error,
    )


@get("/program-plugins", opt=CONFIGURE)
async def plugins_page(request: Request, done: FromQuery[str] = "") -> Template:
    """The program's per-program plugins: on or off, and their settings."""
    page = await _page(request)
    if done:
        page.context["notice"] = i18n.gettext("Plugin %(name)s saved.", name=done)
    return page


@post("/program-plugins/{name:str}", opt=CONFIGURE, status_code=303)
async def save_plugin(request: Request, name: FromPath[str]) -> Any:
    """Turn the plugin on or off and save its settings; a bad value shows inline, as typed."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = dict(await request.form())
    schema = next((p.meta.settings for p in await program_plugins(program.id) if p.name == name), None)
    values = parse_form(schema, form) if schema else {}
    try:
        await set_program_plugin(program.id, name, form.get("enabled") == "1", values, staff.actor)
    except MembershipError as exc:
        return await _page(request, 422, name, forms.error_text(exc), values)
    return forms.done("/console/program-plugins", name)


ROUTES = [plugins_page, save_plugin]
