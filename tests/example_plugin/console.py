"""An example plugin console page: a shelf-label page for managers, with a namespaced template."""

from pathlib import Path

from litestar import Request, get
from litestar.response import Template

from membership import hookimpl
from membership.console.pages import ConsolePage


@get("/example/shelf")
async def shelf(request: Request) -> Template:
    return Template("example/shelf.html", context={"staff": request.state.staff, "active": "", "labels": 3})


@hookimpl
def membership_register_console_pages():
    return [
        ConsolePage(
            path="/example/shelf",
            title_zh="货架标签",
            title_en="Shelf labels",
            handler=shelf,
            roles=("owner", "manager"),
            namespace="example",
            templates=Path(__file__).parent / "templates",
        )
    ]
