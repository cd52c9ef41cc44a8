"""The public plugin API: one module with ``__all__``, documented, and an import contract that
keeps every other kernel module out of reach of packs and contrib packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import membership
from membership import plugin

ROOT = Path(__file__).parent.parent
PUBLIC = {"plugin", "testing"}


def test_every_public_name_exists_and_is_documented():
    assert plugin.__all__ == sorted(plugin.__all__, key=lambda name: (name[0].islower(), name))
    for name in plugin.__all__:
        value = getattr(plugin, name)
        assert (getattr(value, "__doc__", None) or "").strip(), f"{name} has no docstring"
        assert re.search(rf"``{name}(``|\()", plugin.__doc__), f"{name} is not in the module's guide"


def test_the_import_contract_forbids_every_kernel_module_but_the_public_ones():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    forbidden = {name.removeprefix("membership.") for name in config["contracts"][0]["forbidden_modules"]}
    kernel = {
        path.stem if path.is_file() else path.name
        for path in Path(membership.__file__).parent.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert forbidden == kernel - PUBLIC, "add new kernel modules to [tool.importlinter] forbidden_modules"
