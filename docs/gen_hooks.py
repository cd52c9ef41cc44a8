"""Generate docs/hooks.md from the docstrings in membership/hookspecs.py (run by tests)."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

from membership import hookspecs

HEADER = "# Hook reference\n\nGenerated from `membership/hookspecs.py`; do not edit by hand.\n"


def render() -> str:
    """The Markdown reference: families in source order, one section per hook."""
    source = inspect.getsource(hookspecs)
    lines = [HEADER]
    for match in re.finditer(r"^# (\w[\w ]+)\n# -+\n|^def (membership_\w+)", source, re.M):
        family, name = match.groups()
        if family:
            lines.append(f"\n## {family.strip()}\n")
            continue
        fn = getattr(hookspecs, name)
        spec = fn.membership_spec
        flags = [flag for flag in ("firstresult", "historic") if spec.get(flag)]
        signature = str(inspect.signature(fn)).replace("'", "")
        lines.append(f"\n### `{name}{signature}`\n")
        if flags:
            lines.append(f"*{', '.join(flags)}*\n")
        text, _, example = inspect.getdoc(fn).partition("Example::")
        lines.append(f"\n{text.rstrip()}\n\nExample:\n\n```python\n{textwrap.dedent(example).strip()}\n```\n")
    return "".join(lines)


if __name__ == "__main__":
    (Path(__file__).parent / "hooks.md").write_text(render(), encoding="utf-8")
