"""Refuse a plugin name that does not make a Python package name."""

import re
import sys

name = "{{ cookiecutter.underscored }}"
if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name.startswith("membership"):
    print(f"ERROR: {name!r} is not a usable name: letters, digits, spaces or hyphens, starting with a letter,")
    print("without 'membership' in front (the package is called membership-<name> already).")
    sys.exit(1)
