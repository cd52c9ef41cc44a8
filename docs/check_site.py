"""Check the built site (run by ``tox -e docs`` after ``mkdocs build --strict``): the API pages
show no raw reST (``:param x:`` and the like: the sphinx docstrings must be parsed), and no page
loads anything from another host (fonts, scripts, styles: the site works offline)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

RAW_REST = re.compile(r":(?:param|returns?|raises?|type|rtype)\b[^:]*:|:(?:class|func|mod|attr|meth):`")
OUTSIDE = re.compile(r"<(?:link|script|img)\b[^>]*\b(?:href|src)=\"(?:https?:)?//", re.I)
TAGS = re.compile(r"<[^>]+>")
API_PAGES = ("reference/", "hooks/")


def problems(site: Path) -> list[str]:
    """Every raw reST field on an API page and every outside asset on any page."""
    found = []
    for page in sorted(site.rglob("*.html")):
        name = page.relative_to(site).as_posix()
        html = page.read_text(encoding="utf-8")
        for match in OUTSIDE.finditer(html):
            found.append(f"{name}: loads from another host: {match[0][:100]}")
        if name.startswith(API_PAGES):
            text = TAGS.sub("", re.sub(r"<(pre|code)\b.*?</\1>", "", html, flags=re.S))
            for match in RAW_REST.finditer(text):
                found.append(f"{name}: raw reST {match[0]!r}")
    return found


if __name__ == "__main__":
    site = Path(sys.argv[1])
    pages = list(site.rglob("*.html"))
    found = problems(site)
    print("\n".join(found) or f"{len(pages)} pages: no raw reST on the API pages, nothing loaded from another host")
    sys.exit(1 if found or not pages else 0)
