"""The hook reference in docs/ is generated from the specs and must be current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs"


def test_hook_reference_is_generated_from_the_specs():
    spec = importlib.util.spec_from_file_location("gen_hooks", DOCS / "gen_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    assert "### `membership_points_awards(context: EarnContext)" in rendered
    assert (DOCS / "hooks.md").read_text(encoding="utf-8") == rendered, "run: python docs/gen_hooks.py"
