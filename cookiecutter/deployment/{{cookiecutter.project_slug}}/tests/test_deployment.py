"""Checks of this deployment before it goes to the server: the configuration loads, `membership
init` works in the folder, and program.toml applies (a dry run, then for real, then a second time
with nothing to change), all on a scratch SQLite database in a temporary copy of the folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from membership.config import new_secret_key

HERE = Path(__file__).parent.parent
SECRET = new_secret_key()  # one scratch key for every command of the test run


@pytest.fixture
def folder(tmp_path):
    """A scratch copy of the project's configuration and program files."""
    for name in ("membership.toml", "program.toml"):
        shutil.copy(HERE / name, tmp_path / name)
    return tmp_path


def membership(folder: Path, *args: str) -> str:
    """Run the membership command in ``folder``; its output (fails the test on an error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERSHIP_")}
    env.update(
        MEMBERSHIP_CONFIG=str(folder / "membership.toml"),
        MEMBERSHIP_SECRET_KEY=SECRET,
        MEMBERSHIP_DATABASE_URL=f"sqlite:///{folder / 'membership.db'}",
    )
    done = subprocess.run(
        [sys.executable, "-m", "membership.cli", *args], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_configuration_and_program_files_read():
    config = tomllib.loads((HERE / "membership.toml").read_text(encoding="utf-8"))["membership"]
    assert "secret_key" not in config, "the secret key belongs in secret.env, not in version control"
    program = tomllib.loads((HERE / "program.toml").read_text(encoding="utf-8"))
    assert program["program"]["merchant"] == "{{ cookiecutter.business_name }}"


def test_init_and_the_program_apply_in_this_folder(folder):
    assert "migrations applied" in membership(folder, "init", "--no-input")
    dry = membership(folder, "program", "apply", "--dry-run", "program.toml")
    assert "+ program {{ cookiecutter.program_name }}" in dry and "none made" in dry
    applied = membership(folder, "program", "apply", "program.toml")
    assert "{{ cookiecutter.first_store_code }}" in applied
    assert "nothing to change" in membership(folder, "program", "apply", "program.toml")
    assert "{{ cookiecutter.program_name }}" in membership(folder, "program", "list")
