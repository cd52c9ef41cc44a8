"""A griffe extension for the API pages: the reST of the kernel's docstrings as Markdown.

The sphinx docstring parser turns ``:param x:`` and ``:returns:`` into tables; what is left is
rendered as Markdown, so here ``Example::`` blocks become fenced Python and roles such as
``:class:`~membership.events.Event``` become code.
"""

from __future__ import annotations

import re
import textwrap

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
LITERAL = re.compile(r"^(?P<lead>.*?)::[ \t]*\n\n(?P<body>(?:(?:[ \t]+.*)?\n)+)", re.M)


def _fence(match: re.Match[str]) -> str:
    lead = match["lead"].rstrip()
    body = textwrap.dedent(match["body"]).strip("\n")
    intro = f"{lead}:\n\n" if lead else ""
    return f"{intro}```python\n{body}\n```\n\n"


def markdown(text: str) -> str:
    """``text`` with reST literal blocks fenced and roles turned into code."""
    text = LITERAL.sub(_fence, text if text.endswith("\n") else text + "\n")
    return ROLE.sub(lambda m: f"`{m[1].rsplit('.', 1)[-1] if m[0].count('~') else m[1]}`", text).rstrip("\n")


class ReST(griffe.Extension):
    """Rewrite every docstring griffe loads (see :func:`markdown`)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
