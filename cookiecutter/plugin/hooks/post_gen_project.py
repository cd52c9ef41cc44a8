"""Remove what the chosen options do not need."""

import shutil
from pathlib import Path

package = Path("membership_{{ cookiecutter.underscored }}")
if "{{ cookiecutter.with_tables }}" != "yes":
    for name in ("piccolo_app.py", "tables.py", "piccolo_migrations"):
        path = package / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
