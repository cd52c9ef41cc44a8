"""Generate both cookiecutter templates into a temporary folder, install, and run what they made.

* ``cookiecutter/plugin``: one package per hook family (some with their own tables), each
  installed (``pip install --no-deps -e``, so its entry point is real) and tested with its own
  pytest; its package imports ``membership.plugin`` only.
* ``cookiecutter/deployment``: for PostgreSQL and SQLite, the generated checks (``membership
  init`` in the folder, ``program apply --dry-run`` of its program.toml, then for real).

Prints how long each step took, and "cookiecutter → green" for the first plugin: generating it,
installing it and running its tests. Run by ``tox -e cookiecutter``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "cookiecutter"

PLUGINS = [
    {"plugin_name": "brand day", "label_zh": "品牌日", "hook_family": "points_rule"},
    {"plugin_name": "purchase log", "label_zh": "消费记录", "hook_family": "event_listener", "with_tables": "yes"},
    {"plugin_name": "purchase echo", "label_zh": "消费回声", "hook_family": "event_listener"},
    {"plugin_name": "hex reader", "label_zh": "十六进制读卡器", "hook_family": "reader_driver"},
    {"plugin_name": "top spenders", "label_zh": "消费排行", "hook_family": "report", "with_tables": "yes"},
]
DEPLOYMENTS = [{"database": "postgresql"}, {"database": "sqlite", "project_slug": "one-shop", "business_name": "小店"}]


def run(*command: str, cwd: Path) -> None:
    """Run ``command`` in ``cwd``; exit with its output when it fails."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAILED in {cwd}: {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    tail = done.stdout.strip().splitlines()[-1:] if done.stdout.strip() else []
    print(f"    {' '.join(command[2:5])}: {tail[0] if tail else 'ok'}")


def imports_public_api_only(package: Path) -> None:
    """Fail when the generated package imports a kernel module other than membership.plugin."""
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("membership.") and name != "membership.plugin":
                    sys.exit(f"FAILED: {path} imports {name}; a plugin imports membership.plugin only")


def check_plugin(context: dict[str, str], into: Path) -> float:
    """Generate, install and test one plugin; returns the seconds it took."""
    started = time.perf_counter()
    folder = Path(cookiecutter(str(TEMPLATES / "plugin"), no_input=True, extra_context=context, output_dir=str(into)))
    print(f"  {folder.name} ({context['hook_family']}, tables: {context.get('with_tables', 'no')})")
    imports_public_api_only(next(folder.glob("membership_*")))
    run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", ".", cwd=folder)
    run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)
    return time.perf_counter() - started


def check_deployment(context: dict[str, str], into: Path) -> None:
    """Generate one deployment and run its checks."""
    folder = Path(
        cookiecutter(str(TEMPLATES / "deployment"), no_input=True, extra_context=context, output_dir=str(into))
    )
    print(f"  {folder.name} ({context['database']})")
    for name in ("membership.toml", "program.toml", "Containerfile", "deploy/membership-backup.timer"):
        assert (folder / name).is_file(), name
    run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)


def main() -> None:
    """Check every template; print the timings."""
    with tempfile.TemporaryDirectory(prefix="templates-") as tmp:
        into = Path(tmp)
        print("cookiecutter/plugin:")
        seconds = [check_plugin(context, into) for context in PLUGINS]
        print("cookiecutter/deployment:")
        started = time.perf_counter()
        for context in DEPLOYMENTS:
            check_deployment(context, into / context["database"])
        deployments = time.perf_counter() - started
        installed = [f"membership-{c['plugin_name'].replace(' ', '-')}" for c in PLUGINS]
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", *installed], check=True)
    print(f"cookiecutter → green tests, first plugin: {seconds[0]:.1f} s (generate, pip install -e, pytest)")
    print(f"plugins: {', '.join(f'{s:.1f}' for s in seconds)} s; deployments: {deployments:.1f} s")


if __name__ == "__main__":
    main()
