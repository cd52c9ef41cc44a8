"""The hook reference in docs/ is generated from the specs and must be current; every hook's
docstring documents each of its parameters and what it returns (sphinx fields the site renders)."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

from membership import hookspecs

DOCS = Path(__file__).parent.parent / "docs"


def _gen_hooks():
    spec = importlib.util.spec_from_file_location("gen_hooks", DOCS / "gen_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hook_reference_is_generated_from_the_specs():
    module = _gen_hooks()
    rendered = module.render()
    for name in module.hook_names():
        assert f"\n::: membership.hookspecs.{name}\n" in rendered
    assert "## Points rules" in rendered
    assert (DOCS / "hooks.md").read_text(encoding="utf-8") == rendered, "run: python docs/gen_hooks.py"


def test_every_hook_documents_its_parameters_and_return():
    for name in _gen_hooks().hook_names():
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        documented = re.findall(r"^:param (\w+):", doc, re.M)
        assert documented == list(inspect.signature(getattr(hookspecs, name)).parameters), name
        assert re.search(r"^:returns:", doc, re.M), f"{name} does not say what it returns"
        assert "Example::" in doc, f"{name} has no example"
