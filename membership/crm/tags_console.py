"""Console page for tags (标签): the tags the program's members carry, with how many carry each,
and the tag rules (a segment's members carry a tag, given and taken by the nightly refresh), added
and removed (confirmed in two steps) through :mod:`membership.crm.tags` (checked, audited)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from membership.console import forms, i18n
from membership.console.auth import current_staff
from membership.console.workplace import staff_program
from membership.crm import segments, tags
from membership.errors import MembershipError
from membership.org.service import ProgramConfig
from membership.staff.roles import Permission

CONFIGURE = {"permission": Permission.CONFIGURE_PROGRAM}
PAGE_SIZE = 20


async def _page(request: Request, program: ProgramConfig, page: int = 1, status: int = 200, **context: Any) -> Template:
    rules, total = await tags.list_tag_rules(program.id, page, PAGE_SIZE)
    found, _ = await segments.list_segments(program.id, 1, 200)
    return forms.page(
        request,
        "crm/tags.html",
        "segments",
        status,
        program=program,
        in_use=await tags.tags_in_use(program.id),
        rules=rules,
        segment_names={s.code: s.name for s in found},
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        typed={"tag": "", "segment": ""},
        tag_error="",
        **context,
    )


@get("/tags", opt=CONFIGURE)
async def tags_page(request: Request, page: FromQuery[int] = 1, done: FromQuery[str] = "") -> Template:
    """Tags in use with their counts; the tag rules, a page at a time."""
    program = await staff_program(current_staff(request))
    notices = {"added": i18n.gettext("Tag rule added."), "removed": i18n.gettext("Tag rule removed.")}
    return await _page(request, program, max(1, page), notice=notices.get(done, ""))


@post("/tags/rules", opt=CONFIGURE)
async def add_rule(request: Request) -> Any:
    """Members of the segment chosen carry the tag typed, from the next refresh on; a wrong tag
    or a tag that has a rule already is said beside it."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    typed = {"tag": str(form.get("tag", "")), "segment": str(form.get("segment", ""))}
    try:
        await tags.add_tag_rule(program.id, typed["tag"], typed["segment"], staff.actor)
    except MembershipError as exc:
        page = await _page(request, program, status=422)
        page.context.update(typed=typed, tag_error=forms.error_text(exc))
        return page
    return forms.done("/console/tags", "added")


@post("/tags/rules/{tag:str}/delete", opt=CONFIGURE)
async def remove_rule(request: Request, tag: FromPath[str]) -> Any:
    """Stop a tag rule (confirmed in two steps); members keep the tag until it is taken by hand."""
    staff = current_staff(request)
    program = await staff_program(staff)
    form = await request.form()
    if form.get("confirm") != "yes":
        return await _page(request, program, status=422, error=forms.not_confirmed())
    try:
        await tags.remove_tag_rule(program.id, tag, staff.actor)
    except MembershipError as exc:
        return await _page(request, program, status=404, error=forms.error_text(exc))
    return forms.done("/console/tags", "removed")


ROUTES = [tags_page, add_rule, remove_rule]
