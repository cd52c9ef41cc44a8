"""The console needs no internet: its scripts are vendored from npm (tools/vendor_static.py) and
no template loads anything from another host."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def _vendored():
    spec = importlib.util.spec_from_file_location("vendor_static", ROOT / "tools" / "vendor_static.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VENDORED


def test_every_vendored_package_is_present_at_its_pinned_version():
    for package, version, files, target in _vendored():
        assert (target / "VERSION").read_text() == f"{package}@{version}\n"
        for file in files:
            assert (target / Path(file).name).stat().st_size > 100, file


def test_no_template_or_static_file_loads_from_another_host():
    checked = 0
    for path in (ROOT / "membership").rglob("*"):
        if path.suffix in {".html", ".css"} or (path.suffix == ".js" and "vendor" not in path.parts):
            checked += 1
            assert not EXTERNAL.search(path.read_text(encoding="utf-8")), path
    assert checked >= 10


async def test_the_console_serves_its_own_htmx(console):
    async with console.client() as client:
        login = await client.get("/console/login")
        script = await client.get("/console/static/vendor/htmx/htmx.min.js")
    assert login.status_code == 200 and script.status_code == 200 and "htmx" in script.text[:2000]
