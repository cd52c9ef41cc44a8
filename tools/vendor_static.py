"""Vendor front-end files from their npm packages into the package's static folders.

Run ``python tools/vendor_static.py`` after changing a version below; the files are committed, so
the server never needs the internet (no CDN at run time). Needs ``npm`` (the registry only).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package, version, files inside the package, target folder
VENDORED = [
    (
        "swagger-ui-dist",
        "5.35.0",
        ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "LICENSE"],
        ROOT / "membership/api/static/swagger-ui",
    ),
    ("htmx.org", "2.0.11", ["dist/htmx.min.js", "LICENSE"], ROOT / "membership/console/static/vendor/htmx"),
    (
        "echarts",
        "6.1.0",
        ["dist/echarts.min.js", "LICENSE", "NOTICE"],
        ROOT / "membership/console/static/vendor/echarts",
    ),
]


def vendor(package: str, version: str, files: list[str], target: Path) -> None:
    """Download ``package@version`` with ``npm pack`` and copy ``files`` into ``target``."""
    with tempfile.TemporaryDirectory() as tmp:
        name = subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--silent"], cwd=tmp, check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        with tarfile.open(Path(tmp) / name) as archive:
            archive.extractall(tmp, filter="data")
        target.mkdir(parents=True, exist_ok=True)
        for file in files:
            (target / Path(file).name).write_bytes((Path(tmp) / "package" / file).read_bytes())
        (target / "VERSION").write_text(f"{package}@{version}\n")
    print(f"{package}@{version} -> {target.relative_to(ROOT)}")


def main() -> int:
    for package, version, files, target in VENDORED:
        vendor(package, version, files, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
