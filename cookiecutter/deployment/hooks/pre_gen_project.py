"""Refuse a project name that cannot name a folder and a systemd service."""

import re
import sys

slug = "{{ cookiecutter.project_slug }}"
if not re.fullmatch(r"[a-z][a-z0-9-]*", slug):
    print(f"ERROR: {slug!r}: use lower-case letters, digits and hyphens, starting with a letter.")
    sys.exit(1)
if not re.fullmatch(r"\d\d:\d\d", "{{ cookiecutter.backup_time }}"):
    print("ERROR: the backup time is HH:MM, e.g. 03:30.")
    sys.exit(1)
